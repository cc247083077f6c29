/**
 * evaluateThresholds (lib/experiment/evaluate-thresholds.ts): the paper's table keeps its subjects,
 * lookalikes are counted beside it by distance, and the enrolment threshold never looks at an
 * unknown person or a deployment frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentReport } from '../lib/eval/deployment.ts';
import { evaluateThresholds, isLookalikeImage, unknownGroupsOf } from '../lib/experiment/evaluate-thresholds.ts';
import type { ScoredImage } from '../lib/experiment/evaluate.ts';
import { thresholdsMarkdown, thresholdsSection } from '../lib/report/thresholds-section.ts';

const classes = ['a', 'b', 'c'];
const probs = (k: number, p: number) => classes.map((_, i) => (i === k ? p : (1 - p) / 2));
const img = (kind: ScoredImage['kind'], subject: string, top: number, p: number, i: number): ScoredImage => {
  const truth = classes.indexOf(subject);
  return { path: `${subject}/${kind}-${i}.jpg`, kind, subject, known: truth >= 0, truth, probs: probs(top, p), cosines: probs(top, p) };
};
const identities = [
  { id: 'a', role: 'known' }, { id: 'b', role: 'known' }, { id: 'c', role: 'known' },
  { id: 's', role: 'unknown' }, { id: 'x1', role: 'unknown', lookalikeOf: 'a', lookalikeDistance: 1 },
  { id: 'x2', role: 'unknown', lookalikeOf: 'b', lookalikeDistance: 2 },
];
const unknownGroups = unknownGroupsOf(identities);

function images(): ScoredImage[] {
  const out: ScoredImage[] = [];
  // held-out photos: 20 named correctly with confidences 0.41 … 0.98, and one wrong at 0.99
  for (let i = 0; i < 20; i++) out.push(img('test', classes[i % 3]!, i % 3, 0.41 + 0.03 * i, i));
  out.push(img('test', 'a', 1, 0.99, 20));
  // deployment: a, b identified confidently, c weakly; the stranger at 0.7; x1 taken for its twin at 0.9, x2 for c at 0.5
  const dep: [string, number, number][] = [['a', 0, 0.95], ['b', 1, 0.9], ['c', 2, 0.6], ['s', 0, 0.7], ['x1', 0, 0.9], ['x2', 2, 0.5]];
  for (const [subject, top, p] of dep) for (let f = 0; f < 3; f++) out.push(img('deployment', subject, top, p, f));
  // photos of unknown people
  for (const [subject, top, p] of [['s', 1, 0.85], ['x1', 0, 0.95], ['x1', 0, 0.3], ['x2', 1, 0.6]] as const) out.push(img('probe', subject, top, p, out.length));
  return out;
}
const opts = { classes, threshold: 0.8, aggregation: 'majority' as const, enrolledRejected: 'fp' as const, unknownGroups };

test('unknownGroupsOf / isLookalikeImage: strangers and lookalikes by distance', () => {
  assert.deepEqual(unknownGroupsOf(identities), { s: { group: 'stranger' }, x1: { group: 'd1', lookalikeOf: 'a' }, x2: { group: 'd2', lookalikeOf: 'b' } });
  assert.equal(isLookalikeImage({ known: false, subject: 'x1' }, unknownGroups), true);
  assert.equal(isLookalikeImage({ known: false, subject: 's' }, unknownGroups), false);
  assert.equal(isLookalikeImage({ known: true, subject: 'a' }, unknownGroups), false);
});

test('operating points: the paper table on enrolled + strangers only; the enrolment threshold from held-out photos', () => {
  const ims = images();
  const { thresholds, falseAccepts } = evaluateThresholds(ims, opts);
  assert.equal(thresholds.enrolment.threshold, 0.44, '⌊0.05 · 20⌋ = 1: the second lowest correct confidence (0.41, 0.44, …)');
  assert.deepEqual([thresholds.enrolment.heldOutPhotos, thresholds.enrolment.correct], [21, 20]);
  const [paper, enrol] = thresholds.points;
  assert.equal(paper!.name, 'paper');
  assert.equal(thresholds.points.length, 2, 'no "configured" point when evaluation.threshold is the paper\'s');
  // at 0.8: a, b identified (TN), c rejected (FP), the stranger rejected (TP): x1 accepted is NOT in this table
  assert.deepEqual(paper!.deployment, { tp: 1, fn: 0, fp: 1, tn: 2, accuracy: 0.75, fpr: 0.333333, fnr: 0 });
  const ref = deploymentReport(ims.filter((im) => im.kind === 'deployment' && !['x1', 'x2'].includes(im.subject)).map((im) => ({
    subject: im.subject, known: im.known, trueIdentity: im.known ? im.subject : null, predicted: classes[im.probs.indexOf(Math.max(...im.probs))]!, confidence: Math.max(...im.probs),
  })), { threshold: 0.8 });
  assert.deepEqual([paper!.deployment!.tp, paper!.deployment!.fn, paper!.deployment!.fp, paper!.deployment!.tn], [ref.counts.tp, ref.counts.fn, ref.counts.fp, ref.counts.tn]);
  // at 0.44 everyone is accepted: c identified, the stranger let in
  assert.deepEqual(enrol!.deployment, { tp: 0, fn: 1, fp: 0, tn: 3, accuracy: 0.75, fpr: 0, fnr: 1 });
  assert.equal(enrol!.heldOutAcceptance, 0.904762, '19 of 21 held-out photos correct and ≥ 0.44');

  assert.deepEqual(falseAccepts!.groups, ['d1', 'd2', 'stranger']);
  const at = (name: string) => falseAccepts!.points.find((p) => p.name === name)!;
  assert.deepEqual(at('paper').subjects.map((g) => [g.group, g.n, g.accepted, g.asTwin]), [['d1', 1, 1, 1], ['d2', 1, 0, 0], ['stranger', 1, 0, 0]]);
  assert.deepEqual(at('enrolment').subjects.map((g) => [g.group, g.accepted]), [['d1', 1], ['d2', 1], ['stranger', 1]]);
  // images: x1 = 3 frames at 0.9 + photos at 0.95 and 0.3; x2 = 3 frames at 0.5 + a photo at 0.6; s = 3 at 0.7 + one at 0.85
  assert.deepEqual(at('paper').images.map((g) => [g.group, g.n, g.accepted]), [['d1', 5, 4], ['d2', 4, 0], ['stranger', 4, 1]]);
  assert.deepEqual(falseAccepts!.lookalikeDecisions.map((d) => [d.subject, d.group, d.lookalikeOf, d.decision, d.outcome]),
    [['x1', 'd1', 'a', 'a', 'accepted'], ['x2', 'd2', 'b', 'unrecognized', 'rejected']]);

  const sw = thresholds.sweep!;
  assert.deepEqual(sw.subjects, { enrolled: 3, unknown: { d1: 1, d2: 1, stranger: 1 } });
  const i = sw.thresholds.findIndex((t) => t !== null && t >= 0.8);
  assert.deepEqual([sw.fpr[i], sw.fnr[i]], [paper!.deployment!.fpr, paper!.deployment!.fnr], 'the sweep passes through the paper point');
  assert.equal(sw.thresholds.at(-1), null, '+∞ (nobody accepted) is written as null');
});

test('no peeking: the enrolment threshold ignores unknown people and deployment frames, and follows the held-out photos', () => {
  const base = evaluateThresholds(images(), opts).thresholds.enrolment.threshold;
  const shuffledUnknowns = images().map((im) => (im.kind === 'test' ? im : { ...im, probs: probs(0, 0.34) }));
  assert.equal(evaluateThresholds(shuffledUnknowns, opts).thresholds.enrolment.threshold, base);
  const moved = images().map((im) => (im.kind === 'test' && im.path.endsWith('test-1.jpg') ? { ...im, probs: probs(1, 0.2) } : im));
  assert.notEqual(evaluateThresholds(moved, opts).thresholds.enrolment.threshold, base);
});

test('a configured threshold other than 0.8 is a third operating point', () => {
  const { thresholds, falseAccepts } = evaluateThresholds(images(), { ...opts, threshold: 0.65 });
  assert.deepEqual(thresholds.points.map((p) => [p.name, p.threshold]), [['paper', 0.8], ['enrolment', 0.44], ['configured', 0.65]]);
  assert.equal(falseAccepts!.points.find((p) => p.name === 'configured')!.subjects.find((g) => g.group === 'stranger')!.accepted, 1);
});

test('report parts: the markdown tables and the html section (bars, deployment DET, FAR sweep) carry the numbers', () => {
  const m = evaluateThresholds(images(), opts);
  const md = thresholdsMarkdown(m).join('\n');
  assert.match(md, /\| operating point \| lookalikes, 1 part differs \| lookalikes, 2 parts differ \| strangers \|/);
  assert.match(md, /\| paper's T = 0\.8 \| 1\/1 = 100\.0 % \[[\d.]+ %–100\.0 %\] \| 0\/1 = 0\.0 % /);
  assert.match(md, /\| enrolment T = 0\.44 \| 90\.5 % \| 0 \| 1 \| 0 \| 3 \| 75\.0 % \| 0\.0 % \| 100\.0 % \|/);
  const figures: { name: string; csv: string }[] = [];
  const section = thresholdsSection(m, (name, _title, _figure, csv) => { figures.push({ name, csv }); return { figure: name }; });
  assert.deepEqual(figures.map((f) => f.name), ['false-accepts', 'deployment-det', 'far-sweep']);
  assert.match(figures[0]!.csv, /^point,threshold,unit,group,n,accepted,rate,lower95,upper95,asTwin\npaper,0\.8,subjects,d1,1,1,1,/);
  assert.ok(section.parts.some((p) => 'html' in p && p.html.includes('x1') && p.html.includes('unrecognized')), 'the lookalikes\' decisions');
  assert.deepEqual(thresholdsMarkdown({ falseAccepts: null, thresholds: null }), []);
});
