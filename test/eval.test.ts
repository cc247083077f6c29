/**
 * The paper's Table I, re-derived from counts, and the deployment protocol that produces those
 * counts from per-frame predictions (lib/eval/deployment.ts, lib/eval/closed-set.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy, balancedAccuracy, confusionMatrix, perClassReport, topKAccuracy, truthRank,
} from '../lib/eval/closed-set.ts';
import {
  decideSubject, deploymentReport, paperConfusion, paperRatesFromCounts, paperTreatedAs, UNRECOGNIZED,
  type Counts, type DeploymentFrame,
} from '../lib/eval/deployment.ts';

/** Table I of arXiv 2411.12319: deployment accuracy / FPR / FNR in %, and the counts behind them. */
const TABLE_I: { model: string; reported: [number, number, number]; counts: Counts }[] = [
  { model: 'VGG-Face (o)', reported: [8.33, 90, 100], counts: { tp: 0, fn: 2, fp: 9, tn: 1 } },
  { model: 'VGG-Face (c)', reported: [0, 100, 100], counts: { tp: 0, fn: 2, fp: 10, tn: 0 } },
  { model: 'ArcFace (o)', reported: [16.67, 90, 50], counts: { tp: 1, fn: 1, fp: 9, tn: 1 } },
  { model: 'ArcFace (c)', reported: [8.33, 90, 100], counts: { tp: 0, fn: 2, fp: 9, tn: 1 } },
  { model: 'CLIP RN-50', reported: [75, 20, 50], counts: { tp: 1, fn: 1, fp: 2, tn: 8 } },
];

const pct2 = (x: number) => Math.round(x * 10000) / 100; // fraction → % rounded to 2 decimals, as printed

for (const row of TABLE_I) {
  test(`Table I ${row.model}: counts reproduce ${row.reported.join(' / ')}`, () => {
    const r = paperRatesFromCounts(row.counts);
    assert.deepEqual([pct2(r.accuracy), pct2(r.fpr), pct2(r.fnr)], row.reported);
  });

  test(`Table I ${row.model}: the counts are the only ones with 10 negatives and 2 positives`, () => {
    const matches: Counts[] = [];
    for (let tp = 0; tp <= 2; tp++) {
      for (let fp = 0; fp <= 10; fp++) {
        const c = { tp, fn: 2 - tp, fp, tn: 10 - fp };
        const r = paperRatesFromCounts(c);
        if ([pct2(r.accuracy), pct2(r.fpr), pct2(r.fnr)].every((v, i) => v === row.reported[i])) matches.push(c);
      }
    }
    assert.deepEqual(matches, [row.counts]);
  });
}

test('paperRatesFromCounts: empty denominators give NaN, bad counts throw', () => {
  const r = paperRatesFromCounts({ tp: 0, fn: 0, fp: 3, tn: 1 });
  assert.ok(Number.isNaN(r.fnr));
  assert.equal(r.fpr, 0.75);
  assert.throws(() => paperRatesFromCounts({ tp: -1, fn: 0, fp: 0, tn: 0 }), RangeError);
});

// ---- synthetic deployment sessions: 5 frames per subject (the paper's 5 s in front of the camera)

const ENROLLED = Array.from({ length: 10 }, (_, i) => `person${i}`);

type Plan = 'identified' | 'misidentified' | 'rejected-enrolled' | 'rejected-unknown' | 'accepted';

/** Frames whose MAJORITY decision is the planned outcome, with noisy minority frames mixed in. */
function framesFor(subject: string, known: boolean, truth: string | null, plan: Plan): DeploymentFrame[] {
  const other = truth === 'person0' ? 'person1' : 'person0';
  const f = (predicted: string | null, confidence: number): DeploymentFrame =>
    ({ subject, known, trueIdentity: truth, predicted, confidence });
  switch (plan) {
    case 'identified': return [f(truth, 0.93), f(truth, 0.88), f(truth, 0.97), f(truth, 0.61), f(other, 0.85)];
    case 'misidentified': return [f(other, 0.9), f(other, 0.82), f(other, 0.95), f(truth, 0.91), f(truth, 0.5)];
    case 'rejected-enrolled': return [f(truth, 0.55), f(other, 0.42), f(null, 0), f(truth, 0.95), f(truth, 0.9)];
    case 'rejected-unknown': return [f('person3', 0.4), f('person4', 0.7), f('person3', 0.79), f('person3', 0.85), f(UNRECOGNIZED, 0)];
    case 'accepted': return [f('person2', 0.9), f('person2', 0.86), f('person2', 0.99), f('person5', 0.3), f('person2', 0.2)];
  }
}

