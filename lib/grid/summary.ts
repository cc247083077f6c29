/**
 * A grid's summary, rebuilt from the finished runs' metrics.json files alone (so it is the same
 * whichever shard or machine wrote it): per-run rows, groups (every axis but the seed) with
 * mean ± sd over seeds, the paper's Table I layout with the ISO/IEC 19795-1 open-set measures
 * beside it, and, when the grid has a `dataset.split.kShot` axis, K-shot curves (the CoOp protocol,
 * ANCHORS.md §4). Written to `<resultsDir>/`: summary.{json,csv,md}, runs.csv, table1.{md,csv,html},
 * kshot.{csv,html}.
 */
import { join } from 'node:path';
import { kShotCsv, kShotCurveFigure, type KShotSeries } from '../figures/training.ts';
import { formatPercent, PAPER_TABLE_I, TABLE_ONE_COLUMNS, TABLE_ONE_HEADERS, tableOneCells, tableOneCsv, tableOneFigure, type TableOneRow } from '../figures/table-one.ts';
import type { Figure } from '../figures/types.ts';
import { standaloneFigureHtml } from '../report/assets.ts';
import { loadRun } from '../report/load-run.ts';
import { readRunMetrics } from '../report/read-metrics.ts';
import type { NumberOrNull, RunMetrics } from '../report/run-metrics.ts';
import { tableOneRow } from '../report/sections.ts';
import { toCsv } from '../util/csv.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.ts';
import { aggregate, markdown, type Cell, type Row } from './frame.ts';
import { locateRun } from './locate.ts';
import type { Grid, GridRun } from './spec.ts';

export const K_AXIS = 'dataset.split.kShot';
export const isSeedAxis = (key: string) => key === 'seed' || key.endsWith('.seed');

/**
 * The numbers summarised per run, from metrics.json (fractions; null when the run has none):
 * Table I's four columns (heldOutAccuracy is its "training accuracy", on the held-out 20 %), then
 * the training split's own accuracy and the open-set measures.
 */
export const VALUES = [...TABLE_ONE_COLUMNS, 'trainSplitAccuracy', 'fpir', 'fnir', 'eer', 'auc', 'fnirAtFpir10'] as const;

