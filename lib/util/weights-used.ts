/**
 * Which weights files this process has loaded, with the sha256 each had when it was loaded. A run
 * lists them in its status.json when it finishes (experiment/run.ts), and a grid reuses a finished
 * run only while every one of them still hashes the same (grid/locate.ts): re-shipping a model,
 * or dropping new weights into the model cache, makes the runs that used the old ones stale
 * instead of silently reused. Every loader that computes a weights file's sha256 notes it here.
 */
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { sha256FileSync } from './hash.ts';
import { repoRoot } from './paths.ts';

/** One weights file a run used: repo-relative where it lies in the repository, else absolute. */
export interface WeightsUsed { path: string; sha256: string }

const used = new Map<string, string>();

export function noteWeightsFile(path: string, sha256: string): void {
  used.set(path, sha256);
}

/** Forget what was loaded (a grid runs many runs in one process: each records its own). */
export function resetWeightsUsed(): void {
  used.clear();
}

export function weightsUsed(): WeightsUsed[] {
  return [...used].map(([p, sha256]) => ({ path: displayPath(p), sha256 })).sort((a, b) => a.path.localeCompare(b.path));
}

const displayPath = (p: string) => {
  const r = relative(repoRoot, p);
  return r && !r.startsWith('..') && !r.startsWith('/') ? r : p;
};

/** sha256 of a file now (memoised on size and mtime, so a grid of many runs hashes each file once); null when it is gone. */
const memo = new Map<string, { size: number; mtimeMs: number; sha256: string }>();
export function currentSha256(path: string): string | null {
  try {
    const st = statSync(path);
    const m = memo.get(path);
    if (m && m.size === st.size && m.mtimeMs === st.mtimeMs) return m.sha256;
    const sha256 = sha256FileSync(path);
    memo.set(path, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
    return sha256;
  } catch {
    return null;
  }
}
