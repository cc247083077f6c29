/**
 * A run's resumable checkpoint, `results/<run>/checkpoint/`: the finetuned text tower only
 * (`text.safetensors`, PyTorch names and layout, loadable by open_clip after merging with the
 * frozen image tower), the AdamW moments (`optimizer.safetensors`) and `state.json` (step,
 * planned steps, log so far, and the sha256 of both files).
 *
 * One atomic unit: the three files are written into a step-stamped temp folder beside it
 * (state.json last), which is then renamed into place, the previous checkpoint kept as
 * `.checkpoint.old` until that rename is done. Files written one by one in place let a SIGKILL
 * leave text.safetensors a step ahead of state.json, and a resume then silently trained from a
 * mix (issue 13). Whatever moment a run dies, `recoverCheckpoint` finds a whole one (the newest
 * whose files match their hashes), removes the leftovers, or refuses.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../clip/safetensors.ts';
import type { TrainState } from '../train/finetune.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';
import { sha256FileSync as sha } from '../util/hash.ts';

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;
const FILES = ['text.safetensors', 'optimizer.safetensors'];

/** Siblings of `dir` (inside the run folder): step-stamped temp folders and the previous checkpoint. */
const tmpOf = (dir: string, step: number) => join(dirname(dir), `.${basename(dir)}-${step}.tmp`);
const oldOf = (dir: string) => join(dirname(dir), `.${basename(dir)}.old`);
const tmpName = (dir: string) => new RegExp(`^\\.${basename(dir)}-\\d+\\.tmp$`);

export function saveCheckpoint(dir: string, state: TrainState, meta: Record<string, string>): void {
  const tmp = tmpOf(dir, state.step);
  try {
    writeUnit(tmp, state, meta);
  } catch (e) {
    // a full disk: no half checkpoint stays behind (the previous one is untouched), and the error
    // names the checkpoint, not a temp folder that no longer exists
    rmSync(tmp, { recursive: true, force: true });
    const err = e as NodeJS.ErrnoException;
    if (err.code && err.path?.startsWith(tmp)) err.path = dir;
    throw e;
  }
  const old = oldOf(dir);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** The three files of a checkpoint in folder `tmp`, state.json (with the others' hashes) last. */
function writeUnit(tmp: string, state: TrainState, meta: Record<string, string>): void {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeSafetensors(join(tmp, 'text.safetensors'), state.text, { ...meta, step: String(state.step), note: 'CLIP text tower finetuned by clipface-lab (image tower unchanged)' });
  const opt: Tensors = new Map();
  for (const [k, v] of state.optimizer.m) opt.set(`m.${k}`, { shape: [v.length], data: v });
  for (const [k, v] of state.optimizer.v) opt.set(`v.${k}`, { shape: [v.length], data: v });
  writeSafetensors(join(tmp, 'optimizer.safetensors'), opt, { step: String(state.optimizer.step) });
  const files = Object.fromEntries(FILES.map((f) => [f, sha(join(tmp, f))]));
  writeJsonAtomic(join(tmp, 'state.json'), { step: state.step, totalSteps: state.totalSteps, optimizerStep: state.optimizer.step, log: state.log, files });
}

interface Saved { step: number; totalSteps: number; optimizerStep: number; log: TrainState['log']; files?: Record<string, string> }

/** state.json of a whole checkpoint folder, or why it is not one. */
function inspect(dir: string): Saved | string {
  let s: Saved;
  try {
    s = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Saved;
  } catch (e) {
    return `${join(dir, 'state.json')} is unreadable (${(e as Error).message.split('\n')[0]})`;
  }
  if (!s || !Number.isInteger(s.step) || !Number.isInteger(s.totalSteps) || !Array.isArray(s.log)) return `${join(dir, 'state.json')} is not a checkpoint state`;
  // checkpoints written before the hashes existed are taken as they are
  for (const [f, want] of Object.entries(s.files ?? {})) {
    const p = join(dir, f);
    if (!existsSync(p) || sha(p) !== want) return `${p} does not match the sha256 recorded in state.json (a write cut short)`;
  }
  return s;
}

/**
 * Leaves `dir` holding the newest whole checkpoint among itself, the temp folders and the previous
 * one (rolling back when the newest was cut short), removes the rest, and says whether there is
 * one. Throws a UserError when checkpoints exist but none is whole.
 */
export function recoverCheckpoint(dir: string): boolean {
  const parent = dirname(dir);
  if (!existsSync(parent)) return false;
  const others = readdirSync(parent).filter((f) => tmpName(dir).test(f)).map((f) => join(parent, f));
  const candidates = [dir, ...others, oldOf(dir)].filter((d) => existsSync(join(d, 'state.json')));
  const whole = candidates.map((d) => ({ d, s: inspect(d) })).filter((c): c is { d: string; s: Saved } => typeof c.s !== 'string');
  const best = whole.sort((a, b) => b.s.step - a.s.step)[0];
  if (!best && candidates.length) {
    throw new UserError(`${dir}: no whole checkpoint to resume from (${inspect(candidates[0]!)}); run again without --resume, or remove ${dir}`);
  }
  if (best && best.d !== dir) {
    rmSync(dir, { recursive: true, force: true });
    renameSync(best.d, dir);
  }
  for (const d of [...others, oldOf(dir)]) rmSync(d, { recursive: true, force: true });
  // temp files of the in-place writes older versions made (13 MB each)
  if (existsSync(dir)) for (const f of readdirSync(dir)) if (/^\..+\.\d+\.\d+\.tmp$/.test(f)) rmSync(join(dir, f), { force: true });
  return Boolean(best);
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'state.json'));
}

export function loadCheckpoint(dir: string): TrainState {
  if (!recoverCheckpoint(dir)) throw new UserError(`${dir}: no checkpoint to resume from (state.json missing)`);
  const s = inspect(dir) as Saved;
  const text: Tensors = new Map();
  for (const [k, t] of readSafetensors(join(dir, 'text.safetensors')).tensors) text.set(k, { shape: t.shape, data: t.data! });
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  for (const [k, t] of readSafetensors(join(dir, 'optimizer.safetensors')).tensors) (k.startsWith('m.') ? m : v).set(k.slice(2), t.data!);
  return { step: s.step, totalSteps: s.totalSteps, optimizer: { step: s.optimizerStep, m, v }, text, log: s.log };
}

/** Just the finetuned text tower (for evaluation of a finished run elsewhere). */
export function loadTextTower(dir: string): Tensors {
  const out: Tensors = new Map();
  for (const [k, t] of readSafetensors(join(dir, 'text.safetensors')).tensors) out.set(k, { shape: t.shape, data: t.data! });
  return out;
}
