/**
 * status.json of a run folder: the one type its writer (experiment/run.ts) and its readers (the
 * grid's reuse check, the notebooks' run finder) share. A finished run lists the weights files it
 * loaded with their sha256 (util/weights-used.ts); a finished run whose weights have changed since
 * is stale, and is run again rather than reused.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { writeJsonAtomic } from '../util/fs-atomic.ts';
import { repoRoot } from '../util/paths.ts';
import { currentSha256, type WeightsUsed } from '../util/weights-used.ts';

export type RunState = 'running' | 'finished' | 'interrupted' | 'failed';

export interface RunStatus {
  state: RunState;
  /** ISO time of the last state change */
  at: string;
  /** interrupted / failed: the first line of the error */
  error?: string;
  /** finished: every weights file the run loaded (absent in runs from before this record) */
  weights?: WeightsUsed[];
}

export function writeRunStatus(dir: string, s: Omit<RunStatus, 'at'>): void {
  const { state, ...rest } = s;
  writeJsonAtomic(join(dir, 'status.json'), { state, at: new Date().toISOString(), ...rest });
}

export function readRunStatus(dir: string): RunStatus | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as RunStatus;
    return typeof s?.state === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The first weights file a finished run used that is gone or hashes differently now, as "path (why)"; undefined when all are as they were. */
export function changedWeights(s: RunStatus): string | undefined {
  for (const w of s.weights ?? []) {
    const now = currentSha256(isAbsolute(w.path) ? w.path : join(repoRoot, w.path));
    if (now !== w.sha256) return `${w.path} (${now ? `sha256 ${now.slice(0, 12)}…, the run used ${w.sha256.slice(0, 12)}…` : 'gone'})`;
  }
  return undefined;
}

/** The status of a run that finished with the weights that are there now (safe to reuse), else undefined. */
export function currentFinishedStatus(dir: string): RunStatus | undefined {
  const s = readRunStatus(dir);
  return s?.state === 'finished' && changedWeights(s) === undefined ? s : undefined;
}

export const isCurrentFinishedRun = (dir: string): boolean => currentFinishedStatus(dir) !== undefined;
