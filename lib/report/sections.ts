/**
 * What the run report shows, decided from a loaded run folder (pure: no files written here):
 * the figures, each with its data as CSV, and the page sections that place them among tables.
 */
import { confusionMatrix } from '../eval/closed-set.ts';
import { wilson } from '../eval/stats.ts';
import { confusionCsv, confusionMatrixFigure } from '../figures/confusion.ts';
import { detCsv, detFigure, rocCsv, rocFigure, type RocCurve } from '../figures/curves.ts';
import { escapeHtml, formatNumber, htmlTable } from '../figures/html.ts';
import { cosineMatrix, similarityCsv, similarityHeatmapFigure } from '../figures/similarity.ts';
import { PAPER_TABLE_I, tableOneCsv, tableOneFigure, type TableOneRow } from '../figures/table-one.ts';
import { trainingCsv, trainingCurveFigure } from '../figures/training.ts';
import type { Figure } from '../figures/types.ts';
import { RANDOM_STAMP, TEACHING_STAMP } from '../models/stamp.ts';
import type { LoadedRun } from './load-run.ts';
import { thresholdsSection } from './thresholds-section.ts';

export interface ReportFigure { name: string; title: string; figure: Figure; csv: string }
export interface ReportSection { heading: string; parts: ({ figure: string } | { html: string })[] }
export interface ReportPlan { title: string; stamp: string | null; figures: ReportFigure[]; sections: ReportSection[] }

