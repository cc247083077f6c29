/**
 * A run's resumable checkpoint, `results/<run>/checkpoint/`: the finetuned text tower only
 * (`text.safetensors`, PyTorch names and layout, loadable by open_clip after merging with the
 * frozen image tower), the AdamW moments (`optimizer.safetensors`) and `state.json` (step,
 * planned steps, log so far). Each file is written atomically, state.json last, so a crash
 * mid-write leaves the previous consistent checkpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../clip/safetensors.ts';
import type { TrainState } from '../train/finetune.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

export function saveCheckpoint(dir: string, state: TrainState, meta: Record<string, string>): void {
  writeSafetensors(join(dir, 'text.safetensors'), state.text, { ...meta, step: String(state.step), note: 'CLIP text tower finetuned by clipface-lab (image tower unchanged)' });
  const opt: Tensors = new Map();
  for (const [k, v] of state.optimizer.m) opt.set(`m.${k}`, { shape: [v.length], data: v });
  for (const [k, v] of state.optimizer.v) opt.set(`v.${k}`, { shape: [v.length], data: v });
  writeSafetensors(join(dir, 'optimizer.safetensors'), opt, { step: String(state.optimizer.step) });
  writeJsonAtomic(join(dir, 'state.json'), { step: state.step, totalSteps: state.totalSteps, optimizerStep: state.optimizer.step, log: state.log });
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'state.json'));
}

export function loadCheckpoint(dir: string): TrainState {
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) throw new UserError(`${dir}: no checkpoint to resume from (state.json missing)`);
  const s = JSON.parse(readFileSync(statePath, 'utf8'));
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
