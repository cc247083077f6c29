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

/** The first class's prompt as trained, and how many classes the run had (for chance = 1 / classes). */
function runClasses(dir: unknown): { prompt: string; classes: number } {
  const p = typeof dir === 'string' ? join(dir, 'metrics.json') : '';
  if (!p || !existsSync(p)) return { prompt: '', classes: 0 };
  try {
    const classes = (JSON.parse(readFileSync(p, 'utf8')) as { classes?: { prompt?: string }[] }).classes ?? [];
    return { prompt: String(classes[0]?.prompt ?? ''), classes: classes.length };
  } catch {
    return { prompt: '', classes: 0 };
  }
}

const MODES = ['real', 'neutral', 'description'] as const;
const MODE_COLUMN: Record<(typeof MODES)[number], string> = { real: 'real names', neutral: 'neutral names', description: 'description, no name' };

/** Groups that differ only in `axis`, keyed by everything else, with the group of each mode. */
function byNameMode(s: SummaryResult, axis: string): { label: string; modes: Partial<Record<(typeof MODES)[number], Record<string, unknown>>> }[] {
  const key = (g: Record<string, unknown>) => Object.entries(g).filter(([k]) => k !== axis && k !== 'group' && k !== 'n' && !k.endsWith('_mean') && !k.endsWith('_sd')).map(([k, v]) => `${k}=${v}`).join(' ');
  const out = new Map<string, { label: string; modes: Partial<Record<(typeof MODES)[number], Record<string, unknown>>> }>();
  for (const g of s.groups) {
    const mode = MODES.find((m) => m === g[axis]);
    if (!mode) continue;
    const k = key(g);
    if (!out.has(k)) out.set(k, { label: String(g.group).replace(new RegExp(`, names=${mode}$`), ''), modes: {} });
    out.get(k)!.modes[mode] = g;
  }
  return [...out.values()].filter((x) => x.modes.real);
}

/**
 * What fills {name}, side by side: each group with real names beside the same group with neutral
 * names ("person A", …: the name-confound control) and with the person described in words and no
 * name (when the grid has it); closed-set accuracy of each, neutral − real, and the prompts as
 * trained (first person, first seed) so each mode is visibly in effect. Needs a `prompt.names` axis.
 */
export function nameConfoundRows(s: SummaryResult, axis = 'prompt.names'): Record<string, string>[] {
  const sets = byNameMode(s, axis);
  if (!sets.length) return [{ note: `this grid has no ${axis} axis with a "real" value` }];
  const described = sets.some((x) => x.modes.description);
  const first = (g: Record<string, unknown> | undefined) => runClasses(g ? s.runs.find((r) => r.group === g.group)?.dir : undefined);
  const promptOf = (g: Record<string, unknown> | undefined) => first(g).prompt;
  return sets.map(({ label, modes: { real: r, neutral: n, description: w } }) => {
    const d = n && typeof r!.heldOutAccuracy_mean === 'number' && typeof n.heldOutAccuracy_mean === 'number' ? n.heldOutAccuracy_mean - r!.heldOutAccuracy_mean : null;
    const classes = first(r).classes;
    return {
      group: label,
      chance: classes ? pct(1 / classes) : 'n/a',
      'real names': pct(r!.heldOutAccuracy_mean, r!.heldOutAccuracy_sd),
      'neutral names': n ? pct(n.heldOutAccuracy_mean, n.heldOutAccuracy_sd) : 'not run',
      'neutral − real': d === null ? 'n/a' : `${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)} pts`,
      ...(described ? { 'description, no name': w ? pct(w.heldOutAccuracy_mean, w.heldOutAccuracy_sd) : 'not run' } : {}),
      'prompt (real)': promptOf(r), 'prompt (neutral)': promptOf(n),
      ...(described ? { 'prompt (description)': promptOf(w) } : {}),
    };
  });
}

/** Closed-set accuracy per group and name mode, for grouped bars (one group per arm × template). */
export function nameModeMeasures(s: SummaryResult, axis = 'prompt.names'): BarGroup[] {
  return byNameMode(s, axis).map(({ label, modes }) => ({
    name: label,
    values: Object.fromEntries(MODES.filter((m) => modes[m]).map((m) => [MODE_COLUMN[m], typeof modes[m]!.heldOutAccuracy_mean === 'number' ? modes[m]!.heldOutAccuracy_mean as number : null])),
  }));
}

/** The measures `nameModeMeasures` fills, in bar order. */
export const NAME_MODE_MEASURES: readonly string[] = MODES.map((m) => MODE_COLUMN[m]);

/** Show the grid summary's figures (Table I layout; K-shot curves when the grid has a kShot axis), or the named ones. */
export async function showGridFigures(s: SummaryResult, names?: readonly string[]): Promise<void> {
  for (const f of s.figures.filter((x) => !names || names.includes(x.name))) await show(f.figure, { title: f.title });
}
