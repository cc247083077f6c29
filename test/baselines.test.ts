/**
 * The "(o)" and "(c)" heads of Table I's baselines on synthetic embeddings whose answer is known:
 * separable identity clusters are classified perfectly by both; an unknown cluster is rejected by a
 * calibrated (o) threshold; the similarity → confidence map puts the paper's 0.8 exactly on the
 * threshold; Human's documented similarity is its match.ts formula.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrateThreshold, enrol, scoreGallery, similarity, similarityToConfidence } from '../lib/baselines/gallery.ts';
import { normalizeRows } from '../lib/util/rows.ts';
import { headLogits, softmaxRows, trainSoftmaxHead } from '../lib/baselines/softmax-head.ts';
import { argmax } from '../lib/eval/closed-set.ts';
import { gauss, streamRng } from '../lib/util/rng.ts';

const DIM = 16, C = 4;

/** `perClass` points around class centres (unit axes e_c; the unknown cluster around e_C) with noise sd. */
function clusters(perClass: number, seed: number, sd = 0.08, classes = C) {
  const rng = streamRng(seed, 'clusters');
  const x: number[] = [], y: number[] = [];
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < perClass; i++) {
      for (let j = 0; j < DIM; j++) x.push((j === c ? 1 : 0) + sd * gauss(rng));
      y.push(c);
    }
  }
  return { x: normalizeRows(Float32Array.from(x), DIM), y: Int32Array.from(y) };
}

test('(o) gallery: mean template and nearest neighbour classify separable identities perfectly', () => {
  const train = clusters(8, 1), probe = clusters(5, 2);
  for (const mode of ['mean', 'nn'] as const) {
    const g = enrol('cosine', mode, train.x, train.y, C);
    const s = scoreGallery(g, probe.x);
    assert.equal(s.filter((r, i) => argmax(r) === probe.y[i]).length, probe.y.length, mode);
    assert.ok(s.every((r) => r.every((v) => v <= 1 + 1e-6 && v >= -1 - 1e-6)), 'cosines in [-1, 1]');
  }
  // the mean template is the normalised class mean
  const g = enrol('cosine', 'mean', train.x, train.y, C);
  const norms = Array.from({ length: C }, (_, c) => Math.hypot(...g.rows.subarray(c * DIM, (c + 1) * DIM)));
  norms.forEach((n) => assert.ok(Math.abs(n - 1) < 1e-6));
});

test('(o) calibrated threshold: training-only leave-one-out accepts mated probes and rejects an unknown identity', () => {
  const train = clusters(8, 3);
  for (const mode of ['mean', 'nn'] as const) {
    const cal = calibrateThreshold(train.x, train.y, C, mode);
    assert.ok(cal, mode);
    assert.equal(cal.mated, train.y.length);
    assert.equal(cal.fnir + cal.fpir, 0, `${mode}: separable clusters leave no training error`);
    const g = enrol('cosine', mode, train.x, train.y, C);
    const unknown = clusters(6, 4, 0.08, C + 1);
    const rows = Array.from(unknown.y).map((c, i) => ({ c, top: Math.max(...scoreGallery(g, unknown.x.subarray(i * DIM, (i + 1) * DIM))[0]!) }));
    for (const r of rows) assert.equal(r.top >= cal.threshold, r.c < C, `${mode}: class ${r.c} top ${r.top} vs threshold ${cal.threshold}`);
  }
  // a single image per identity gives no leave-one-out genuine score
  assert.equal(calibrateThreshold(clusters(1, 5).x, clusters(1, 5).y, C, 'mean'), null);
});

test('similarity → confidence: exactly T at the threshold, strictly increasing, so "conf ≥ 0.8" ⇔ "s ≥ t"', () => {
  for (const t of [-0.6, 0.3, 0.97]) {
    assert.ok(Math.abs(similarityToConfidence(t, t, 0.8) - 0.8) < 1e-12);
    const xs = [-2, -1, t - 0.01, t, t + 0.01, 1, 2];
    const cs = xs.map((s) => similarityToConfidence(s, t, 0.8));
    for (let i = 1; i < cs.length; i++) assert.ok(cs[i]! > cs[i - 1]!);
    xs.forEach((s, i) => assert.equal(cs[i]! >= 0.8, s >= t));
  }
});

test('documented metrics: euclidean is −distance; human is match.ts similarity (order 2, multiplier 20, range 0.2–0.8) before its clamp', () => {
  const a = Float32Array.from([0.1, 0.2, 0.3]), b = Float32Array.from([0.0, 0.5, 0.1]);
  const sq = 0.01 + 0.09 + 0.04;
  assert.ok(Math.abs(similarity('euclidean', a, 0, b, 0, 3) + Math.sqrt(sq)) < 1e-6);
  // human: distance = 20·Σd², root = √distance, similarity = (1 − root/100 − 0.2)/(0.8 − 0.2)
  const human = (1 - Math.sqrt(20 * sq) / 100 - 0.2) / 0.6;
  assert.ok(Math.abs(similarity('human', a, 0, b, 0, 3) - human) < 1e-6);
  assert.ok(Math.abs(similarity('cosine', a, 0, b, 0, 3) - (0 + 0.1 + 0.03)) < 1e-6); // a plain dot product of unit rows
});

test('(c) softmax head (Adam, nn.Linear init): separable identities reach 100 %, deterministic per seed', () => {
  const train = clusters(8, 6), probe = clusters(5, 7);
  const o = { epochs: 100, lr: 1e-2, batchSize: 16, weightDecay: 0, seed: 0 };
  const { head, log } = trainSoftmaxHead(train.x, train.y, C, o);
  assert.equal(log.length, 100 * 2);
  assert.ok(log[log.length - 1]!.loss < log[0]!.loss / 4, `loss ${log[0]!.loss} → ${log[log.length - 1]!.loss}`);
  const p = softmaxRows(headLogits(head, probe.x));
  assert.equal(p.filter((r, i) => argmax(r) === probe.y[i]).length, probe.y.length);
  p.forEach((r) => assert.ok(Math.abs(r.reduce((s, v) => s + v, 0) - 1) < 1e-9));
  const again = trainSoftmaxHead(train.x, train.y, C, o);
  assert.deepEqual(Array.from(again.head.w), Array.from(head.w));
});