/** A 12-subject session realising `counts`; `fpRejected` of the FPs are rejections, the rest misidentifications. */
function session(c: Counts, fpRejected: number): DeploymentFrame[] {
  assert.equal(c.fp + c.tn, 10);
  assert.equal(c.tp + c.fn, 2);
  const plans: Plan[] = [
    ...Array<Plan>(c.tn).fill('identified'),
    ...Array<Plan>(fpRejected).fill('rejected-enrolled'),
    ...Array<Plan>(c.fp - fpRejected).fill('misidentified'),
  ];
  const frames = plans.flatMap((p, i) => framesFor(`s${i}`, true, ENROLLED[i]!, p));
  const unknownPlans: Plan[] = [...Array<Plan>(c.tp).fill('rejected-unknown'), ...Array<Plan>(c.fn).fill('accepted')];
  unknownPlans.forEach((p, i) => frames.push(...framesFor(`u${i}`, false, null, p)));
  return frames;
}

for (const row of TABLE_I) {
  test(`deployment protocol: synthetic frames yield ${row.model}'s counts and numbers`, () => {
    for (const fpRejected of [0, Math.floor(row.counts.fp / 2), row.counts.fp]) {
      const rep = deploymentReport(session(row.counts, fpRejected));
      assert.deepEqual(rep.counts, row.counts);
      assert.deepEqual([pct2(rep.paper.accuracy), pct2(rep.paper.fpr), pct2(rep.paper.fnr)], row.reported);
      // the standard open-set rates are the paper's two rates under their other names
      assert.equal(rep.standard.fpir, rep.paper.fnr);
      assert.equal(rep.standard.fnir, rep.paper.fpr);
      assert.equal(rep.standard.rejectionRate, fpRejected / 10);
      assert.equal(rep.standard.misidentificationRate, (row.counts.fp - fpRejected) / 10);
    }
  });
}

test('confusion matrices: the paper 2×2 cells equal the counts; identity matrix sums to subjects', () => {
  const c = TABLE_I[4]!.counts;
  const rep = deploymentReport(session(c, 1));
  assert.deepEqual(rep.paperConfusion, paperConfusion(c));
  const cm = confusionMatrix(
    rep.decisions.map((d) => (d.known ? 'enrolled' : 'unknown')),
    rep.decisions.map(paperTreatedAs),
    ['unknown', 'enrolled'],
  );
  assert.deepEqual(cm.matrix, [[c.tp, c.fn], [c.fp, c.tn]]);
  const id = rep.identityConfusion;
  const total = id.matrix.flat().reduce((a, b) => a + b, 0);
  assert.equal(total, 12);
  const diag = id.labels.reduce((a, l, i) => a + (l === 'unknown' ? 0 : id.matrix[i]![i]!), 0);
  assert.equal(diag, c.tn); // enrolled subjects named correctly
  assert.equal(id.matrix[id.labels.indexOf('unknown')]![id.labels.indexOf(UNRECOGNIZED)], c.tp);
});

test('rejected enrolled subjects: FP by default, TN when lenient; reject-all is not a perfect system', () => {
  const rejectAll: DeploymentFrame[] = [
    ...ENROLLED.map((p) => ({ subject: p, known: true, trueIdentity: p, predicted: p, confidence: 0.3 })),
    { subject: 'u0', known: false, trueIdentity: null, predicted: 'person1', confidence: 0.2 },
    { subject: 'u1', known: false, trueIdentity: null, predicted: null, confidence: 0 },
  ];
  assert.deepEqual(deploymentReport(rejectAll).counts, { tp: 2, fn: 0, fp: 10, tn: 0 });
  const lenient = deploymentReport(rejectAll, { enrolledRejected: 'tn' });
  assert.deepEqual(lenient.counts, { tp: 2, fn: 0, fp: 0, tn: 10 });
  assert.deepEqual([lenient.paper.accuracy, lenient.paper.fpr, lenient.paper.fnr], [1, 0, 0]);
  assert.equal(lenient.standard.fnir, 1); // the standard measure is not fooled
});