const pct = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(2)} %` : 'n/a');
const note = (s: string) => ({ html: `<p class="note">${escapeHtml(s)}</p>` });

/** This run as a Table I row (fractions), with Wilson/bootstrap 95 % intervals where the counts allow. */
export function tableOneRow(run: LoadedRun): TableOneRow {
  const m = run.metrics;
  const model = (run.config?.model ?? {}) as { id?: string | null; randomInit?: { arch?: string } };
  const d = m?.deployment ?? null;
  const cs = m?.closedSet;
  const ci: TableOneRow['ci'] = {};
  if (cs) ci.heldOutAccuracy = cs.wilson95;
  if (d?.bootstrap95) ci.deploymentAccuracy = d.bootstrap95.accuracy;
  if (d && d.fp + d.tn > 0) ci.fpr = wilson(d.fp, d.fp + d.tn);
  if (d && d.fn + d.tp > 0) ci.fnr = wilson(d.fn, d.fn + d.tp);
  const stamp = m?.stamp ?? null;
  return {
    // baselines and extra arms name themselves (metrics.method.label); the CLIP arm is named by its model
    method: `${m?.method.label ?? model.id ?? model.randomInit?.arch ?? 'CLIP'} (this run${stamp === RANDOM_STAMP ? ', random weights' : stamp === TEACHING_STAMP ? ', teaching CLIP' : ''})`,
    heldOutAccuracy: cs?.accuracy ?? null,
    deploymentAccuracy: d?.accuracy ?? null, fpr: d?.fpr ?? null, fnr: d?.fnr ?? null, ci,
  };
}

export function planReport(run: LoadedRun, opts: { comparePaper?: boolean; title?: string } = {}): ReportPlan {
  const m = run.metrics;
  const figures: ReportFigure[] = [];
  const add = (name: string, title: string, figure: Figure, csv: string) => { figures.push({ name, title, figure, csv }); return { figure: name }; };
  const sections: ReportSection[] = [];
  const cfgName = typeof run.config?.name === 'string' ? run.config.name : undefined;

  // Table I and the headline numbers
  const rows = [tableOneRow(run), ...(opts.comparePaper === false ? [] : PAPER_TABLE_I)];
  const d = m?.deployment ?? null;
  const v = m?.openSet.verification ?? null;
  const summary = [
    { measure: 'closed-set top-1 accuracy (test split)', value: pct(m?.closedSet.accuracy), detail: m ? `${m.closedSet.images} images, chance ${pct(m.closedSet.chance)}` : 'no usable metrics.json' },
    { measure: 'deployment accuracy (paper)', value: pct(d?.accuracy), detail: d ? `TP ${d.tp}, FN ${d.fn}, FP ${d.fp}, TN ${d.tn} over ${d.tp + d.fn + d.fp + d.tn} subjects, threshold ${d.threshold}` : 'no deployment session' },
    { measure: 'FPR (paper) = error rate on enrolled', value: pct(d?.fpr), detail: '' },
    { measure: 'FNR (paper) = unknown people let in', value: pct(d?.fnr), detail: '' },
    { measure: 'FPIR / FNIR (ISO/IEC 19795-1)', value: d ? `${pct(d.standard.fpir)} / ${pct(d.standard.fnir)}` : 'n/a', detail: 'standard open-set measures at the same threshold' },
    { measure: 'verification AUC / EER (image vs prompt)', value: v ? `${formatNumber(v.auc)} / ${pct(v.eer.eer)}` : 'n/a', detail: v ? `EER threshold ${v.eer.threshold === null ? 'n/a' : formatNumber(v.eer.threshold)}` : '' },
  ];
  sections.push({ heading: 'Table I and headline numbers', parts: [
    add('table-one', 'Table I layout', tableOneFigure(rows, { title: 'Table I layout: this run beside the paper (%, 95 % intervals in brackets)' }), tableOneCsv(rows)),
    { html: htmlTable(summary) },
  ] });

  // training
  const tr: ReportSection = { heading: 'Training', parts: [] };
  if (run.trainLog?.length) tr.parts.push(add('training-curve', 'Training curve', trainingCurveFigure(run.trainLog), trainingCsv(run.trainLog)));
  else tr.parts.push(note('No training log: train-log.csv is missing or empty.'));
  sections.push(tr);

  // closed set
  const cs: ReportSection = { heading: 'Closed set (enrolled people, held-out split)', parts: [] };
  let cm = m?.closedSet.confusion;
  const testRows = run.predictions?.filter((r) => r.kind === 'test') ?? [];
  if (!cm && testRows.length) cm = confusionMatrix(testRows.map((r) => r.truth ?? ''), testRows.map((r) => r.prediction ?? 'unrecognized'));
  if (cm?.labels.length) {
    cs.parts.push(add('confusion-counts', 'Confusion matrix (counts)', confusionMatrixFigure(cm), confusionCsv(cm)));
    cs.parts.push(add('confusion-row', 'Confusion matrix (row-normalised)', confusionMatrixFigure(cm, { normalize: 'row' }), confusionCsv(cm)));
  } else cs.parts.push(note('No confusion matrix: metrics.json has no closedSet.confusion and predictions.csv has no test rows.'));
  const cmc = m?.closedSet.cmc;
  if (cmc?.length) cs.parts.push({ html: htmlTable(cmc.slice(0, 10).map((x, i) => ({ rank: i + 1, 'identification rate': pct(x) }))) });
  sections.push(cs);

  // deployment
  const dep: ReportSection = { heading: 'Deployment (paper protocol: enrolled and unknown people before the camera)', parts: [] };
  if (d) {
    if (d.identityConfusion.labels.length) dep.parts.push(add('deployment-confusion', 'Deployment decisions: truth × decision', confusionMatrixFigure(d.identityConfusion, { title: 'Deployment: truth × decision (one decision per subject)', showAccuracy: false }), confusionCsv(d.identityConfusion)));
    if (d.decisions.length) dep.parts.push({ html: htmlTable(d.decisions) });
  } else dep.parts.push(note('No deployment section: metrics.json has no deployment (the run had no deployment frames).'));
  sections.push(dep);
  sections.push(thresholdsSection(m ?? {}, add));

  // open set
  const os: ReportSection = { heading: 'Open set: threshold sweep over single images', parts: [] };
  const det = m?.openSet.det;
  if (det?.fpir.length) {
    // JSON's null is undefined for a rate (0/0) and +∞ for the last threshold (reject everything)
    const rate = (xs: (number | null)[]) => xs.map((x) => x ?? NaN);
    const sweep = { name: cfgName ?? 'this run', fpir: rate(det.fpir), fnir: rate(det.fnir), thresholds: det.thresholds.map((t) => t ?? Infinity) };
    os.parts.push(add('det', 'DET', detFigure([sweep], { markThreshold: d?.threshold ?? 0.8 }), detCsv([sweep])));
    const curves: RocCurve[] = [{ name: 'watch-list ROC: DIR = 1 − FNIR vs FPIR', fpr: sweep.fpir, tpr: sweep.fnir.map((x) => 1 - x) }];
    os.parts.push(add('roc', 'ROC', rocFigure(curves, { title: 'ROC' }), rocCsv(curves)));
  } else os.parts.push(note('No DET: metrics.json has no openSet.det (no unknown-person probes).'));
  if (m?.openSet.fnirAtFpir.length) os.parts.push({ html: htmlTable(m.openSet.fnirAtFpir) });
  sections.push(os);

  // feature similarity
  const sim: ReportSection = { heading: 'Feature similarity (paper §VI-B)', parts: [] };
  const s = run.similarity;
  if (s) {
    const spec = { labels: s.labels, matrix: s.matrix ?? cosineMatrix(s.features!, s.dim!) };
    sim.parts.push(add('similarity', 'Cosine similarity of image embeddings', similarityHeatmapFigure(spec), similarityCsv(spec)));
  } else sim.parts.push(note('No similarity heatmap: the run folder has no features.json.'));
  sections.push(sim);

  return { title: opts.title ?? `Run report: ${cfgName ?? run.dir}`, stamp: m?.stamp ?? null, figures, sections };
}
