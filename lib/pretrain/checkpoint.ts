/**
 * Pretraining checkpoints as one atomic unit: a step-stamped temp folder holds the variables, the
 * optimiser moments and, written last, state.json with each file's sha256; then it is renamed into
 * place (`checkpoint/`), the previous one kept as `checkpoint.old/` until the rename is done. A
 * kill at any moment leaves either the old or the new checkpoint whole; a checkpoint whose files
 * do not match their recorded hashes is refused, never half-used. Leftover temp folders are removed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../clip/safetensors.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';
import { sha256FileSync } from '../util/hash.ts';

export type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

export interface PretrainState {
  format: 'clipface-pretrain-checkpoint';
  version: 1;
  /** steps taken */
  step: number;
  /** the config hash the checkpoint belongs to */
  configHash: string;
  /** AdamW decay owed to the token rows outside the trained sub-table (text.ts) */
  untouchedScale: number;
  /** sha256 of each file in the folder */
  files: Record<string, string>;
  /** anything else the trainer resumes from (logs, evaluations) */
  extra: Record<string, unknown>;
}

const sha = sha256FileSync;

export function saveCheckpoint(outDir: string, weights: Tensors, moments: Tensors, state: Omit<PretrainState, 'format' | 'version' | 'files'>): void {
  const tmp = join(outDir, `.checkpoint-${state.step}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeSafetensors(join(tmp, 'weights.safetensors'), weights);
  writeSafetensors(join(tmp, 'optimizer.safetensors'), moments);
  const files = Object.fromEntries(['weights.safetensors', 'optimizer.safetensors'].map((f) => [f, sha(join(tmp, f))]));
  writeJsonAtomic(join(tmp, 'state.json'), { format: 'clipface-pretrain-checkpoint', version: 1, ...state, files } satisfies PretrainState);
  const cur = join(outDir, 'checkpoint'), old = join(outDir, 'checkpoint.old');
  rmSync(old, { recursive: true, force: true });
  if (existsSync(cur)) renameSync(cur, old);
  renameSync(tmp, cur);
  rmSync(old, { recursive: true, force: true });
}

/** Remove temp folders of checkpoints that were being written when a run died. */
export function cleanStaleCheckpoints(outDir: string): void {
  if (!existsSync(outDir)) return;
  for (const f of readdirSync(outDir)) if (/^\.checkpoint-\d+\.tmp$/.test(f)) rmSync(join(outDir, f), { recursive: true, force: true });
}

function readOne(dir: string): { state: PretrainState; weights: Tensors; moments: Tensors } {
  let state: PretrainState;
  try { state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as PretrainState; } catch (e) {
    throw new UserError(`${join(dir, 'state.json')}: unreadable (${(e as Error).message}); start over without --resume (the checkpoint cannot be trusted)`);
  }
  if (state.format !== 'clipface-pretrain-checkpoint' || state.version !== 1 || !state.files) throw new UserError(`${dir}: not a pretraining checkpoint of this version; start over without --resume`);
  for (const [f, want] of Object.entries(state.files)) {
    const p = join(dir, f);
    if (!existsSync(p) || sha(p) !== want) throw new UserError(`${p}: does not match the sha256 recorded in state.json (an interrupted write?); start over without --resume`);
  }
  const load = (f: string): Tensors => {
    const out: Tensors = new Map();
    for (const [k, t] of readSafetensors(join(dir, f)).tensors) out.set(k, { shape: t.shape, data: t.data! });
    return out;
  };
  return { state, weights: load('weights.safetensors'), moments: load('optimizer.safetensors') };
}

/** The newest whole checkpoint in `outDir` (`checkpoint/`, or `checkpoint.old/` if a swap was cut short), or undefined. */
export function loadCheckpoint(outDir: string): { state: PretrainState; weights: Tensors; moments: Tensors } | undefined {
  for (const name of ['checkpoint', 'checkpoint.old']) {
    const dir = join(outDir, name);
    if (existsSync(join(dir, 'state.json'))) return readOne(dir);
  }
  return undefined;
}
