/** Bootstrap, Wilson and McNemar (lib/eval/stats.ts) against hand-computed values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapCI, chiSquare1Sf, erfc, mcnemar, mcnemarFromCounts, mulberry32, normalQuantile, quantile, wilson,
} from '../lib/eval/stats.ts';

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('mulberry32: deterministic per seed, in [0, 1), roughly uniform', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = Array.from({ length: 10000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.notEqual(mulberry32(43)(), xs[0]);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  close(mean(xs), 0.5, 0.01);
});

test('bootstrap: same seed → same interval; interval contains the point estimate', () => {
  const rand = mulberry32(1);
  const items = Array.from({ length: 60 }, () => (rand() < 0.9 ? 1 : 0)); // 60 test images, ~90 % correct
  const one = bootstrapCI(items, mean, { seed: 5, iterations: 1000 });
  const two = bootstrapCI(items, mean, { seed: 5, iterations: 1000 });
  assert.deepEqual(one, two);
  assert.notDeepEqual(bootstrapCI(items, mean, { seed: 6, iterations: 1000 }), one);
  assert.equal(one.estimate, mean(items));
  assert.ok(one.lower <= one.estimate && one.estimate <= one.upper, JSON.stringify(one));
  assert.ok(one.upper - one.lower > 0.05 && one.upper - one.lower < 0.3);
  assert.equal(one.dropped, 0);
});

test('bootstrap: NaN resamples (e.g. no unknown subject drawn) are dropped and counted', () => {
  // 12 subjects, 2 unknown: FNR over unknowns is NaN whenever a resample draws no unknown
  const subjects = [...Array(10).fill({ known: true, ok: true }), { known: false, ok: true }, { known: false, ok: false }];
  const fnr = (s: { known: boolean; ok: boolean }[]) => {
    const u = s.filter((x) => !x.known);
    return u.length ? u.filter((x) => !x.ok).length / u.length : NaN;
  };
  const r = bootstrapCI(subjects, fnr, { seed: 0, iterations: 2000 });
  assert.ok(r.dropped > 0 && r.dropped < 2000 * 0.3); // P(no unknown) = (10/12)^12 ≈ 11 %
  assert.deepEqual([r.lower, r.upper], [0, 1]);
});

test('quantile: R type 7', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4], 0), 1);
  assert.equal(quantile([1, 2, 3, 4], 1), 4);
  close(quantile([10, 20, 30], 0.25), 15);
});

test('Wilson interval: hand-computed values', () => {
  const half = wilson(1, 2);
  close(half.lower, 0.0945312057, 1e-8);
  close(half.upper, 0.9054687943, 1e-8);
  const zero = wilson(0, 10);
  assert.equal(zero.lower, 0);
  close(zero.upper, 0.2775327999, 1e-8);
  const clip = wilson(9, 12); // the paper's CLIP deployment accuracy, 9/12
  close(clip.lower, 0.4676946651, 1e-8);
  close(clip.upper, 0.9110583316, 1e-8);
  assert.ok(Number.isNaN(wilson(0, 0).estimate));
});

test('McNemar: exact binomial and continuity-corrected χ² by hand (b = 1, c = 6)', () => {
  // exact: 2·P(X ≤ 1), X ~ Bin(7, ½) = 2·(1 + 7)/128 = 0.125; χ² = (|1 − 6| − 1)²/7 = 16/7
  const a = [true, false, false, false, false, false, false, true, true, false];
  const b = [false, true, true, true, true, true, true, true, true, false];
  const r = mcnemar(a, b);
  assert.deepEqual([r.b, r.c], [1, 6]);
  close(r.exactP, 0.125, 1e-12);
  close(r.chi2, 16 / 7, 1e-12);
  close(r.chi2P, 0.1305700181, 1e-6);
  assert.equal(mcnemarFromCounts(0, 0).exactP, 1);
  assert.equal(mcnemarFromCounts(3, 3).exactP, 1);
  close(mcnemarFromCounts(0, 10).exactP, 2 / 1024, 1e-15);
  close(mcnemarFromCounts(200, 260).exactP, mcnemarFromCounts(260, 200).exactP, 1e-15); // symmetric, large n
});

test('erfc, χ²₁ survival and the normal quantile agree with tables', () => {
  close(erfc(0), 1, 1e-7);
  close(erfc(1), 0.1572992070, 1e-7);
  close(erfc(-1), 1.8427007930, 1e-7);
  close(chiSquare1Sf(3.841458821), 0.05, 1e-6);
  close(normalQuantile(0.975), 1.959963985, 1e-8);
  close(normalQuantile(0.005), -2.575829304, 1e-8);
});
