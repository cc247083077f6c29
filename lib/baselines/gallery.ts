/**
 * The "(o)" set-up of Table I: a face model's own recipe. Every enrolled identity's training images
 * form its gallery; a probe is scored against each identity either by its mean template (mean of
 * the L2-normalised embeddings, re-normalised: insightface's IJB template rule) or by its nearest
 * gallery image; the best identity is accepted when its similarity clears a threshold.
 *
 * Thresholds: the model's documented one (thresholds.ts), or one calibrated on the TRAINING split
 * only. Calibration simulates the deployment question with what training offers: each training
 * image is a mated probe against the gallery without itself (leave-one-out), and, with its whole
 * identity left out, a non-mated probe against the other identities (leave-one-identity-out); the
 * cosine threshold minimising FNIR + FPIR (ISO/IEC 19795-1, ANCHORS.md §7.3) over those probes wins.
 *
 * Similarity → confidence: σ(k·(s − t) + logit(T)) with T = evaluation.threshold. It is strictly
 * increasing and equals T exactly at s = t, so the paper's rule "confidence ≥ T" accepts exactly
 * "similarity ≥ t", and every threshold sweep (DET, FNIR@FPIR) ranks probes as the raw similarity
 * does. The per-class values are acceptance confidences, not a distribution (rows do not sum to 1).
 */
import { normalizeRows } from '../util/rows.ts';
export type SimilarityMetric = 'cosine' | 'euclidean' | 'human';
export type GalleryMode = 'mean' | 'nn';

/** Human's match.ts constants for the documented recipe (see thresholds.ts). */
const HUMAN = { multiplier: 20, min: 0.2, max: 0.8 };

/** Similarity of rows a[ai] and b[bi]; higher = more alike. Cosine expects unit rows. */
export function similarity(metric: SimilarityMetric, a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  if (metric === 'cosine') {
    for (let j = 0; j < dim; j++) s += a[ai * dim + j]! * b[bi * dim + j]!;
    return s;
  }
  for (let j = 0; j < dim; j++) s += (a[ai * dim + j]! - b[bi * dim + j]!) ** 2;
  if (metric === 'euclidean') return -Math.sqrt(s);
  // human.similarity without its final clamp/round (monotone; the 0.5 decision is unchanged up to rounding)
  return (1 - Math.sqrt(HUMAN.multiplier * s) / 100 - HUMAN.min) / (HUMAN.max - HUMAN.min);
}

export interface Gallery {
  metric: SimilarityMetric;
  mode: GalleryMode;
  dim: number;
  classes: number;
  /** nn: the enrolled rows; mean: one template per class */
  rows: Float32Array;
  /** class of each row */
  labels: Int32Array;
}

/** Enrol training rows (already normalised for cosine) with their labels. */
export function enrol(metric: SimilarityMetric, mode: GalleryMode, rows: Float32Array, labels: Int32Array, classes: number): Gallery {
  const dim = rows.length / labels.length;
  if (mode === 'nn') return { metric, mode, dim, classes, rows, labels };
  const t = new Float32Array(classes * dim);
  const n = new Array<number>(classes).fill(0);
  labels.forEach((c, i) => {
    n[c]!++;
    for (let j = 0; j < dim; j++) t[c * dim + j]! += rows[i * dim + j]!;
  });
  for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) t[c * dim + j]! /= n[c]! || 1;
  return { metric, mode, dim, classes, rows: metric === 'cosine' ? normalizeRows(t, dim) : t, labels: Int32Array.from({ length: classes }, (_, c) => c) };
}

/** Similarity of every probe row to every class: [probes][classes]. */
export function scoreGallery(g: Gallery, probes: Float32Array): number[][] {
  const n = probes.length / g.dim;
  return Array.from({ length: n }, (_, i) => {
    const best = new Array<number>(g.classes).fill(-Infinity);
    for (let r = 0; r < g.labels.length; r++) {
      const c = g.labels[r]!;
      const s = similarity(g.metric, probes, i, g.rows, r, g.dim);
      if (s > best[c]!) best[c] = s;
    }
    return best;
  });
}

