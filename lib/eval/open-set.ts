/**
 * Open-set identification and verification curves, the measures the paper does not report
 * (ANCHORS.md §7):
 * - identification (1:N with unknowns), ISO/IEC 19795-1 and NIST FRTE 1:N: FPIR(T), FNIR(R=1, T)
 *   swept over T (the identification DET), FNIR at a target FPIR, misidentification rate;
 * - verification (1:1): ROC (TAR vs FAR), EER with linear interpolation, TAR@FAR;
 * - closed-set CMC from a probe × class score matrix.
 * Convention everywhere: a score s is ACCEPTED when s ≥ T, matching the paper's "confidence lower
 * than 80 % is unrecognized" (ISO text writes "> T"; with continuous scores the two agree).
 */
import { sameLength, truthRank } from './closed-set.ts';

/** One identification search, reduced to its rank-1 candidate. */
export interface IdentificationProbe {
  /** true for a mated search (the person is enrolled) */
  known: boolean;
  /** the enrolled identity of a mated probe; ignored for non-mated ones */
  truth: string | null;
  /** the rank-1 candidate's identity */
  predicted: string;
  /** the rank-1 candidate's score (softmax confidence, cosine, ...) */
  score: number;
}

export interface IdentificationSweep {
  /** ascending; the last one is +Infinity (everything rejected) */
  thresholds: number[];
  /** non-mated probes with a candidate ≥ T, over non-mated probes */
  fpir: number[];
  /** mated probes whose rank-1 candidate is not their mate ≥ T, over mated probes */
  fnir: number[];
  /** mated probes returned as a wrong identity ≥ T, over mated probes (part of FNIR) */
  misidentification: number[];
  mated: number;
  nonMated: number;
}

/**
 * FNIR/FPIR at every distinct probe score (plus +∞), i.e. the identification DET
 * (NIST FRTE 1:N plots FNIR against FPIR as T varies). Pass `thresholds` to evaluate a fixed grid.
 */
export function identificationSweep(probes: readonly IdentificationProbe[], thresholds?: readonly number[]): IdentificationSweep {
  const ts = thresholds
    ? [...thresholds].sort((a, b) => a - b)
    : [...new Set(probes.map((p) => p.score).filter(Number.isFinite))].sort((a, b) => a - b).concat(Infinity);
  const mated = probes.filter((p) => p.known);
  const nonMated = probes.filter((p) => !p.known);
  const frac = (n: number, d: number) => (d ? n / d : NaN);
  const out: IdentificationSweep = { thresholds: ts, fpir: [], fnir: [], misidentification: [], mated: mated.length, nonMated: nonMated.length };
  for (const t of ts) {
    let hits = 0;
    let wrong = 0;
    for (const p of mated) {
      if (p.score >= t) p.predicted === p.truth ? hits++ : wrong++;
    }
    out.fnir.push(frac(mated.length - hits, mated.length));
    out.misidentification.push(frac(wrong, mated.length));
    out.fpir.push(frac(nonMated.filter((p) => p.score >= t).length, nonMated.length));
  }
  return out;
}

/**
 * NIST's headline number: the lowest FNIR among thresholds whose FPIR ≤ `targetFpir` (FRTE 1:N
 * reports FNIR at FPIR = 0.003). Returns null when no threshold in the sweep gets FPIR that low.
 */
export function fnirAtFpir(sweep: IdentificationSweep, targetFpir: number): { threshold: number; fnir: number; fpir: number } | null {
  let best: { threshold: number; fnir: number; fpir: number } | null = null;
  sweep.thresholds.forEach((threshold, i) => {
    const fpir = sweep.fpir[i]!;
    const fnir = sweep.fnir[i]!;
    if (fpir <= targetFpir && (best === null || fnir < best.fnir)) best = { threshold, fnir, fpir };
  });
  return best;
}

export interface Roc {
  /** descending, starting at +Infinity (nothing accepted: FAR = TAR = 0) */
  thresholds: number[];
  /** impostor (non-mated) pairs with s ≥ T / impostor pairs (= FMR) */
  far: number[];
  /** genuine (mated) pairs with s ≥ T / genuine pairs (= 1 − FNMR) */
  tar: number[];
}

/** ROC over every distinct score (ISO/IEC 19795-1 verification: FMR, FNMR = 1 − TAR). */
export function roc(genuine: ArrayLike<number>, impostor: ArrayLike<number>): Roc {
  if (!genuine.length || !impostor.length) throw new RangeError('roc: needs at least one genuine and one impostor score');
  const g = Float64Array.from(genuine).sort();
  const im = Float64Array.from(impostor).sort();
  const ts = [Infinity, ...[...new Set([...g, ...im])].sort((a, b) => b - a)];
  return {
    thresholds: ts,
    far: ts.map((t) => countAtLeast(im, t) / im.length),
    tar: ts.map((t) => countAtLeast(g, t) / g.length),
  };
}

