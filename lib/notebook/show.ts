/**
 * Showing a run in a notebook: the figures `planReport` builds for report.html (so a notebook and
 * the report draw the same thing from the same files), the headline numbers as a table, and the
 * path of the run's offline report.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedRun } from '../report/load-run.ts';
import type { ReportPlan } from '../report/sections.ts';
import type { TableRows } from '../figures/html.ts';
import { show, showTable as showTableMd } from '../report/display.ts';

/**
 * display.ts's showTable without its return value: tslab prints the value of a cell's last
 * expression, and `await showTable(...)` would print the table a second time as markdown.
 */
export async function showTable(rows: TableRows, opts: { title?: string } = {}): Promise<void> {
  await showTableMd(rows, opts);
}

/** Show the named figures of a report plan, in the order given; a figure the run cannot draw is named instead. */
export async function showPlanFigures(plan: ReportPlan, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const f = plan.figures.find((x) => x.name === name);
    if (f) await show(f.figure, { title: f.title });
    else process.stdout.write(`(no "${name}" figure for this run: ${plan.figures.length ? `it has ${plan.figures.map((x) => x.name).join(', ')}` : 'it has none'})\n`);
  }
}

const pct = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : 'n/a');

/** The run's headline numbers (closed set, the paper's deployment measures, ISO open-set, verification). */
export function headlineRows(run: LoadedRun): Record<string, string>[] {
  const m = run.metrics;
  const d = m?.deployment ?? null;
  const v = m?.openSet.verification ?? null;
  const ci = (i?: { lower: number | null; upper: number | null } | null) => (i ? ` [${pct(i.lower)}, ${pct(i.upper)}]` : '');
  return [
    { measure: 'closed-set top-1 accuracy (held-out 20 %)', value: pct(m?.closedSet.accuracy) + ci(m?.closedSet.wilson95), detail: `${m?.closedSet.images ?? '?'} images, chance ${pct(m?.closedSet.chance)}` },
    { measure: 'deployment accuracy (paper)', value: pct(d?.accuracy) + ci(d?.bootstrap95?.accuracy), detail: d ? `TP ${d.tp}, FN ${d.fn}, FP ${d.fp}, TN ${d.tn}, threshold ${d.threshold}` : 'no deployment session' },
    { measure: 'FPR (paper): enrolled people mishandled', value: pct(d?.fpr), detail: '' },
    { measure: 'FNR (paper): unknown people let in', value: pct(d?.fnr), detail: '' },
    { measure: 'FPIR / FNIR (ISO/IEC 19795-1)', value: d ? `${pct(d.standard.fpir)} / ${pct(d.standard.fnir)}` : 'n/a', detail: 'same threshold, per subject' },
    { measure: 'verification AUC (image vs prompt)', value: v ? v.auc.toFixed(3) : 'n/a', detail: v ? `EER ${pct(v.eer.eer)}` : '' },
    ...(m?.stamp ? [{ measure: 'stamp', value: m.stamp, detail: 'the demo proves the pipeline, not CLIP' }] : []),
  ];
}

/** The run's report.html (tables and figures, offline), or a note when it is missing. */
export function reportPath(dir: string): string {
  const p = join(dir, 'report.html');
  return existsSync(p) ? p : `${p} (missing)`;
}

/** One section of the run's resolved config (e.g. 'training') as key/value rows. */
export function configRows(run: LoadedRun, section: string): { key: string; value: string }[] {
  const part = run.config?.[section];
  if (!part || typeof part !== 'object') return [{ key: section, value: part === undefined ? '(not in config.json)' : JSON.stringify(part) }];
  return Object.entries(part as Record<string, unknown>).map(([key, v]) => ({ key: `${section}.${key}`, value: typeof v === 'string' ? v : JSON.stringify(v) }));
}
