/**
 * Notebooks 4 and 5 run ablation grids (experiments/*.grid.json) through lib/grid, the same runner
 * as `clipface grid`, so a notebook and the command line share finished runs and the grid's summary
 * (results/grids/<name>/). These helpers run a grid, optionally a shard of it (smoke mode), and
 * turn its summary into display rows: per-group numbers, the name-confound comparison, bars.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGrid, type GridReport } from '../grid/runner.ts';
import { parseShard } from '../grid/spec.ts';
import type { SummaryResult } from '../grid/summary.ts';
import { show } from '../report/display.ts';
import { UserError } from '../util/errors.ts';
import type { BarGroup } from '../figures/bars.ts';
import { repoPath } from './runs.ts';

export interface NotebookGridOptions {
  /** "i/n": only every n-th run starting at i (lib/grid's sharding); '' or absent = the whole grid */
  shard?: string;
  /** extra --set overrides for every run (they change the runs' config hashes) */
  sets?: readonly string[];
  /** false (default): a run that failed fails the notebook, after the grid went through */
  allowFailures?: boolean;
}

/** Run (or finish) a grid and rebuild its summary; finished runs of the same config are skipped. */
export async function runGridFile(file: string, o: NotebookGridOptions = {}): Promise<GridReport> {
  const t0 = performance.now();
  const r = await runGrid(repoPath(file), {
    shard: o.shard ? parseShard(o.shard) : undefined, sets: [...(o.sets ?? [])], quiet: true,
    say: (s) => process.stdout.write(`grid: ${s}\n`),
  });
  const s = r.summary;
  process.stdout.write(`grid ${r.grid.spec.name}: ${r.ran.length} ran, ${r.skipped.length} finished already, ${r.failed.length} failed, in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
    `${s.finished} of ${s.total} runs in the summary (${s.dir})\n`);
  if (r.failed.length && !o.allowFailures) {
    throw new UserError(`grid ${r.grid.spec.name}: ${r.failed.length} run(s) failed: ${r.failed.map((f) => `${f.id}: ${f.error}`).join('; ')}`);
  }
  return r;
}

const pct = (mean: unknown, sd?: unknown) => (typeof mean !== 'number' || !Number.isFinite(mean) ? 'n/a'
  : `${(100 * mean).toFixed(1)} %${typeof sd === 'number' && Number.isFinite(sd) ? ` ± ${(100 * sd).toFixed(1)}` : ''}`);

/** One row per group (runs differing only in seed): closed set, the paper's deployment numbers, ISO open set, AUC. */
export function gridGroupRows(s: SummaryResult): Record<string, string | number>[] {
  return s.groups.map((g) => ({
    group: String(g.group), runs: Number(g.n),
    'closed-set acc': pct(g.heldOutAccuracy_mean, g.heldOutAccuracy_sd),
    'deployment acc': pct(g.deploymentAccuracy_mean, g.deploymentAccuracy_sd),
    FPR: pct(g.fpr_mean, g.fpr_sd), FNR: pct(g.fnr_mean, g.fnr_sd),
    FPIR: pct(g.fpir_mean, g.fpir_sd), FNIR: pct(g.fnir_mean, g.fnir_sd),
    AUC: typeof g.auc_mean === 'number' ? g.auc_mean.toFixed(3) : 'n/a',
  }));
}

/** Closed-set and deployment numbers per Table I row of the grid, for a grouped bar chart. */
export function gridMeasures(s: SummaryResult): BarGroup[] {
  return s.tableI.map((t) => ({
    name: t.method,
    values: { 'closed-set accuracy': t.heldOutAccuracy, 'deployment accuracy': t.deploymentAccuracy, FPR: t.fpr, FNR: t.fnr },
  }));
}

function firstPrompt(dir: unknown): string {
  const p = typeof dir === 'string' ? join(dir, 'metrics.json') : '';
  if (!p || !existsSync(p)) return '';
  try {
    return String((JSON.parse(readFileSync(p, 'utf8')) as { classes?: { prompt?: string }[] }).classes?.[0]?.prompt ?? '');
  } catch {
    return '';
  }
}

/**
 * The name-confound control: each group with real names beside the same group with neutral names
 * ("person A", …), closed-set accuracy of both and the difference, and the prompts as trained
 * (first person, first seed) so the control is visibly in effect. Needs a `prompt.names` axis.
 */
export function nameConfoundRows(s: SummaryResult, axis = 'prompt.names'): Record<string, string>[] {
  const key = (g: Record<string, unknown>) => Object.entries(g).filter(([k]) => k !== axis && k !== 'group' && k !== 'n' && !k.endsWith('_mean') && !k.endsWith('_sd')).map(([k, v]) => `${k}=${v}`).join(' ');
  const real = s.groups.filter((g) => g[axis] === 'real');
  if (!real.length) return [{ note: `this grid has no ${axis} axis with a "real" value` }];
  const promptOf = (g: Record<string, unknown>) => firstPrompt(s.runs.find((r) => r.group === g.group)?.dir);
  return real.map((r) => {
    const n = s.groups.find((g) => g[axis] === 'neutral' && key(g) === key(r));
    const d = n && typeof r.heldOutAccuracy_mean === 'number' && typeof n.heldOutAccuracy_mean === 'number' ? n.heldOutAccuracy_mean - r.heldOutAccuracy_mean : null;
    return {
      group: String(r.group).replace(/, names=real$/, ''),
      'real names': pct(r.heldOutAccuracy_mean, r.heldOutAccuracy_sd),
      'neutral names': n ? pct(n.heldOutAccuracy_mean, n.heldOutAccuracy_sd) : 'not run',
      'neutral − real': d === null ? 'n/a' : `${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)} pts`,
      'prompt (real)': promptOf(r), 'prompt (neutral)': n ? promptOf(n) : '',
    };
  });
}

/** Show the grid summary's figures (Table I layout; K-shot curves when the grid has a kShot axis), or the named ones. */
export async function showGridFigures(s: SummaryResult, names?: readonly string[]): Promise<void> {
  for (const f of s.figures.filter((x) => !names || names.includes(x.name))) await show(f.figure, { title: f.title });
}
