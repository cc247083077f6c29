/** Open-set sweeps, verification curves and CMC (lib/eval/open-set.ts) on hand-computed cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, argmax } from '../lib/eval/closed-set.ts';
import {
  auc, cmc, eer, fnirAtFpir, identificationSweep, roc, tarAtFar, type IdentificationProbe,
} from '../lib/eval/open-set.ts';
import { mulberry32 } from '../lib/eval/stats.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()); // Box–Muller
}

test('EER: mirror-symmetric scores give the hand-computed 0.375 at threshold 0.6', () => {
  // FMR(T) = #impostor ≥ T / 4, FNMR(T) = #genuine < T / 4; at T = .7: (.25, .5), at T = .5: (.5, .25)
  const r = eer([0.3, 0.5, 0.7, 0.9], [0.1, 0.3, 0.5, 0.7]);
  close(r.eer, 0.375);
  close(r.threshold, 0.6);
});

test('EER: separable scores give 0; N(+1,1) vs N(−1,1) gives Φ(−1) ≈ 0.1587', () => {
  assert.equal(eer([0.6, 0.7, 0.8], [0.1, 0.2, 0.3]).eer, 0);
  const rand = mulberry32(7);
  const g = Array.from({ length: 20000 }, () => 1 + gaussian(rand));
  const im = Array.from({ length: 20000 }, () => -1 + gaussian(rand));
  const r = eer(g, im);
  close(r.eer, 0.158655, 0.01);
  close(r.threshold, 0, 0.05);
});

test('ROC: endpoints, monotone, AUC of separable and mirrored cases', () => {
  const r = roc([0.3, 0.5, 0.7, 0.9], [0.1, 0.3, 0.5, 0.7]);
  assert.equal(r.thresholds[0], Infinity);
  assert.deepEqual([r.far[0], r.tar[0]], [0, 0]);
  assert.deepEqual([r.far.at(-1), r.tar.at(-1)], [1, 1]);
  for (let i = 1; i < r.far.length; i++) assert.ok(r.far[i]! >= r.far[i - 1]! && r.tar[i]! >= r.tar[i - 1]!);
  // P(g > i) + ½ P(g = i) over the 16 pairs: 10 wins + 3 ties → 11.5 / 16
  close(auc(r), 11.5 / 16);
  assert.equal(auc(roc([0.6, 0.7], [0.1, 0.2])), 1);
});

test('TAR@FAR: threshold from the impostor distribution', () => {
  const impostor = Array.from({ length: 1000 }, (_, i) => i / 1000);
  const genuine = [0.5, 0.95, 0.991, 0.995, 0.9995, 1.2];
  const [r3, r2, r1] = tarAtFar(genuine, impostor);
  assert.equal(r2!.threshold, 0.99); // 0.990..0.999: 10 impostors = FAR 1e-2
  assert.equal(r2!.far, 0.01);
  assert.equal(r2!.tar, 4 / 6);
  assert.equal(r3!.threshold, 0.999);
  assert.equal(r3!.tar, 2 / 6);
  assert.equal(r1!.threshold, 0.9);
  assert.equal(r1!.tar, 5 / 6);
  // too few impostors for FAR 1e-3: T is the lowest score above the top impostor, FAR reached is 0
  const [tiny] = tarAtFar([0.7, 0.9], [0.1, 0.7], [1e-3]);
  assert.deepEqual([tiny!.threshold, tiny!.far, tiny!.tar], [0.9, 0, 0.5]);
  // no genuine score above every impostor: only "accept nothing" (T = +∞) qualifies
  const [none] = tarAtFar([0.5], [0.1, 0.7], [1e-3]);
  assert.deepEqual([none!.threshold, none!.far, none!.tar], [Infinity, 0, 0]);
});

/** scikit-learn's roc_curve (drop_intermediate=False): TAR@FAR = max TPR over points with FPR ≤ target. */
function sklearnTarAtFar(genuine: number[], impostor: number[], target: number): number {
  const ts = [Infinity, ...new Set([...genuine, ...impostor])];
  let best = 0;
  for (const t of ts) {
    const fpr = impostor.filter((s) => s >= t).length / impostor.length;
    const tpr = genuine.filter((s) => s >= t).length / genuine.length;
    if (fpr <= target) best = Math.max(best, tpr);
  }
  return best;
}

