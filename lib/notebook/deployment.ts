/**
 * Notebook 6's analysis: the paper's deployment protocol re-run from a run's predictions.csv at
 * many thresholds (the paper fixes 0.8; a sweep shows what that choice costs), and the
 * per-subject decisions at one threshold as table rows.
 */
import { summarizePredictions, type PredictionRow } from '../eval/predictions.ts';
import type { DeploymentOptions, DeploymentReport } from '../eval/deployment.ts';
import { linesFigure } from '../figures/lines.ts';
import type { Figure } from '../figures/types.ts';
import type { LoadedRun } from '../report/load-run.ts';

export interface SweepRow {
  threshold: number;
  tp: number; fn: number; fp: number; tn: number;
  /** the paper's measures (fractions) */
  accuracy: number; fpr: number; fnr: number;
  /** ISO/IEC 19795-1 at the same threshold */
  fpir: number; fnir: number;
}

/** 0.05, 0.10, …, 0.95 and the paper's 0.8 (sorted, unique). */
export function defaultThresholds(step = 0.05): number[] {
  if (!(step > 0 && step < 1)) throw new RangeError(`defaultThresholds: step must be in (0, 1), got ${step}`);
  const out = new Set<number>([0.8]);
  for (let t = step; t < 1 - 1e-9; t += step) out.add(Math.round(t * 1e6) / 1e6);
  return [...out].sort((a, b) => a - b);
}

/** The deployment report at one threshold (null when the run has no deployment frames). */
export function deploymentAt(rows: readonly PredictionRow[], opts: DeploymentOptions): DeploymentReport | null {
  return summarizePredictions(rows, opts).deployment;
}

/** The deployment protocol at each threshold; empty when the run has no deployment frames. */
export function thresholdSweep(rows: readonly PredictionRow[], thresholds: readonly number[] = defaultThresholds(), opts: Omit<DeploymentOptions, 'threshold'> = {}): SweepRow[] {
  const out: SweepRow[] = [];
  for (const threshold of thresholds) {
    const d = deploymentAt(rows, { ...opts, threshold });
    if (!d) return [];
    out.push({ threshold, ...d.counts, ...d.paper, fpir: d.standard.fpir, fnir: d.standard.fnir });
  }
  return out;
}

export function sweepFigure(rows: readonly SweepRow[], opts: { markThreshold?: number; title?: string } = {}): Figure {
  const x = rows.map((r) => r.threshold);
  const col = (k: keyof SweepRow) => rows.map((r) => (Number.isFinite(r[k]) ? r[k] : null));
  return linesFigure([
    { name: 'deployment accuracy (paper)', x, y: col('accuracy') },
    { name: 'FPR (paper): enrolled people mishandled', x, y: col('fpr') },
    { name: 'FNR (paper): unknown people let in', x, y: col('fnr') },
    { name: 'FPIR (ISO/IEC 19795-1)', x, y: col('fpir'), dash: true },
    { name: 'FNIR (ISO/IEC 19795-1)', x, y: col('fnir'), dash: true },
  ], {
    title: opts.title ?? 'Deployment decisions vs confidence threshold (one decision per subject)',
    xTitle: 'confidence threshold (below it: "unrecognized")', yTitle: 'rate', yRange: [-0.02, 1.02], markX: opts.markThreshold,
  });
}

/** The sweep as display rows (percentages, counts). */
export function sweepTable(rows: readonly SweepRow[]): Record<string, string | number>[] {
  const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : 'n/a');
  return rows.map((r) => ({
    threshold: r.threshold, TP: r.tp, FN: r.fn, FP: r.fp, TN: r.tn,
    accuracy: pct(r.accuracy), FPR: pct(r.fpr), FNR: pct(r.fnr), FPIR: pct(r.fpir), FNIR: pct(r.fnir),
  }));
}

/** The run's own deployment settings (aggregation, accounting; threshold unless given). */
export function deploymentOptions(run: LoadedRun, threshold?: number): DeploymentOptions {
  const e = (run.config?.evaluation ?? {}) as DeploymentOptions;
  return { threshold: threshold ?? e.threshold, aggregation: e.aggregation, enrolledRejected: e.enrolledRejected };
}

/** The deployment protocol re-run from the run's predictions.csv (null without deployment frames). */
export function runDeployment(run: LoadedRun, threshold?: number): DeploymentReport | null {
  return run.predictions ? deploymentAt(run.predictions, deploymentOptions(run, threshold)) : null;
}

/** One row per deployment subject: who it was, what the system decided, and the paper's cell. */
export function decisionRows(report: DeploymentReport | null): Record<string, string | number | boolean>[] {
  if (!report) return [{ note: 'this run has no deployment session' }];
  return report.decisions.map((d) => ({
    subject: d.subject, enrolled: d.known, truth: d.trueIdentity ?? 'unknown', decision: d.decision,
    confidence: Number(d.confidence.toFixed(3)), frames: d.frames, outcome: d.outcome, 'paper cell': d.cell.toUpperCase(),
  }));
}

/** The run's open-set numbers over single images: FNIR at fixed FPIR, TAR at fixed FAR (image vs prompt). */
export function openSetRows(run: LoadedRun): Record<string, string | number>[] {
  const os = run.metrics?.openSet;
  const f = (x: number | null | undefined, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toFixed(d)) : 'n/a');
  return [
    ...(os?.fnirAtFpir ?? []).map((r) => ({ measure: `FNIR at FPIR ≤ ${r.targetFpir}`, value: f(r.fnir), 'achieved rate': f(r.fpir), threshold: f(r.threshold) })),
    ...(os?.verification?.tarAtFar ?? []).map((r) => ({ measure: `TAR at FAR ≤ ${r.targetFar}`, value: f(r.tar), 'achieved rate': f(r.far), threshold: f(r.threshold) })),
  ];
}
