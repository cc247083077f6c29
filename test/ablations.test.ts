/**
 * The extra CLIP arms and ablation switches: Tip-Adapter's α/β limits (zero-shot, cache only), the
 * future-work losses, the name-confound control, versioned prompt sets, and CoOp training only its
 * context vectors (every other parameter of the text tower bit-identical), end to end on a tiny set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { loadClipConfig } from '../lib/clip/config.ts';
import { ClipModel } from '../lib/clip/model.ts';
import { randomClipStateDict } from '../lib/clip/random-init.ts';
import { EOT } from '../lib/clip/tokenizer.ts';
import { normalizeRows } from '../lib/util/rows.ts';
import { argmax } from '../lib/eval/closed-set.ts';
import { tipAdapterLogits } from '../lib/methods/clip-arms.ts';
import { coopTokens, trainCoopContext } from '../lib/methods/clip-coop.ts';
import { marginLoss } from '../lib/methods/clip-losses.ts';
import { classNames, classPrompts, neutralToken } from '../lib/methods/options.ts';
import { crossEntropy } from '../lib/train/text-step.ts';
import { loadPromptSet } from '../lib/grid/prompts.ts';
import { applyOverrides, resolveConfig } from '../lib/experiment/config.ts';
import { repoRoot } from '../lib/util/paths.ts';
import { runExperiment } from '../lib/experiment/run.ts';
import { runMetricsProblems } from '../lib/report/read-metrics.ts';
import { gauss, streamRng } from '../lib/util/rng.ts';

await initTf({ quiet: true });
const work = mkdtempSync(join(tmpdir(), 'clipface-ablations-'));
const unit = (n: number, dim: number, seed: number) => normalizeRows(Float32Array.from({ length: n * dim }, ((r) => () => gauss(r))(streamRng(seed, 'u'))), dim);

test('Tip-Adapter (arXiv 2111.03930): α = 0 is zero-shot CLIP; large α is the cache alone; β sharpens toward nearest neighbour', () => {
  const dim = 12, C = 3;
  const keys = unit(9, dim, 1), labels = Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2]), text = unit(C, dim, 2);
  // probes near keys 0, 4, 8, 1, 5, 6, 2 (so every probe has a clear nearest key)
  const noise = unit(7, dim, 3);
  const feats = normalizeRows(Float32Array.from({ length: 7 * dim }, (_, i) => keys[[0, 4, 8, 1, 5, 6, 2][Math.floor(i / dim)]! * dim + (i % dim)]! + 0.2 * noise[i]!), dim);
  const base = { feats, keys, labels, classes: C, text, dim, scale: 100, beta: 5.5 };
  const zs = tipAdapterLogits({ ...base, alpha: 0 });
  assert.deepEqual(zs.logits, zs.clip);
  const big = tipAdapterLogits({ ...base, alpha: 1e9 });
  big.logits.forEach((r, i) => assert.equal(argmax(r), argmax(big.cache[i]!)));
  // β → ∞: each class's cache score is dominated by its best key, so the argmax is the nearest key's class
  const sharp = tipAdapterLogits({ ...base, alpha: 1e9, beta: 500 });
  const near = Array.from({ length: 7 }, (_, i) => {
    let best = -2, cls = -1;
    for (let k = 0; k < 9; k++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += feats[i * dim + j]! * keys[k * dim + j]!;
      if (s > best) { best = s; cls = labels[k]!; }
    }
    return cls;
  });
  sharp.logits.forEach((r, i) => assert.equal(argmax(r), near[i]));
  // β = 0: every key weighs 1, the cache logits are the class counts
  tipAdapterLogits({ ...base, alpha: 1, beta: 0 }).cache.forEach((r) => assert.deepEqual(r, [3, 3, 3]));
});

test('training.loss: ArcFace with m = 0 is CE at scale s; triplet = mean max(0, 2·c_neg − 2·c_pos + α)', () => {
  const cos = tf.tensor2d([[0.9, 0.1, -0.2], [0.3, 0.5, 0.4]]);
  const y = Int32Array.from([0, 2]);
  const ce = crossEntropy(tf.mul(cos, 10) as tf.Tensor2D, y).dataSync()[0]!;
  const arc0 = marginLoss({ kind: 'arcface', margin: 0, scale: 10 }, cos, y, 14).dataSync()[0]!;
  assert.ok(Math.abs(ce - arc0) < 1e-5, `${ce} vs ${arc0}`);
  assert.ok(marginLoss({ kind: 'arcface', margin: 0.5, scale: 10 }, cos, y, 14).dataSync()[0]! > arc0, 'the margin makes the true class harder');
  const trip = marginLoss({ kind: 'triplet', margin: 0.2, scale: null }, cos, y, 14).dataSync()[0]!;
  const want = (Math.max(0, 2 * 0.1 - 2 * 0.9 + 0.2) + Math.max(0, 2 * 0.5 - 2 * 0.4 + 0.2)) / 2;
  assert.ok(Math.abs(trip - want) < 1e-6, `${trip} vs ${want}`);
  cos.dispose();
});

test('name-confound control: neutral tokens "person A" … "person AA" replace the names in every prompt', () => {
  assert.deepEqual([0, 1, 25, 26, 27, 701, 702].map(neutralToken), ['A', 'B', 'Z', 'AA', 'AB', 'ZZ', 'AAA']);
  const classes = [{ id: 'p1', name: 'Ada Lovelace', role: 'known' as const }, { id: 'p2', name: 'Alan Turing', role: 'known' as const }];
  const cfg = resolveConfig(applyOverrides({ name: 'x', dataset: { path: 'd' } }, ['prompt.names=neutral', 'prompt.template=This is the image of {name}']), 'x');
  assert.deepEqual(classPrompts(cfg, classes), ['This is the image of person A', 'This is the image of person B']);
  const real = resolveConfig({ name: 'x', dataset: { path: 'd' } }, 'x');
  assert.deepEqual(classNames(real, classes), ['Ada Lovelace', 'Alan Turing']);
  assert.equal(real.prompt.names, undefined, 'no default written: older configs keep their hash');
});

test('prompt sets: the paper\'s three templates, versioned; invalid sets fail with the reason', () => {
  const paper = loadPromptSet(join(repoRoot, 'experiments/prompts/paper.json'));
  assert.deepEqual(paper.templates.map((t) => t.template), ['This is the image of a person named {name}', 'This is the image of {name}', '{name}']);
  assert.equal(paper.version, 1);
  loadPromptSet(join(repoRoot, 'experiments/prompts/photo.json'));
  const bad = join(work, 'bad-prompts.json');
  writeFileSync(bad, JSON.stringify({ id: 'x', version: 1, templates: [{ id: 'a', template: 'no slot' }] }));
  assert.throws(() => loadPromptSet(bad), /templates\[0\]\.template: a string with a \{name\} slot/);
});

test('CoOp (arXiv 2109.01134): only the context rows change; the text tower and class-name tokens stay bit-identical', () => {
  const cfg = loadClipConfig(join(repoRoot, 'models/configs/tiny-rn.json'));
  const model = new ClipModel(cfg, randomClipStateDict(cfg, 7));
  try {
    const { tokens, ctxIds } = coopTokens(['Ada Lovelace', 'Alan Turing', 'Grace Hopper'], 4, cfg.text.vocabSize, cfg.text.contextLength);
    tokens.forEach((t) => { assert.equal(t[0], 49406); assert.deepEqual([...t.subarray(1, 5)], ctxIds); assert.equal(Math.max(...t), EOT); });
    const before = model.text.stateDict();
    const copy = new Map([...before].map(([k, v]) => [k, Float32Array.from(v.data)]));
    const W = cfg.text.width, dim = cfg.embedDim;
    const init = Float32Array.from({ length: 4 * W }, ((r) => () => 0.02 * gauss(r))(streamRng(1, 'ctx')));
    const feats = unit(12, dim, 5), labels = Int32Array.from({ length: 12 }, (_, i) => i % 3);
    const log = trainCoopContext(model, feats, labels, tokens, ctxIds, init, {
      epochs: 3, batchSize: 4, seed: 0, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 5e-4, schedule: { kind: 'constant', lr: 0.01 },
    });
    assert.equal(log.length, 9);
    assert.ok(log.every((l) => Number.isFinite(l.loss)));
    const after = model.text.stateDict();
    for (const [k, v] of copy) {
      if (k !== 'token_embedding.weight') { assert.deepEqual(after.get(k)!.data, v, `${k} unchanged`); continue; }
      const a = after.get(k)!.data;
      const ctxRows = new Set(ctxIds);
      let changedCtx = 0;
      for (let id = 0; id < a.length / W; id++) {
        const row = a.subarray(id * W, (id + 1) * W), was = v.subarray(id * W, (id + 1) * W);
        if (!ctxRows.has(id)) { if (row.some((x, j) => x !== was[j])) assert.fail(`token row ${id} changed`); continue; }
        const i = ctxIds.indexOf(id);
        if (row.some((x, j) => x !== init[i * W + j])) changedCtx++;
      }
      assert.equal(changedCtx, 4, 'every context vector moved from its initial value');
    }
  } finally {
    model.dispose();
  }
});

test('extra arms run end to end on the same protocol (zero-shot, linear probe, Tip-Adapter, CoOp, ArcFace-loss finetune, neutral names)', async () => {
  const file = join(work, 'exp.json');
  writeFileSync(file, JSON.stringify({
    name: 'arms', seed: 2,
    dataset: { path: join(work, 'data'), synth: { seed: 3, identities: 3, unknown: 1, perIdentity: 6, size: 64 } },
    preprocess: { detector: 'none', cacheDir: join(work, 'cache') },
    model: { random: true, randomInit: { arch: 'tiny-rn' } },
    training: { epochs: 2, batchSize: 4, lr: 1e-3 }, evaluation: { bootstrap: 0 }, output: { resultsDir: join(work, 'results') },
  }));
  const runs: [string[], (m: any) => void][] = [
    [['method.kind=clip-zero-shot'], (m) => assert.equal(m.train.steps, 0)],
    [['method.kind=clip-linear-probe', 'method.head={"epochs": 3}'], (m) => assert.equal(m.train.steps, 3 * Math.ceil(m.data.train / 4))],
    [['method.kind=clip-tip-adapter', 'method.tipAdapter={"alpha": 0}'], (m) => assert.equal(m.method.options.tipAdapter.alpha, 0)],
    [['method.kind=clip-coop', 'method.coop={"contextTokens": 2}'], (m) => { assert.equal(m.method.contextTokenIds.length, 2); assert.match(m.classes[0].prompt, /^\[V1…V2\] /); }],
    [['training.loss={"kind": "arcface"}'], (m) => { assert.equal(m.method.loss.kind, 'arcface'); assert.equal(m.method.loss.margin, 0.5); }],
    [['prompt.names=neutral', 'training.epochs=0'], (m) => assert.equal(m.classes[1].prompt, 'This is the image of a person named person B')],
  ];
  const zs: number[][] = [];
  for (const [sets, check] of runs) {
    const dir = await runExperiment(file, { sets, quiet: true });
    const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    assert.equal(m.stamp, 'random weights: pipeline check, not a result', sets.join(' '));
    assert.ok(m.tableI && typeof m.tableI.heldOutAccuracy === 'number', sets.join(' '));
    assert.deepEqual(runMetricsProblems(m), [], `${sets.join(' ')}: metrics.json matches data-spec/run-metrics.schema.json`);
    check(m);
    if (sets[0] === 'method.kind=clip-zero-shot' || sets[0] === 'method.kind=clip-tip-adapter') zs.push(readFileSync(join(dir, 'predictions.csv'), 'utf8').split('\n').map((l) => l.split(',')[5]!) as unknown as number[]);
  }
  assert.deepEqual(zs[0], zs[1], 'Tip-Adapter with α = 0 predicts exactly what zero-shot CLIP does');
});
