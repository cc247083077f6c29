/**
 * The report's part for issue 11: false accepts by lookalike distance at each operating point
 * (the paper's 0.8, one chosen on enrolment data only), Table I's numbers at those points, and the
 * deployment protocol swept over the threshold. One plan for both pages: `thresholdsMarkdown` for
 * report.md, `thresholdsSection` for report.html (figures with their CSV, and tables).
 */
import { detCsv, detFigure } from '../figures/curves.ts';
import { groupedBarsFigure } from '../figures/bars.ts';
import { escapeHtml, htmlTable } from '../figures/html.ts';
import { linesFigure } from '../figures/lines.ts';
import { toCsv, type Figure } from '../figures/types.ts';
import type { FalseAcceptMetrics, ThresholdMetrics } from './threshold-metrics.ts';

type Add = (name: string, title: string, figure: Figure, csv: string) => { figure: string };
export interface ThresholdsInput { falseAccepts?: FalseAcceptMetrics | null; thresholds?: ThresholdMetrics | null }

const pct = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : 'n/a');
const thr = (x: number | null) => (x === null ? 'n/a' : String(Number(x.toFixed(4))));
const GROUP_NAMES: Record<string, string> = { stranger: 'strangers', lookalike: 'lookalikes (distance not given)' };
/** 'd2' → "lookalikes, 2 parts differ" */
export const groupName = (g: string) => GROUP_NAMES[g] ?? (/^d\d+$/.test(g) ? `lookalikes, ${g.slice(1)} part${g === 'd1' ? '' : 's'} differ${g === 'd1' ? 's' : ''}` : g);
const pointName = (p: { name: string; threshold: number | null }) => `${p.name === 'paper' ? "paper's" : p.name} T = ${thr(p.threshold)}`;

/** One cell: "accepted/n = rate [Wilson 95 %]". */
function cell(r: { n: number; accepted: number; rate: number | null; wilson95: { lower: number | null; upper: number | null } } | undefined): string {
  return r && r.n ? `${r.accepted}/${r.n} = ${pct(r.rate)} [${pct(r.wilson95.lower)}–${pct(r.wilson95.upper)}]` : '–';
}

function farRows(fa: FalseAcceptMetrics, unit: 'subjects' | 'images') {
  return fa.points.map((p) => ({ 'operating point': pointName(p), ...Object.fromEntries(fa.groups.map((g) => [groupName(g), cell(p[unit].find((r) => r.group === g))])) }));
}

function pointRows(t: ThresholdMetrics) {
  return t.points.map((p) => ({
    'operating point': pointName(p), 'held-out enrolled photos accepted': pct(p.heldOutAcceptance),
    ...(p.deployment ? { TP: p.deployment.tp, FN: p.deployment.fn, FP: p.deployment.fp, TN: p.deployment.tn, accuracy: pct(p.deployment.accuracy), FPR: pct(p.deployment.fpr), FNR: pct(p.deployment.fnr) } : {}),
  }));
}

