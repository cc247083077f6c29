/**
 * Runs for notebooks: paths relative to the repository (a kernel's working folder is
 * `notebooks/`), the smoke configuration, and reuse of a finished run with the same resolved
 * config, so several notebooks can read one run instead of training it again.
 *
 * Reuse is sound because a run folder is keyed by the hash of its resolved config and a run's
 * numbers depend only on that config and the code (metrics.json holds nothing time-dependent).
 */
import { currentFinishedStatus } from '../report/run-status.ts';
import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { configHash, loadExperiment, type ExperimentConfig } from '../experiment/config.ts';
import { repoRoot } from '../util/paths.ts';
import { runExperiment } from '../experiment/run.ts';

/** A path as notebooks write it: absolute, or relative to the repository root. */
export function repoPath(p: string): string {
  return isAbsolute(p) ? p : resolve(repoRoot, p);
}

/**
 * `--set` overrides of smoke mode (CI executes every notebook with them): a shorter finetune,
 * fewer bootstrap resamples, and a results folder of its own so smoke runs never mix with yours.
 */
export const SMOKE_SETS: readonly string[] = Object.freeze([
  'training.epochs=5',
  'evaluation.bootstrap=200',
  'output.resultsDir=results/notebooks/runs',
]);

/** The overrides a notebook passes to a run: smoke's first, then its own (which win). */
export function runSets(smoke: boolean, extra: readonly string[] = []): string[] {
  return [...(smoke ? SMOKE_SETS : []), ...extra];
}

function resultsRoot(cfg: ExperimentConfig): string {
  return isAbsolute(cfg.output.resultsDir) ? cfg.output.resultsDir : join(repoRoot, cfg.output.resultsDir);
}

/** When a run finished, if it did, with the weights that are there now (report/run-status.ts). */
function finishedAt(dir: string): string | undefined {
  const s = currentFinishedStatus(dir);
  return s ? s.at ?? '' : undefined;
}

/** The most recently finished run of exactly this resolved config, made with the current weights, if any. */
export function findFinishedRun(file: string, sets: readonly string[] = []): string | undefined {
  const { config } = loadExperiment(repoPath(file), [...sets]);
  const root = resultsRoot(config);
  if (!existsSync(root)) return undefined;
  const hash = configHash(config);
  const re = new RegExp(`^\\d{4}-\\d{2}-\\d{2}-${config.name.replace(/[.]/g, '\\.')}-${hash}(-\\d+)?$`);
  const done = readdirSync(root).filter((d) => re.test(d))
    .map((d) => ({ dir: join(root, d), at: finishedAt(join(root, d)) }))
    .filter((r): r is { dir: string; at: string } => r.at !== undefined)
    .sort((a, b) => a.at.localeCompare(b.at) || a.dir.localeCompare(b.dir));
  return done[done.length - 1]?.dir;
}

export interface NotebookRunOptions {
  sets?: readonly string[];
  /** use a finished run of the same resolved config when there is one (default true) */
  reuse?: boolean;
  /** progress on stderr (default false: executed notebooks stay readable) */
  verbose?: boolean;
}

/**
 * Run an experiment (a path relative to the repository), or reuse a finished run of the same
 * resolved config. Returns the run folder and says on stdout which of the two happened.
 */
export async function runOrReuse(file: string, opts: NotebookRunOptions = {}): Promise<{ dir: string; reused: boolean }> {
  const sets = [...(opts.sets ?? [])];
  if (opts.reuse ?? true) {
    const dir = findFinishedRun(file, sets);
    if (dir) {
      process.stdout.write(`reusing the finished run ${dir} (same resolved config)\n`);
      return { dir, reused: true };
    }
  }
  const t0 = performance.now();
  const dir = await runExperiment(repoPath(file), { sets, quiet: !opts.verbose });
  process.stdout.write(`ran ${file}${sets.length ? ` with ${sets.join(' ')}` : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${dir}\n`);
  return { dir, reused: false };
}
