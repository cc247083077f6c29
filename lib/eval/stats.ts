/**
 * Uncertainty for tiny evaluations (the paper has 12 deployment subjects, 2 of them unknown, and
 * reports no intervals; ANCHORS §7.3 item 5): a seeded PRNG, percentile bootstrap CIs, Wilson
 * score intervals for proportions, and McNemar's test for two systems scored on the same items.
 */

/** The project's seeded PRNG (lib/util/rng.ts), re-exported: every seeded resample replays exactly. */
export { mulberry32 } from '../util/rng.ts';
import { mulberry32 } from '../util/rng.ts';

export interface Interval {
  /** the statistic on the full data (for Wilson: the observed proportion) */
  estimate: number;
  lower: number;
  upper: number;
  /** coverage, e.g. 0.95 */
  level: number;
}

export interface BootstrapOptions {
  /** resamples; default 2000 (Efron & Tibshirani suggest ≥ 1000 for percentile intervals) */
  iterations?: number;
  /** PRNG seed; the same seed gives the same interval */
  seed?: number;
  /** default 0.95 */
  level?: number;
}

/**
 * Percentile bootstrap (Efron 1979): resample items with replacement, recompute `statistic`, take
 * the (1−level)/2 and (1+level)/2 quantiles (linear interpolation, R type 7). Resamples whose
 * statistic is NaN (e.g. no unknown subject drawn for FNR) are dropped and counted in `dropped`.
 * Resample at the level that is independent: subjects for deployment, images for the test split.
 */
export function bootstrapCI<T>(
  items: readonly T[],
  statistic: (sample: T[]) => number,
  opts: BootstrapOptions = {},
): Interval & { iterations: number; dropped: number } {
  const iterations = opts.iterations ?? 2000;
  const level = opts.level ?? 0.95;
  const rand = mulberry32(opts.seed ?? 0);
  const estimate = statistic([...items]);
  const stats: number[] = [];
  const sample = new Array<T>(items.length);
  for (let b = 0; b < iterations; b++) {
    for (let i = 0; i < items.length; i++) sample[i] = items[Math.floor(rand() * items.length)]!;
    const s = statistic(sample);
    if (!Number.isNaN(s)) stats.push(s);
  }
  stats.sort((x, y) => x - y);
  const alpha = (1 - level) / 2;
  return {
    estimate, level, iterations, dropped: iterations - stats.length,
    lower: quantile(stats, alpha), upper: quantile(stats, 1 - alpha),
  };
}

/** Quantile of an ascending array, linear interpolation between order statistics (R type 7). */
export function quantile(sortedAsc: readonly number[], q: number): number {
  if (!sortedAsc.length) return NaN;
  const h = (sortedAsc.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sortedAsc.length - 1);
  return sortedAsc[lo]! + (h - lo) * (sortedAsc[hi]! - sortedAsc[lo]!);
}

/**
 * Wilson score interval for a binomial proportion (Wilson 1927; recommended over the Wald
 * interval by Brown, Cai & DasGupta 2001, and it stays inside [0, 1] for 0/2 or 2/2).
 */
export function wilson(successes: number, n: number, level = 0.95): Interval {
  if (!(n > 0)) return { estimate: NaN, lower: NaN, upper: NaN, level };
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n));
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half), level };
}

export interface McNemar {
  /** items system A got right and B got wrong */
  b: number;
  /** items system A got wrong and B got right */
  c: number;
  /** two-sided exact binomial p-value: 2·P(X ≤ min(b, c)), X ~ Bin(b + c, ½), capped at 1 */
  exactP: number;
  /** (|b − c| − 1)² / (b + c), Edwards' continuity correction; NaN when b + c = 0 */
  chi2: number;
  /** P(χ²₁ ≥ chi2) */
  chi2P: number;
}

/**
 * McNemar's test (McNemar 1947) on paired correctness: only the discordant items b and c matter.
 * With so few items the exact binomial form is the one to read; the χ² form is given because
 * papers usually report it.
 */
export function mcnemar(correctA: ArrayLike<boolean>, correctB: ArrayLike<boolean>): McNemar {
  if (correctA.length !== correctB.length) throw new RangeError(`mcnemar: lengths differ (${correctA.length} vs ${correctB.length})`);
  let b = 0;
  let c = 0;
  for (let i = 0; i < correctA.length; i++) {
    if (correctA[i] && !correctB[i]) b++;
    else if (!correctA[i] && correctB[i]) c++;
  }
  return mcnemarFromCounts(b, c);
}

export function mcnemarFromCounts(b: number, c: number): McNemar {
  const n = b + c;
  const exactP = n === 0 ? 1 : Math.min(1, 2 * binomialCdfHalf(Math.min(b, c), n));
  const chi2 = n === 0 ? NaN : (Math.max(0, Math.abs(b - c) - 1) ** 2) / n;
  return { b, c, exactP, chi2, chi2P: n === 0 ? NaN : chiSquare1Sf(chi2) };
}

/** P(X ≤ k) for X ~ Binomial(n, ½), summed in log space so large n does not underflow early. */
function binomialCdfHalf(k: number, n: number): number {
  let logPmf = -n * Math.LN2; // P(X = 0)
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += Math.exp(logPmf);
    logPmf += Math.log(n - i) - Math.log(i + 1);
  }
  return sum;
}

/** Survival function of χ² with 1 degree of freedom: P(χ²₁ ≥ x) = erfc(√(x/2)). */
export function chiSquare1Sf(x: number): number {
  return x <= 0 ? 1 : erfc(Math.sqrt(x / 2));
}

/** Complementary error function (Numerical Recipes `erfcc`, Chebyshev fit, |rel. error| < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
    + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
    + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/**
 * Inverse standard normal CDF (Acklam's rational approximation, |rel. error| < 1.15e-9), for
 * interval levels other than 95 %.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < pl) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - pl) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q)
    / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}