function mdTable(rows: Record<string, unknown>[]): string[] {
  if (!rows.length) return [];
  const keys = Object.keys(rows[0]!);
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${keys.map((k) => String(r[k] ?? '')).join(' | ')} |`)];
}

export function thresholdsMarkdown(m: ThresholdsInput): string[] {
  const out: string[] = [];
  const fa = m.falseAccepts, t = m.thresholds;
  if (fa?.points.length) {
    out.push('## False accepts by lookalike distance', '', 'Unknown people accepted as someone enrolled. A lookalike is an enrolled person with d identity parts changed (enrolled people differ in ≥ 5); strangers are distinct people. Lookalikes are not in the paper\'s table above. Per deployment subject (one decision each, the paper\'s protocol); accepted/n = rate [Wilson 95 %]:', '');
    out.push(...mdTable(farRows(fa, 'subjects')), '', 'Per image (every photo and deployment frame of an unknown person):', '', ...mdTable(farRows(fa, 'images')), '');
  }
  if (t) {
    out.push('## Thresholds', '', `The paper's 0.8 beside a threshold chosen on enrolment data only: ${t.enrolmentRule} (T = ${thr(t.enrolment.threshold)} from ${t.enrolment.correct} of ${t.enrolment.heldOutPhotos} held-out photos named correctly). Table I's numbers on the enrolled people and strangers:`, '');
    out.push(...mdTable(pointRows(t)), '');
    if (t.sweep) out.push(`The full sweep (${t.sweep.thresholds.length} points: accuracy, FPR, FNR and FAR per group at every threshold where one changes) is in metrics.json under thresholds.sweep and drawn in report.html.`, '');
  }
  return out;
}

export function thresholdsSection(m: ThresholdsInput, add: Add): { heading: string; parts: ({ figure: string } | { html: string })[] } {
  const parts: ({ figure: string } | { html: string })[] = [];
  const fa = m.falseAccepts, t = m.thresholds;
  const note = (s: string) => ({ html: `<p class="note">${escapeHtml(s)}</p>` });
  if (fa?.points.length) {
    const groups = fa.groups.map(groupName);
    const bars = fa.points.map((p) => ({ name: pointName(p), values: Object.fromEntries(fa.groups.map((g) => [groupName(g), p.subjects.find((r) => r.group === g)?.rate ?? null])) }));
    parts.push(note('Unknown people accepted as someone enrolled, by how many identity parts they differ from the enrolled person they look like; strangers are distinct people. Lookalikes are not in the paper\'s table.'));
    parts.push(add('false-accepts', 'False accepts by lookalike distance', groupedBarsFigure(bars, groups, { title: 'False accepts by lookalike distance (per deployment subject)', yTitle: 'unknown subjects accepted (%)' }),
      toCsv(['point', 'threshold', 'unit', 'group', 'n', 'accepted', 'rate', 'lower95', 'upper95', 'asTwin'], fa.points.flatMap((p) => (['subjects', 'images'] as const).flatMap((u) => p[u].map((r) => [p.name, p.threshold, u, r.group, r.n, r.accepted, r.rate, r.wilson95.lower, r.wilson95.upper, r.asTwin]))))));
    parts.push({ html: '<p>Per deployment subject (accepted/n = rate [Wilson 95 %]):</p>' + htmlTable(farRows(fa, 'subjects')) });
    parts.push({ html: '<p>Per image (photos and deployment frames):</p>' + htmlTable(farRows(fa, 'images')) });
    if (fa.lookalikeDecisions.length) parts.push({ html: '<p>Lookalikes at the paper\'s 0.8: who each was taken for.</p>' + htmlTable(fa.lookalikeDecisions) });
  } else parts.push(note('No false-accept breakdown: the run had no unknown people.'));
  if (t) {
    parts.push(note(`Enrolment threshold: ${t.enrolmentRule}; T = ${thr(t.enrolment.threshold)}.`), { html: htmlTable(pointRows(t)) });
    const s = t.sweep;
    if (s?.thresholds.length) {
      const ts = s.thresholds.map((x) => x ?? Infinity);
      const rate = (xs: (number | null)[]) => xs.map((x) => x ?? NaN);
      // the paper's FNR (unknown let in) is ISO's FPIR and its FPR (enrolled not named) ISO's FNIR
      const det = { name: 'deployment (enrolled + strangers)', fpir: rate(s.fnr), fnir: rate(s.fpr), thresholds: ts };
      parts.push(add('deployment-det', 'Deployment DET', detFigure([det], { title: 'Deployment DET over the threshold: paper FPR (y) vs FNR (x)', markThreshold: 0.8 }), detCsv([det])));
      const finite = ts.map((x, i) => ({ x, i })).filter(({ x }) => Number.isFinite(x));
      const series = [
        { name: 'FPR: enrolled not named', x: finite.map((p) => p.x), y: finite.map((p) => s.fpr[p.i] ?? null), dash: true },
        ...Object.entries(s.far).map(([g, ys]) => ({ name: `FAR: ${groupName(g)}`, x: finite.map((p) => p.x), y: finite.map((p) => ys[p.i] ?? null) })),
      ];
      parts.push(add('far-sweep', 'False accepts over the threshold', linesFigure(series, { title: 'False accepts by group and enrolled errors over the threshold (per subject)', xTitle: 'threshold (top-1 confidence)', yTitle: 'rate', markX: 0.8, yRange: [-0.02, 1.02] }),
        toCsv(['threshold', 'accuracy', 'fpr', 'fnr', ...Object.keys(s.far).map((g) => `far_${g}`)], s.thresholds.map((x, i) => [x ?? 'inf', s.accuracy[i], s.fpr[i], s.fnr[i], ...Object.values(s.far).map((ys) => ys[i])]))));
    }
  }
  return { heading: 'False accepts by lookalike distance, and thresholds', parts };
}