const num = (x: NumberOrNull | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

export function metricsRow(m: RunMetrics): Record<(typeof VALUES)[number], number | null> {
  const v = m.openSet.verification;
  return {
    heldOutAccuracy: num(m.tableI?.heldOutAccuracy), deploymentAccuracy: num(m.tableI?.deploymentAccuracy),
    fpr: num(m.tableI?.fpr), fnr: num(m.tableI?.fnr), trainSplitAccuracy: num(m.train.trainSplitAccuracy),
    fpir: num(m.deployment?.standard.fpir), fnir: num(m.deployment?.standard.fnir),
    eer: num(v?.eer.eer), auc: num(v?.auc),
    fnirAtFpir10: num(m.openSet.fnirAtFpir.find((t) => t.targetFpir === 0.1)?.fnir),
  };
}

/** The label of a run's group: its arm and every product value except the seed. */
export function groupLabel(g: Grid, run: GridRun): string {
  const arm = g.spec.runs?.find((r) => r.id === run.arm);
  const axes = Object.entries(run.axes).filter(([k]) => !isSeedAxis(k)).map(([k, v]) => `${k.split('.').pop()}=${v}`);
  return [arm ? arm.label ?? arm.id : '', ...axes].filter(Boolean).join(', ') || g.spec.name;
}

export interface SummaryResult {
  dir: string;
  engine: 'nodejs-polars' | 'typescript';
  finished: number;
  total: number;
  missing: string[];
  /** finished runs whose metrics.json could not be used, each with the reason */
  unreadable: string[];
  runs: Row[];
  groups: Row[];
  tableI: TableOneRow[];
  /** Table I as printed (markdown) */
  tableIMarkdown: string;
  figures: { name: string; title: string; figure: Figure }[];
}

const pm = (mean: Cell, sd: Cell, n: Cell) => (typeof mean !== 'number' ? 'n/a' : `${formatPercent(mean)}${typeof sd === 'number' && (n as number) > 1 ? ` ± ${formatPercent(sd)}` : ''}`);

export async function writeSummary(g: Grid, opts: { engine?: 'typescript' } = {}): Promise<SummaryResult> {
  const axisKeys = Object.keys(g.spec.product ?? {});
  const groupKeys = ['group', ...(g.spec.runs ? ['arm'] : []), ...axisKeys.filter((k) => !isSeedAxis(k))];
  const runs: Row[] = [];
  const single = new Map<string, TableOneRow>();
  const missing: string[] = [];
  const unreadable: string[] = [];
  for (const run of g.runs) {
    const where = locateRun(g, run);
    if (where.state !== 'finished') { missing.push(run.id); continue; }
    const { metrics: m, problem } = readRunMetrics(where.dir);
    if (!m) { missing.push(run.id); unreadable.push(`${run.id}: ${problem}`); continue; }
    const group = groupLabel(g, run);
    runs.push({
      run: run.id, group, ...(g.spec.runs ? { arm: run.arm } : {}), ...run.axes, kind: m.method.kind,
      method: m.method.label ?? m.model, randomWeights: m.stamp !== undefined,
      ...metricsRow(m), dir: where.dir,
    });
    if (!single.has(group)) single.set(group, { ...tableOneRow(loadRun(where.dir)), method: group });
  }
  const agg = await aggregate(runs, groupKeys, VALUES, opts.engine);
  const groups = agg.rows;

  // Table I: means (± sd over seeds); a group of one run keeps that run's 95 % intervals
  const tableI: TableOneRow[] = groups.map((r) => (r.n === 1 ? single.get(String(r.group))! : {
    method: `${r.group} (mean of ${r.n})`,
    heldOutAccuracy: r.heldOutAccuracy_mean as number | null, deploymentAccuracy: r.deploymentAccuracy_mean as number | null,
    fpr: r.fpr_mean as number | null, fnr: r.fnr_mean as number | null,
  }));
  const seeded = axisKeys.some(isSeedAxis);
  const t1rows = groups.map((r) => ({
    method: String(r.group), n: r.n,
    ...Object.fromEntries(TABLE_ONE_COLUMNS.map((v, i) =>
      [v, r.n === 1 ? tableOneCells([single.get(String(r.group))!])[1]![i + 1]! : pm(r[`${v}_mean`]!, r[`${v}_sd`]!, r.n!)])),
  }));
  const paper = PAPER_TABLE_I.map((p) => ({ method: p.method, n: '', ...Object.fromEntries(tableOneCells([p])[1]!.slice(1).map((c, i) => [TABLE_ONE_COLUMNS[i]!, c])) }));
  const heads = { ...TABLE_ONE_HEADERS, n: 'runs' };
  const tableIMarkdown = markdown([...t1rows, ...paper], ['method', ...TABLE_ONE_COLUMNS, 'n'], heads);
  const open = groups.map((r) => ({
    method: String(r.group), n: r.n,
    ...Object.fromEntries(['fpir', 'fnir', 'eer', 'auc', 'fnirAtFpir10'].map((v) => [v, pm(r[`${v}_mean`]!, r[`${v}_sd`]!, r.n!)])),
  }));

  const figures: SummaryResult['figures'] = [{
    name: 'table1', title: `${g.spec.name}: Table I layout${seeded ? ' (means over seeds)' : ' (95 % intervals in brackets)'}`,
    figure: tableOneFigure([...tableI, ...PAPER_TABLE_I], { title: `${g.spec.name}: Table I layout (this grid, then the paper's rows)` }),
  }];
  let kCsv = '';
  if (axisKeys.includes(K_AXIS)) {
    const bySeries = new Map<string, Row[]>();
    for (const r of groups) {
      const name = String(r.group).split(', ').filter((p) => !p.startsWith('kShot=')).join(', ') || 'all';
      bySeries.set(name, [...(bySeries.get(name) ?? []), r]);
    }
    const series = (v: string): KShotSeries[] => [...bySeries].map(([name, rs]) => ({
      name, k: rs.map((r) => Number(r[K_AXIS])), mean: rs.map((r) => Number(r[`${v}_mean`] ?? NaN)), sd: rs.map((r) => Number(r[`${v}_sd`] ?? 0)),
    }));
    figures.push(
      { name: 'kshot-accuracy', title: `${g.spec.name}: closed-set accuracy vs K`, figure: kShotCurveFigure(series('heldOutAccuracy'), { title: `${g.spec.name}: closed-set accuracy on the 20 % split vs K (mean ± sd over seeds)` }) },
      { name: 'kshot-deployment', title: `${g.spec.name}: deployment accuracy vs K`, figure: kShotCurveFigure(series('deploymentAccuracy'), { title: `${g.spec.name}: deployment accuracy (paper accounting) vs K`, yTitle: 'deployment accuracy' }) },
    );
    kCsv = kShotCsv(series('heldOutAccuracy').map((s) => ({ ...s, name: `${s.name} [closed-set]` }))) +
      kShotCsv(series('deploymentAccuracy').map((s) => ({ ...s, name: `${s.name} [deployment]` }))).split('\n').slice(1).join('\n');
  }

  const dir = g.resultsDir;
  const runCols = ['run', 'group', ...(g.spec.runs ? ['arm'] : []), ...axisKeys, 'kind', 'method', 'randomWeights', ...VALUES, 'dir'];
  const groupCols = [...groupKeys, 'n', ...VALUES.flatMap((v) => [`${v}_mean`, `${v}_sd`])];
  const engineNote = agg.engine === 'nodejs-polars' ? 'nodejs-polars' : 'typescript (nodejs-polars could not load its native binding; the same numbers, see lib/grid/frame.ts)';
  writeJsonAtomic(join(dir, 'summary.json'), { grid: g.spec.name, description: g.spec.description ?? '', engine: agg.engine, finished: runs.length, total: g.runs.length, missing, runs, groups });
  writeFileAtomic(join(dir, 'runs.csv'), toCsv(runCols, runs.map((r) => runCols.map((c) => r[c]))));
  writeFileAtomic(join(dir, 'summary.csv'), toCsv(groupCols, groups.map((r) => groupCols.map((c) => r[c]))));
  writeFileAtomic(join(dir, 'table1.md'), tableIMarkdown);
  writeFileAtomic(join(dir, 'table1.csv'), tableOneCsv([...tableI, ...PAPER_TABLE_I]));
  const md = [
    `# Grid ${g.spec.name}`, '', g.spec.description ?? '', '',
    `Finished runs: ${runs.length} of ${g.runs.length}${missing.length ? ` (not finished: ${missing.join(', ')})` : ''}. Summary engine: ${engineNote}.`,
    ...unreadable.map((u) => `\nLeft out, metrics.json unusable: ${u}`),
    runs.some((r) => r.randomWeights) ? '\nRuns marked randomWeights used a random-init CLIP: a pipeline check, not a result.' : '', '',
    `## Table I layout (%)${seeded ? ': mean ± sd over seeds' : ''}; single runs carry 95 % intervals in brackets; the paper's rows last`, '', tableIMarkdown,
    '## Open-set measures beside it (ISO/IEC 19795-1; per deployment subject, and EER/AUC of image-to-class verification, FNIR at FPIR 0.1 over single images), %', '',
    markdown(open, ['method', 'fpir', 'fnir', 'eer', 'auc', 'fnirAtFpir10', 'n'], { method: 'Method', fpir: 'FPIR', fnir: 'FNIR', eer: 'EER', auc: 'AUC', fnirAtFpir10: 'FNIR@FPIR=0.1', n: 'runs' }),
    '## Runs', '', markdown(runs.map((r) => ({ ...r, ...Object.fromEntries(VALUES.map((v) => [v, formatPercent(r[v] as number | null)])) })), ['run', 'kind', 'method', ...VALUES.slice(0, 6)]),
  ].join('\n');
  writeFileAtomic(join(dir, 'summary.md'), md);
  for (const f of figures) writeFileAtomic(join(dir, `${f.name}.html`), standaloneFigureHtml(f.figure, f.title));
  if (kCsv) writeFileAtomic(join(dir, 'kshot.csv'), kCsv);
  return { dir, engine: agg.engine, finished: runs.length, total: g.runs.length, missing, unreadable, runs, groups, tableI, tableIMarkdown, figures };
}