/** Area under the ROC by the trapezoid rule (= P(genuine > impostor) + ½ P(tie)). */
export function auc(r: Roc): number {
  let a = 0;
  for (let i = 1; i < r.far.length; i++) a += (r.far[i]! - r.far[i - 1]!) * (r.tar[i]! + r.tar[i - 1]!) / 2;
  return a + (1 - r.far[r.far.length - 1]!) * (1 + r.tar[r.tar.length - 1]!) / 2;
}

/**
 * Equal error rate: where FMR(T) = FNMR(T). Both are step functions of T; we walk the distinct
 * scores, find the consecutive pair where FMR − FNMR changes sign, and interpolate linearly
 * between the two (FMR, FNMR) points (the usual DET-segment interpolation, as in bob.measure).
 */
export function eer(genuine: ArrayLike<number>, impostor: ArrayLike<number>): { eer: number; threshold: number } {
  const r = roc(genuine, impostor);
  // walk from T = +∞ (FMR 0, FNMR 1) down; d = FMR − FNMR rises from −1 to +1
  let prev = { t: r.thresholds[0]!, d: r.far[0]! - (1 - r.tar[0]!), fmr: r.far[0]! };
  for (let i = 1; i < r.thresholds.length; i++) {
    const fmr = r.far[i]!;
    const fnmr = 1 - r.tar[i]!;
    const d = fmr - fnmr;
    if (d >= 0) {
      if (d === 0) return { eer: fmr, threshold: r.thresholds[i]! };
      const w = -prev.d / (d - prev.d);
      const t = Number.isFinite(prev.t) ? prev.t + w * (r.thresholds[i]! - prev.t) : r.thresholds[i]!;
      return { eer: prev.fmr + w * (fmr - prev.fmr), threshold: t };
    }
    prev = { t: r.thresholds[i]!, d, fmr };
  }
  return { eer: prev.fmr, threshold: prev.t }; // unreachable: at the lowest score FMR = 1, FNMR = 0
}

export interface TarAtFar {
  /** the FAR asked for */
  targetFar: number;
  /** the lowest score threshold whose FAR ≤ target (+Infinity when only "accept nothing" qualifies) */
  threshold: number;
  /** FAR actually reached at that threshold (≤ target; often 0 with few impostor pairs) */
  far: number;
  tar: number;
}

/**
 * TAR at fixed FARs (insightface/IJB style; ANCHORS §7.1), with scikit-learn's `roc_curve`
 * semantics: thresholds sit at every distinct score, genuine or impostor (plus +∞), and TAR is
 * read at the lowest one whose FAR ≤ target. Genuine scores count as candidates because a genuine
 * score just below the blocking impostor raises TAR without raising FAR; trying only impostor
 * scores (as an earlier version did) under-reported TAR by up to 0.75 on small sets (issue 13).
 * No genuine or no impostor scores leaves TAR/FAR undefined: every field but targetFar is NaN.
 */
export function tarAtFar(genuine: ArrayLike<number>, impostor: ArrayLike<number>, targets: readonly number[] = [1e-3, 1e-2, 1e-1]): TarAtFar[] {
  if (!genuine.length || !impostor.length) return targets.map((targetFar) => ({ targetFar, threshold: NaN, far: NaN, tar: NaN }));
  const g = Float64Array.from(genuine).sort();
  const im = Float64Array.from(impostor).sort();
  // ascending: FAR never rises along it, so the first candidate within target is the lowest
  const candidates = [...new Set([...g, ...im])].sort((a, b) => a - b).concat(Infinity);
  return targets.map((targetFar) => {
    const threshold = candidates.find((t) => countAtLeast(im, t) / im.length <= targetFar) ?? Infinity;
    return { targetFar, threshold, far: countAtLeast(im, threshold) / im.length, tar: countAtLeast(g, threshold) / g.length };
  });
}

/**
 * Cumulative match characteristic (ISO/IEC 19795-1 rank-k identification rate, ANCHORS §7.2):
 * cmc[k−1] = fraction of probes whose true class is within the top k. cmc[0] equals top-1
 * accuracy (ties broken like argmax) and the curve is non-decreasing, reaching 1 at k = classes.
 */
export function cmc(scores: readonly ArrayLike<number>[], truth: ArrayLike<number>, maxRank?: number): number[] {
  sameLength(scores, truth, 'cmc');
  const classes = scores[0]?.length ?? 0;
  const k = Math.min(maxRank ?? classes, classes);
  const hist = new Array<number>(classes + 1).fill(0);
  for (let i = 0; i < scores.length; i++) hist[truthRank(scores[i]!, truth[i]!)]!++;
  const out: number[] = [];
  let cum = 0;
  for (let r = 1; r <= k; r++) { cum += hist[r]!; out.push(cum / scores.length); }
  return out;
}

/** #values ≥ t in an ascending array (binary search). */
function countAtLeast(sortedAsc: Float64Array, t: number): number {
  let lo = 0;
  let hi = sortedAsc.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedAsc[mid]! < t) lo = mid + 1; else hi = mid;
  }
  return sortedAsc.length - lo;
}
