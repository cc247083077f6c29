/**
 * Every arm a run can use gives the false-accept breakdown and the operating points (issue 11):
 * they all score each image with a probability row whose top entry the deployment decision
 * thresholds, so the lookalike groups, the enrolment threshold and the sweep come from the same
 * evaluation. Tiny random-init CLIP and face-api's embedded descriptor on a tiny synthetic set
 * with lookalikes: a pipeline check, fast; the numbers themselves mean nothing here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExperiment } from '../lib/experiment/run.ts';
import { runMetricsProblems } from '../lib/report/read-metrics.ts';

const work = mkdtempSync(join(tmpdir(), 'clipface-arms-look-'));

test('all seven arms: lookalikes beside the paper table, FAR by distance, enrolment threshold and sweep in metrics.json and the reports', async () => {
  const file = join(work, 'exp.json');
  writeFileSync(file, JSON.stringify({
    name: 'arms-look', seed: 1,
    dataset: { path: join(work, 'data'), synth: { seed: 5, identities: 3, unknown: 1, perIdentity: 5, size: 64, lookalikes: { distances: [1, 2], perDistance: 1, photos: 1 } } },
    preprocess: { detector: 'none', cacheDir: join(work, 'cache') },
    model: { random: true, randomInit: { arch: 'tiny-rn' } },
    training: { epochs: 1, batchSize: 4, lr: 1e-3 }, evaluation: { bootstrap: 0 }, output: { resultsDir: join(work, 'results') },
  }));
  const arms = [
    ['method.kind=clip-text-finetune'], ['method.kind=clip-zero-shot'], ['method.kind=clip-linear-probe', 'method.head={"epochs": 2}'],
    ['method.kind=clip-tip-adapter'], ['method.kind=clip-coop', 'method.coop={"contextTokens": 2}', 'training.epochs=1'],
    ['method.kind=face-match', 'method.embedder=face-api'], ['method.kind=face-classifier', 'method.embedder=face-api', 'method.head={"epochs": 2}'],
  ];
  for (const sets of arms) {
    const dir = await runExperiment(file, { sets, quiet: true });
    const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    const arm = sets[0]!;
    assert.deepEqual(runMetricsProblems(m), [], `${arm}: metrics.json matches the schema`);
    assert.equal(m.deployment.subjects, 4, `${arm}: the paper table keeps 3 enrolled + 1 stranger, not the lookalikes`);
    assert.equal(m.openSet.probes.nonMated, 5 + 5, `${arm}: open set on the stranger's photos and frames only`);
    assert.deepEqual(m.falseAccepts.groups, ['d1', 'd2', 'stranger'], arm);
    const paper = m.falseAccepts.points.find((p: { name: string }) => p.name === 'paper');
    assert.deepEqual(paper.subjects.map((g: { n: number }) => g.n), [1, 1, 1], `${arm}: one subject per group`);
    assert.deepEqual(paper.images.map((g: { n: number }) => g.n), [6, 6, 10], `${arm}: 1 photo + 5 frames per lookalike, 5 + 5 for the stranger`);
    assert.deepEqual(m.thresholds.points.map((p: { name: string }) => p.name), ['paper', 'enrolment'], arm);
    assert.equal(m.thresholds.enrolment.heldOutPhotos, m.closedSet.images, `${arm}: the enrolment threshold sees the held-out photos only`);
    const { tp, fn, fp, tn } = m.thresholds.points[0].deployment;
    assert.deepEqual([tp, fn, fp, tn], [m.deployment.tp, m.deployment.fn, m.deployment.fp, m.deployment.tn], `${arm}: the 0.8 point is the paper table`);
    assert.equal(m.thresholds.sweep.thresholds.at(-1), null, `${arm}: the sweep ends where nobody is accepted`);
    assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /## False accepts by lookalike distance/, arm);
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /False accepts by lookalike distance, and thresholds/, arm);
  }
});
