/**
 * False accepts by lookalike distance, the enrolment threshold and the deployment sweep
 * (lib/eval/lookalike.ts, enrolment-threshold.ts, deployment-sweep.ts) on hand-computed cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentSweep, inPaperTable, type GroupedFrame } from '../lib/eval/deployment-sweep.ts';
import { deploymentReport } from '../lib/eval/deployment.ts';
import { enrolmentThreshold, heldOutAcceptance } from '../lib/eval/enrolment-threshold.ts';
import { falseAcceptsByGroup, groupOrder, unknownGroup } from '../lib/eval/lookalike.ts';
import { wilson } from '../lib/eval/stats.ts';
import { mulberry32 } from '../lib/util/rng.ts';

test('unknown groups: d<k> by lookalike distance, lookalike without one, stranger otherwise; read in order', () => {
  assert.equal(unknownGroup({}), 'stranger');
  assert.equal(unknownGroup({ lookalikeOf: 'p03', lookalikeDistance: 2 }), 'd2');
  assert.equal(unknownGroup({ lookalikeOf: 'p03' }), 'lookalike');
  assert.deepEqual(groupOrder(['stranger', 'd10', 'd2', 'lookalike', 'd1', 'd2']), ['d1', 'd2', 'd10', 'lookalike', 'stranger']);
});

test('falseAcceptsByGroup: rate, Wilson interval and accepts as the twin, per group', () => {
  const r = falseAcceptsByGroup([
    { group: 'stranger', accepted: false }, { group: 'd1', accepted: true, claimed: 'p03', lookalikeOf: 'p03' },
    { group: 'stranger', accepted: true, claimed: 'p01' }, { group: 'd1', accepted: true, claimed: 'p05', lookalikeOf: 'p03' },
    { group: 'stranger', accepted: false }, { group: 'd1', accepted: false, lookalikeOf: 'p03' }, { group: 'stranger', accepted: false },
  ]);
  assert.deepEqual(r.map((g) => [g.group, g.n, g.accepted, g.rate, g.asTwin]), [['d1', 3, 2, 2 / 3, 1], ['stranger', 4, 1, 0.25, 0]]);
  assert.deepEqual(r[0]!.wilson95, wilson(2, 3));
  assert.deepEqual(falseAcceptsByGroup([]), []);
});

test('enrolmentThreshold: the highest threshold keeping ≥ 95 % of correctly named held-out photos; wrong names ignored', () => {
  const photos = Array.from({ length: 20 }, (_, i) => ({ correct: true, confidence: (i + 1) / 20 }));
  photos.push({ correct: false, confidence: 0.99 }, { correct: false, confidence: 0.01 });
  const t = enrolmentThreshold(photos);
  assert.equal(t.threshold, 0.1, '⌊0.05 · 20⌋ = 1: the second smallest of the 20 correct confidences');
  assert.deepEqual([t.photos, t.correct, t.acceptedCorrect], [22, 20, 19 / 22]);
  assert.equal(enrolmentThreshold(photos.slice(0, 10)).threshold, 0.05, '10 photos: ⌊0.5⌋ = 0, every correct photo kept');
  assert.ok(Number.isNaN(enrolmentThreshold([{ correct: false, confidence: 0.9 }]).threshold));
  assert.throws(() => enrolmentThreshold(photos, 1), /rejection must be in \[0, 1\)/);
  assert.equal(heldOutAcceptance(photos, 0.5), 11 / 22);

  const rng = mulberry32(7);
  for (let trial = 0; trial < 200; trial++) {
    const set = Array.from({ length: 1 + Math.floor(rng() * 60) }, () => ({ correct: rng() < 0.8, confidence: Math.round(rng() * 20) / 20 }));
    const r = 0.05 + 0.2 * rng();
    const { threshold, correct } = enrolmentThreshold(set, r);
    if (!correct) continue;
    const conf = set.filter((p) => p.correct).map((p) => p.confidence);
    const rejected = (t: number) => conf.filter((c) => c < t).length / conf.length;
    assert.ok(rejected(threshold) <= r, 'keeps ≥ 1 − r');
    const higher = conf.filter((c) => c > threshold);
    if (higher.length) assert.ok(rejected(Math.min(...higher)) > r, 'and is the highest threshold that does');
  }
});

const frame = (subject: string, known: boolean, predicted: string, confidence: number, group?: string): GroupedFrame =>
  ({ subject, known, trueIdentity: known ? subject : null, predicted, confidence, ...(group ? { group } : {}) });

test('deploymentSweep: Table I numbers on enrolled + strangers and FAR per group, at every threshold where they change', () => {
  const frames = [
    frame('e1', true, 'e1', 0.9), frame('e2', true, 'e1', 0.6), frame('s', false, 'e1', 0.7, 'stranger'),
    frame('l1', false, 'e2', 0.95, 'd1'), frame('l2', false, 'e1', 0.3, 'd1'),
  ];
  const s = deploymentSweep(frames);
  // above 0.6 e2 is rejected instead of misidentified, an FP either way: (0.3, 0.7] is one point
  assert.deepEqual(s.thresholds, [0.3, 0.7, 0.9, 0.95, Infinity]);
  assert.deepEqual(s.fpr, [0.5, 0.5, 0.5, 1, 1]);
  assert.deepEqual(s.fnr, [1, 1, 0, 0, 0]);
  assert.deepEqual(s.accuracy, [1 / 3, 1 / 3, 2 / 3, 1 / 3, 1 / 3]);
  assert.deepEqual(s.far, { d1: [1, 0.5, 0.5, 0.5, 0], stranger: [1, 1, 0, 0, 0] });
  assert.deepEqual(s.subjects, { enrolled: 2, unknown: { d1: 2, stranger: 1 } });
});

test('deploymentSweep agrees with deploymentReport at every threshold (majority and mean-prob, 5 frames a subject)', () => {
  const rng = mulberry32(3);
  const ids = ['a', 'b', 'c'];
  const frames: GroupedFrame[] = [];
  const subjects = [...ids.map((id) => [id, true, undefined] as const), ['s1', false, 'stranger'] as const, ['s2', false, 'stranger'] as const,
    ['x1', false, 'd1'] as const, ['x2', false, 'd2'] as const, ['x3', false, 'd2'] as const];
  for (const [subject, known, group] of subjects) {
    for (let k = 0; k < 5; k++) {
      const predicted = ids[Math.floor(rng() * 3)]!;
      const confidence = Math.round(rng() * 100) / 100;
      const rest = ids.filter((i) => i !== predicted);
      frames.push({ ...frame(subject, known, predicted, confidence, group), scores: { [predicted]: confidence, [rest[0]!]: (1 - confidence) / 2, [rest[1]!]: (1 - confidence) / 2 } });
    }
  }
  for (const aggregation of ['majority', 'mean-prob'] as const) {
    const s = deploymentSweep(frames, { aggregation });
    for (let k = 0; k <= 101; k++) {
      const t = k / 100;
      const i = s.thresholds.findIndex((x) => x >= t); // the point whose (previous, own] holds t
      const ref = deploymentReport(frames.filter(inPaperTable), { threshold: t, aggregation });
      assert.deepEqual([s.accuracy[i], s.fpr[i], s.fnr[i]], [ref.paper.accuracy, ref.paper.fpr, ref.paper.fnr], `${aggregation} at ${t}`);
      const far = (g: string) => {
        const mine = frames.filter((f) => f.group === g);
        const decided = deploymentReport(mine, { threshold: t, aggregation }).decisions;
        return decided.filter((d) => d.outcome === 'accepted').length / decided.length;
      };
      for (const g of ['d1', 'd2', 'stranger']) assert.equal(s.far[g]![i], far(g), `${aggregation} ${g} at ${t}`);
    }
  }
});