test('TAR@FAR: a genuine score between impostors is a threshold too (issue 13 item 12)', () => {
  // roc_curve([1,1,0,0], [.5,.95,.2,.9]): (fpr, tpr) = (0,0) (0,.5) (.5,.5) (.5,1) (1,1) → TAR 1 at FAR .5
  const [r] = tarAtFar([0.5, 0.95], [0.2, 0.9], [0.5]);
  assert.deepEqual([r!.threshold, r!.far, r!.tar], [0.5, 0.5, 1]);
  // many genuine scores just below the blocking impostor: they are accepted at no extra FAR
  const [s] = tarAtFar([0.1, 0.81, 0.82, 0.83, 0.95], [0.0, 0.8, 0.9, 0.99], [0.5]);
  assert.deepEqual([s!.threshold, s!.far, s!.tar], [0.81, 0.5, 0.8]);
  const rand = mulberry32(11);
  for (let trial = 0; trial < 40; trial++) {
    // coarse scores (two decimals) so ties between and within the two sets are common
    const q = (x: number) => Math.round(x * 100) / 100;
    const g = Array.from({ length: 5 + trial }, () => q(0.6 + 0.3 * gaussian(rand)));
    const im = Array.from({ length: 50 + 7 * trial }, () => q(0.3 * gaussian(rand)));
    const targets = [1e-3, 1e-2, 0.05, 0.1, 0.5];
    tarAtFar(g, im, targets).forEach((r, i) => {
      assert.equal(r.tar, sklearnTarAtFar(g, im, targets[i]!), `trial ${trial} FAR ${targets[i]}`);
      assert.ok(r.far <= targets[i]!);
    });
  }
});

test('TAR@FAR: no genuine or no impostor scores gives NaN, not a RangeError', () => {
  for (const [g, im] of [[[], [0.1]], [[0.9], []], [[], []]] as const) {
    const [r] = tarAtFar(g, im, [0.01]);
    assert.deepEqual(r, { targetFar: 0.01, threshold: NaN, far: NaN, tar: NaN });
  }
});

test('identification sweep: FPIR/FNIR/misidentification at each threshold, FNIR@FPIR', () => {
  const probes: IdentificationProbe[] = [
    { known: true, truth: 'a', predicted: 'a', score: 0.9 },
    { known: true, truth: 'b', predicted: 'b', score: 0.6 },
    { known: true, truth: 'c', predicted: 'a', score: 0.85 }, // misidentified, confidently
    { known: true, truth: 'd', predicted: 'd', score: 0.3 },
    { known: false, truth: null, predicted: 'b', score: 0.7 },
    { known: false, truth: null, predicted: 'c', score: 0.2 },
  ];
  const s = identificationSweep(probes);
  assert.deepEqual(s.thresholds, [0.2, 0.3, 0.6, 0.7, 0.85, 0.9, Infinity]);
  assert.deepEqual(s.fpir, [1, 0.5, 0.5, 0.5, 0, 0, 0]);
  assert.deepEqual(s.fnir, [0.25, 0.25, 0.5, 0.75, 0.75, 0.75, 1]);
  assert.deepEqual(s.misidentification, [0.25, 0.25, 0.25, 0.25, 0.25, 0, 0]);
  assert.deepEqual(fnirAtFpir(s, 0), { threshold: 0.85, fnir: 0.75, fpir: 0 });
  assert.deepEqual(fnirAtFpir(s, 0.5), { threshold: 0.3, fnir: 0.25, fpir: 0.5 });
  const fixed = identificationSweep(probes, [0.8]);
  assert.deepEqual([fixed.fpir[0], fixed.fnir[0]], [0, 0.75]);
});

test('CMC: non-decreasing, rank 1 = top-1 accuracy, reaches 1 at the last rank', () => {
  const rand = mulberry32(3);
  const classes = 10;
  const scores = Array.from({ length: 200 }, () => Float32Array.from({ length: classes }, rand));
  const truth = scores.map((_, i) => i % classes);
  for (let i = 0; i < scores.length; i += 3) scores[i]![truth[i]!]! += 0.5; // make some easy
  const curve = cmc(scores, truth);
  assert.equal(curve.length, classes);
  for (let k = 1; k < curve.length; k++) assert.ok(curve[k]! >= curve[k - 1]!);
  assert.equal(curve[0], accuracy(truth, scores.map(argmax)));
  assert.equal(curve.at(-1), 1);
  assert.deepEqual(cmc(scores, truth, 3), curve.slice(0, 3));
});