/** σ(k·(s − t) + logit(T)): confidence T exactly at the threshold, strictly increasing in s. */
export function similarityToConfidence(s: number, t: number, T: number, k = 10): number {
  const p = Math.min(Math.max(T, 1e-6), 1 - 1e-6);
  return 1 / (1 + Math.exp(-(k * (s - t) + Math.log(p / (1 - p)))));
}

export interface Calibration {
  threshold: number;
  /** rates on the simulated probes at `threshold` */
  fnir: number;
  fpir: number;
  mated: number;
  nonMated: number;
  rule: string;
}

/**
 * The cosine threshold minimising FNIR + FPIR on the training split (unit rows, see the header).
 * Null when no identity has two training images (no leave-one-out mated probe exists).
 */
export function calibrateThreshold(rows: Float32Array, labels: Int32Array, classes: number, mode: GalleryMode): Calibration | null {
  const dim = rows.length / labels.length;
  const g = enrol('cosine', mode, rows, labels, classes);
  const full = scoreGallery(g, rows);
  const count = new Array<number>(classes).fill(0);
  labels.forEach((c) => count[c]!++);
  const sums = mode === 'mean' ? classSums(rows, labels, classes, dim) : undefined;
  const mated: number[] = []; // LOO own-class score when the probe ranks its own identity first, else -Infinity
  const nonMated: number[] = [];
  labels.forEach((y, i) => {
    const others = Math.max(...full[i]!.filter((_, c) => c !== y));
    nonMated.push(others);
    if (count[y]! < 2) return;
    const own = mode === 'mean' ? looMean(sums!, rows, i, y, dim) : looNearest(rows, labels, i, y, dim);
    mated.push(own > others ? own : -Infinity);
  });
  if (!mated.length) return null;
  const values = [...new Set([...mated, ...nonMated].filter(Number.isFinite))].sort((a, b) => a - b);
  const cands = [values[0]! - 1e-6, ...values.slice(1).map((v, i) => (v + values[i]!) / 2), values[values.length - 1]! + 1e-6];
  const rates = (t: number) => ({ fnir: mated.filter((s) => !(s >= t)).length / mated.length, fpir: nonMated.filter((s) => s >= t).length / nonMated.length });
  const cost = cands.map((t) => { const r = rates(t); return r.fnir + r.fpir; });
  const best = Math.min(...cost);
  const ties = cands.filter((_, i) => cost[i] === best);
  const threshold = ties[Math.floor((ties.length - 1) / 2)]!; // the middle of the optimal plateau
  return { threshold, ...rates(threshold), mated: mated.length, nonMated: nonMated.length, rule: 'argmin FNIR + FPIR: leave-one-out mated, leave-one-identity-out non-mated probes, training split only' };
}

function classSums(rows: Float32Array, labels: Int32Array, classes: number, dim: number): Float64Array {
  const s = new Float64Array(classes * dim);
  labels.forEach((c, i) => { for (let j = 0; j < dim; j++) s[c * dim + j]! += rows[i * dim + j]!; });
  return s;
}

/** cos(probe i, normalised mean of its class without i). */
function looMean(sums: Float64Array, rows: Float32Array, i: number, y: number, dim: number): number {
  let dot = 0, nn = 0;
  for (let j = 0; j < dim; j++) {
    const t = sums[y * dim + j]! - rows[i * dim + j]!;
    dot += t * rows[i * dim + j]!;
    nn += t * t;
  }
  return dot / Math.sqrt(nn || 1);
}

function looNearest(rows: Float32Array, labels: Int32Array, i: number, y: number, dim: number): number {
  let best = -Infinity;
  labels.forEach((c, r) => { if (c === y && r !== i) best = Math.max(best, similarity('cosine', rows, i, rows, r, dim)); });
  return best;
}