test('threshold: confidence exactly at 0.8 is accepted, just below is unrecognized', () => {
  const one = (confidence: number) =>
    decideSubject([{ subject: 'a', known: true, trueIdentity: 'a', predicted: 'a', confidence }]);
  assert.equal(one(0.8).decision, 'a');
  assert.equal(one(0.7999).decision, UNRECOGNIZED);
  assert.equal(decideSubject([{ subject: 'a', known: true, trueIdentity: 'a', predicted: 'a', confidence: 0.85 }], { threshold: 0.9 }).outcome, 'rejected');
});

test('majority vs mean-prob aggregation, and majority tie-breaking', () => {
  const mk = (confs: number[], ids?: string[]) => confs.map((confidence, i) =>
    ({ subject: 'x', known: true, trueIdentity: 'a', predicted: ids?.[i] ?? 'a', confidence }));
  const confident = mk([0.85, 0.85, 0.85, 0.1, 0.1]);
  assert.equal(decideSubject(confident).outcome, 'identified');
  const mp = decideSubject(confident, { aggregation: 'mean-prob' });
  assert.equal(mp.outcome, 'rejected');
  assert.ok(Math.abs(mp.confidence - 0.55) < 1e-12);
  assert.equal(decideSubject(mk([0.95, 0.95, 0.95, 0.6, 0.6]), { aggregation: 'mean-prob' }).outcome, 'identified');
  // full score vectors: the mean over frames picks "b" even though "a" tops two frames
  const withScores: DeploymentFrame[] = [
    { subject: 'x', known: true, trueIdentity: 'a', predicted: 'a', confidence: 0.5, scores: { a: 0.5, b: 0.45 } },
    { subject: 'x', known: true, trueIdentity: 'a', predicted: 'a', confidence: 0.5, scores: { a: 0.5, b: 0.45 } },
    { subject: 'x', known: true, trueIdentity: 'a', predicted: 'b', confidence: 0.99, scores: { a: 0.01, b: 0.99 } },
  ];
  const d = decideSubject(withScores, { aggregation: 'mean-prob', threshold: 0.5 });
  assert.equal(d.decision, 'b');
  assert.equal(d.outcome, 'misidentified');
  // 2 unrecognized vs 2 "a" vs 1 "b": the tie goes to unrecognized
  assert.equal(decideSubject(mk([0.9, 0.9, 0.1, 0.1, 0.9], ['a', 'a', 'a', 'a', 'b'])).decision, UNRECOGNIZED);
  // 2 "a" vs 2 "b": the larger summed confidence wins
  assert.equal(decideSubject(mk([0.9, 0.9, 0.95, 0.95], ['a', 'a', 'b', 'b'])).decision, 'b');
});

test('inconsistent subject rows are user errors', () => {
  assert.throws(() => decideSubject([
    { subject: 's', known: true, trueIdentity: 'a', predicted: 'a', confidence: 1 },
    { subject: 's', known: false, trueIdentity: null, predicted: 'a', confidence: 1 },
  ]), /frames disagree/);
  assert.throws(() => decideSubject([{ subject: 's', known: true, trueIdentity: null, predicted: 'a', confidence: 1 }]), /no true identity/);
});

test('closed set: accuracy, confusion matrix, per-class report, ranks, top-k', () => {
  const truth = ['a', 'a', 'a', 'b', 'b', 'c'];
  const pred = ['a', 'a', 'b', 'b', 'unrecognized', 'c'];
  assert.equal(accuracy(truth, pred), 4 / 6);
  const cm = confusionMatrix(truth, pred, ['a', 'b', 'c']);
  assert.deepEqual(cm.labels, ['a', 'b', 'c', 'unrecognized']);
  assert.deepEqual(cm.matrix, [[2, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0]]);
  const rep = perClassReport(cm);
  assert.deepEqual(rep.map((r) => [r.label, r.support, r.recall, r.precision]).slice(0, 3), [
    ['a', 3, 2 / 3, 1], ['b', 2, 0.5, 0.5], ['c', 1, 1, 1],
  ]);
  assert.ok(Math.abs(balancedAccuracy(cm) - (2 / 3 + 0.5 + 1) / 3) < 1e-12);
  assert.equal(truthRank([0.1, 0.7, 0.2], 2), 2);
  assert.equal(truthRank([0.5, 0.5, 0.2], 1), 2); // tie: lower index ranks first, like argmax
  assert.equal(truthRank([0.5, 0.5, 0.2], 0), 1);
  const scores = [[0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]];
  assert.equal(topKAccuracy(scores, [0, 1, 2], 1), 1 / 3);
  assert.equal(topKAccuracy(scores, [0, 1, 2], 2), 1);
  assert.ok(Number.isNaN(accuracy([], [])));
});
