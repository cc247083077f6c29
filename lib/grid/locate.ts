/**
 * Finding a grid run's results folder: the finished run of the identical resolved config, if any,
 * made with the weights files that are there now (report/run-status.ts: a run whose weights changed
 * since, e.g. a re-shipped teaching CLIP, is stale and runs again).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configHash } from '../experiment/config.ts';
import { repoRoot } from '../util/paths.ts';
import { hasCheckpoint } from '../services/checkpoint.ts';
import { isCurrentFinishedRun } from '../report/run-status.ts';
import { runConfig, runResultsDir, type Grid, type GridRun } from './spec.ts';

export type RunState =
  | { state: 'finished'; dir: string }
  | { state: 'resumable'; dir: string }
  | { state: 'new' };

export function readJson(path: string): Record<string, unknown> | undefined {
  try { return JSON.parse(readFileSync(path, 'utf8')); } catch { return undefined; }
}

/** Where this run stands: a finished folder of the same config, an interrupted one with a checkpoint, or nothing. */
export function locateRun(g: Grid, run: GridRun, hash = runConfig(g, run).hash): RunState {
  const root = resolve(repoRoot, runResultsDir(g, run));
  if (!existsSync(root)) return { state: 'new' };
  const mine = readdirSync(root).sort().reverse().map((d) => join(root, d)).filter((d) => {
    const cfg = readJson(join(d, 'config.json'));
    return cfg !== undefined && configHash(cfg) === hash;
  });
  const finished = mine.find(isCurrentFinishedRun);
  if (finished) return { state: 'finished', dir: finished };
  const partial = mine.find((d) => hasCheckpoint(join(d, 'checkpoint')));
  return partial ? { state: 'resumable', dir: partial } : { state: 'new' };
}

