/**
 * `clipface run` as a user meets it: config validation, the trainer's parity with the golden
 * step, determinism (same config + seed → identical metrics.json), and kill-and-resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { ClipModel, l2normalize } from '../lib/clip/model.ts';
import { finetuneTextTower } from '../lib/train/finetune.ts';
import { applyOverrides, resolveConfig } from '../lib/experiment/config.ts';
import { runMetricsProblems } from '../lib/report/read-metrics.ts';
import { UserError } from '../lib/util/errors.ts';
import { golden, goldenDir, repoRoot, skipWithout } from './helpers/golden.ts';

await initTf({ quiet: true });

test('ExperimentConfig: defaults from the schema, unknown keys rejected, --set overrides', () => {
  const cfg = resolveConfig({ name: 'x', dataset: { path: 'd' } }, 'x.json');
  assert.equal(cfg.training.lr, 5e-6);
  assert.equal(cfg.training.weightDecay, 1e-3);
  assert.equal(cfg.training.batchSize, 16);
  assert.equal(cfg.training.epochs, 1);
  assert.equal(cfg.evaluation.threshold, 0.8);
  assert.equal(cfg.prompt.template, 'This is the image of a person named {name}');
  assert.equal(cfg.dataset.split.trainFraction, 0.8);
  assert.throws(() => resolveConfig({ name: 'x', dataset: { path: 'd' }, training: { epoch: 2 } }, 'x.json'),
    (e: unknown) => e instanceof UserError && /x\.json: invalid experiment config: training\.epoch: unknown key/.test(e.message));
  assert.throws(() => resolveConfig({ name: 'x', dataset: { path: 'd' }, prompt: { template: 'no name slot' } }, 'x.json'), /prompt\.template/);
  const o = resolveConfig(applyOverrides({ name: 'x', dataset: { path: 'd' } }, ['training.epochs=3', 'prompt.template={name}', 'evaluation.aggregation=mean-prob']), 'x');
  assert.equal(o.training.epochs, 3);
  assert.equal(o.prompt.template, '{name}');
  assert.equal(o.evaluation.aggregation, 'mean-prob');
  assert.throws(() => applyOverrides({}, ['training.epochs']), /expected key\.path=value/);
});

test('the finetune loop reproduces the golden train_step (loss and parameters after one AdamW step)', { skip: skipWithout(join(goldenDir(), 'clip-rn-tiny', 'model.fp32.safetensors')) }, async () => {
  const g = golden('clip-rn-tiny');
  const dir = join(goldenDir(), 'clip-rn-tiny');
  const m = ClipModel.load(join(dir, 'config.json'), join(dir, 'model.fp32.safetensors'));
  const px = new Float32Array(4 * 3 * 224 * 224);
  g.images.forEach((im: any, i: number) => px.set(im.pixel_values.data, i * 3 * 224 * 224));
  const feats = tf.tidy(() => l2normalize(m.encodeImage(px, 4)));
  const classes = g.prompts.slice(0, 3).map((p: any) => Int32Array.from(p.tokens));
  let saved: any;
  const r = await finetuneTextTower(m, feats.dataSync() as Float32Array, Int32Array.from(g.train_step.labels), classes, {
    epochs: 1, batchSize: 4, schedule: { kind: 'constant', lr: 1e-3 }, weightDecay: 0.01, betas: [0.9, 0.999], eps: 1e-8, seed: 0,
  }, { onCheckpoint: (s) => { saved = s; } });
  assert.ok(Math.abs(r.log[0]!.loss - g.train_step.loss) / g.train_step.loss <= 1e-4, `loss ${r.log[0]!.loss}`);
  const after = g.train_step.params_after_step1;
  const got = saved.text.get('text_projection').data.slice(0, 8);
  after.text_projection_row0_first8.forEach((v: number, i: number) => assert.ok(Math.abs(v - got[i]) <= 1e-6, `text_projection[0,${i}]`));
  const ln = saved.text.get('ln_final.weight').data.slice(0, 8);
  after.ln_final_weight_first8.forEach((v: number, i: number) => assert.ok(Math.abs(v - ln[i]) <= 1e-6, `ln_final[${i}]`));
  feats.dispose();
  m.dispose();
});

// ---------------------------------------------------------------- end to end, small

const work = mkdtempSync(join(tmpdir(), 'clipface-run-'));
function experiment(extra: Record<string, unknown> = {}): string {
  const file = join(work, `exp-${Object.keys(extra).length}.json`);
  writeFileSync(file, JSON.stringify({
    name: 'small', seed: 3,
    dataset: { path: join(work, 'data'), synth: { seed: 2, identities: 3, unknown: 1, perIdentity: 10, size: 96 } },
    preprocess: { detector: 'none', cacheDir: join(work, 'cache') },
    model: { random: true, randomInit: { arch: 'tiny-rn' } },
    training: { epochs: 3, batchSize: 4, lr: 1e-3, checkpointEvery: 2 },
    evaluation: { bootstrap: 200 },
    output: { resultsDir: join(work, 'results') },
    ...extra,
  }));
  return file;
}

function clipface(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'lib/cli/main.ts'), ...args], {
    cwd: repoRoot, encoding: 'utf8', env: { ...process.env, CLIPFACE_QUIET: '1', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, dir: r.stdout.trim().split('\n').pop() ?? '' };
}

const metricsOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));

test('clipface run writes the results folder; the same config and seed give identical metrics', () => {
  const file = experiment();
  const a = clipface(['run', file, '--quiet']);
  assert.equal(a.code, 0, a.stderr);
  for (const f of ['config.json', 'env.json', 'metrics.json', 'predictions.csv', 'train-log.csv', 'report.md', 'report.html', 'checkpoint/text.safetensors', 'checkpoint/state.json']) {
    assert.ok(existsSync(join(a.dir, f)), `${f} in ${a.dir}`);
  }
  const m = metricsOf(a.dir);
  assert.deepEqual(runMetricsProblems(m), [], 'metrics.json matches data-spec/run-metrics.schema.json');
  assert.equal(m.stamp, 'random weights: pipeline check, not a result');
  assert.equal(m.train.losses.length, 3 * Math.ceil((3 * 8) / 4), 'one loss per step (3 epochs × 6 batches)');
  assert.equal(typeof m.closedSet.accuracy, 'number');
  for (const k of ['tp', 'fn', 'fp', 'tn', 'accuracy', 'fpr', 'fnr']) assert.equal(typeof m.deployment[k], 'number', `deployment.${k}`);
  assert.equal(m.deployment.tp + m.deployment.fn + m.deployment.fp + m.deployment.tn, 4, 'every deployment subject counted once');
  assert.equal(typeof m.deployment.standard.fpir, 'number');
  const csv = readFileSync(join(a.dir, 'predictions.csv'), 'utf8').split('\n');
  assert.equal(csv[0], 'kind,path,subject,known,truth,prediction,confidence,accepted');

  const b = clipface(['run', file, '--quiet']);
  assert.equal(b.code, 0, b.stderr);
  assert.notEqual(b.dir, a.dir, 'a finished run is never overwritten');
  assert.deepEqual(metricsOf(b.dir), m);
});

test('a run stopped mid-training resumes and ends with the same metrics as an uninterrupted one', () => {
  const file = experiment({ description: 'resume' });
  const whole = clipface(['run', file, '--quiet']);
  assert.equal(whole.code, 0, whole.stderr);
  const cut = clipface(['run', file, '--quiet'], { CLIPFACE_STOP_AFTER_STEP: '5' });
  assert.equal(cut.code, 130, cut.stderr);
  assert.match(cut.stderr, /interrupted; .* resumes with: clipface run .* --resume /);
  const resumed = clipface(['run', file, '--quiet', '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(metricsOf(resumed.dir), metricsOf(whole.dir));
});

test('run: bad experiment files fail with one line and leave no results folder', () => {
  const bad = join(work, 'bad.json');
  writeFileSync(bad, JSON.stringify({ name: 'bad', dataset: { path: join(work, 'nowhere') }, output: { resultsDir: join(work, 'bad-results') } }));
  const r = clipface(['run', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim().split('\n').pop()!, /^clipface: dataset\.path: .*nowhere does not exist/);
  assert.ok(!existsSync(join(work, 'bad-results')) || readdirSync(join(work, 'bad-results')).length === 0);
  writeFileSync(bad, '{"name": "bad", "dataset": {"path": "x"}, "trainig": {}}');
  assert.match(clipface(['run', bad]).stderr, /bad\.json: invalid experiment config: trainig: unknown key/);
  assert.match(clipface(['run', join(work, 'missing.json')]).stderr, /missing\.json: file not found/);
});

test('experiments/demo.json (the README main job): training loss falls and closed-set accuracy ≥ 3× chance', () => {
  const r = clipface(['run', join(repoRoot, 'experiments/demo.json'), '--quiet',
    '--set', `dataset.path=${join(work, 'demo')}`, '--set', `preprocess.cacheDir=${join(work, 'demo-cache')}`, '--set', `output.resultsDir=${join(work, 'demo-results')}`]);
  assert.equal(r.code, 0, r.stderr);
  const m = metricsOf(r.dir);
  const losses: number[] = m.train.losses;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(losses.slice(-15)) < mean(losses.slice(0, 15)) - 0.3, `loss falls: ${mean(losses.slice(0, 15))} → ${mean(losses.slice(-15))}`);
  assert.ok(m.closedSet.accuracy >= 3 * m.closedSet.chance, `accuracy ${m.closedSet.accuracy} vs chance ${m.closedSet.chance}`);
  assert.equal(m.data.skipped.length, 0, 'ground-truth alignment keeps every image');
  assert.equal(m.deployment.tp + m.deployment.fn + m.deployment.fp + m.deployment.tn, 12, '10 enrolled + 2 unknown subjects');
});
