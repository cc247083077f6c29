/**
 * `objective: "arcface"` of clipface pretrain: the loss and its gradient equal a plain float64
 * reference (θ from acos, cos(θ + m), insightface's fallback past π, softmax cross-entropy, central
 * differences) on the cpu backend; the config fills ArcFace's defaults without touching clip
 * configs; a mini run (seconds, tiny tower) lowers the loss with the text tower untouched, resumes
 * step for step, and its image-tower folder loads back with the same embeddings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { parseClipConfig } from '../lib/clip/config.ts';
import { ClipModel, l2normalize } from '../lib/clip/model.ts';
import { randomClipStateDict } from '../lib/clip/random-init.ts';
import { ClipTokenizer } from '../lib/clip/tokenizer.ts';
import type { VisionTransformer } from '../lib/clip/vit.ts';
import { arcFaceLoss, marginAt, marginCosine } from '../lib/pretrain/arcface.ts';
import { resolvePretrainConfig } from '../lib/pretrain/config.ts';
import { buildCorpus, loadCorpus } from '../lib/pretrain/corpus.ts';
import { loadCheckpoint } from '../lib/pretrain/checkpoint.ts';
import { ImageTowerModel, writeImageTowerFolder } from '../lib/pretrain/image-tower.ts';
import { configHash, pretrainClip } from '../lib/pretrain/train.ts';
import { streamRng } from '../lib/util/rng.ts';

await initTf({ quiet: true });

const S = 64, M = 0.5;

/** The loss in float64, straight from the definition: rows of e and w normalised, θ = acos, cos(θ_y + m) or the fallback. */
function referenceLoss(e: Float64Array, w: Float64Array, labels: number[], d: number, s: number, m: number): number {
  const n = labels.length, k = w.length / d;
  const unit = (a: Float64Array, i: number) => { let q = 0; for (let j = 0; j < d; j++) q += a[i * d + j]! ** 2; return Array.from({ length: d }, (_, j) => a[i * d + j]! / Math.sqrt(q)); };
  let total = 0;
  for (let i = 0; i < n; i++) {
    const ei = unit(e, i);
    const logits = Array.from({ length: k }, (_, c) => {
      const wc = unit(w, c);
      const cos = ei.reduce((a, x, j) => a + x * wc[j]!, 0);
      const theta = Math.acos(cos);
      const target = theta + m <= Math.PI ? Math.cos(theta + m) : cos - m * Math.sin(m);
      return s * (c === labels[i] ? target : cos);
    });
    const mx = Math.max(...logits);
    const lse = mx + Math.log(logits.reduce((a, z) => a + Math.exp(z - mx), 0));
    total += lse - logits[labels[i]!]!;
  }
  return total / n;
}

test('ArcFace loss and its gradient equal a float64 reference on the cpu backend (fallback branch included)', async () => {
  const prev = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    const n = 4, k = 5, d = 3, labels = [0, 2, 4, 2];
    const rng = streamRng('arcface-ref', 1);
    const e = Float64Array.from({ length: n * d }, () => 2 * rng() - 1);
    const w = Float64Array.from({ length: k * d }, () => 2 * rng() - 1);
    // row 3 points almost opposite its class row 2: θ_y + m passes π, the fallback branch
    for (let j = 0; j < d; j++) e[3 * d + j] = -w[2 * d + j]! + 0.05 * (rng() - 0.5);
    const ev = tf.variable(tf.tensor2d(Float32Array.from(e), [n, d]));
    const wv = tf.variable(tf.tensor2d(Float32Array.from(w), [k, d]));
    const { value, grads } = tf.variableGrads(() => arcFaceLoss(tf.matMul(l2normalize(ev), l2normalize(wv), false, true) as tf.Tensor2D, Int32Array.from(labels), { scale: S, margin: M }), [ev, wv]);
    const ref = referenceLoss(e, w, labels, d, S, M);
    assert.ok(Math.abs(value.dataSync()[0]! - ref) < 1e-4 * Math.max(1, ref), `loss ${value.dataSync()[0]} vs reference ${ref}`);
    const cos3 = (() => { let a = 0, qa = 0, qb = 0; for (let j = 0; j < d; j++) { a += e[3 * d + j]! * w[2 * d + j]!; qa += e[3 * d + j]! ** 2; qb += w[2 * d + j]! ** 2; } return a / Math.sqrt(qa * qb); })();
    assert.ok(cos3 < Math.cos(Math.PI - M), `row 3 exercises the fallback (cos ${cos3})`);
    const h = 1e-6;
    for (const [arr, v] of [[e, ev], [w, wv]] as const) {
      const g = grads[v.name]!.dataSync();
      let maxErr = 0, maxG = 0;
      for (let i = 0; i < arr.length; i++) {
        const keep = arr[i]!;
        arr[i] = keep + h; const up = referenceLoss(e, w, labels, d, S, M);
        arr[i] = keep - h; const down = referenceLoss(e, w, labels, d, S, M);
        arr[i] = keep;
        const num = (up - down) / (2 * h);
        maxErr = Math.max(maxErr, Math.abs(num - g[i]!));
        maxG = Math.max(maxG, Math.abs(num));
      }
      assert.ok(maxErr < 1e-3 * Math.max(1, maxG), `gradient differs from central differences by ${maxErr} (largest ${maxG})`);
    }
    tf.dispose([ev, wv, value, ...Object.values(grads)]);
  } finally {
    await tf.setBackend(prev);
  }
});

test('margin: cos(θ + m) up to θ + m = π, then cos θ − m·sin m; increasing in cos θ throughout; warm-up rises linearly to m', () => {
  assert.ok(Math.abs(marginCosine(0.3, M) - Math.cos(Math.acos(0.3) + M)) < 1e-12);
  const th = Math.cos(Math.PI - M);
  assert.ok(Math.abs(marginCosine(th + 1e-12, M) + 1) < 1e-5, 'cos(θ + m) reaches −1 at θ + m = π');
  assert.ok(Math.abs(marginCosine(th - 1e-12, M) - (th - M * Math.sin(M))) < 1e-9, 'then the linear fallback');
  const grid = Array.from({ length: 2001 }, (_, i) => -1 + i / 1000);
  grid.slice(1).forEach((c, i) => assert.ok(marginCosine(c, M) >= marginCosine(grid[i]!, M), `not increasing at cos ${c}`));
  assert.equal(marginAt(0.5, 0, 0), 0.5);
  assert.equal(marginAt(0.5, 100, 49), 0.25);
  assert.equal(marginAt(0.5, 100, 500), 0.5);
});

test('config: objective arcface fills s 64, m 0.5; a clip config gains no arcface block (its hash is unchanged)', () => {
  const arc = resolvePretrainConfig({ name: 'a', objective: 'arcface' }, 'a.json');
  assert.deepEqual(arc.arcface, { scale: 64, margin: 0.5, marginWarmupSteps: 0, weightStd: 0.01 });
  const clip = resolvePretrainConfig({ name: 'c' }, 'c.json');
  assert.equal(clip.objective, 'clip');
  assert.ok(!('arcface' in clip));
  assert.notEqual(configHash(arc), configHash(clip));
  assert.throws(() => resolvePretrainConfig({ name: 'c', arcface: { margin: 0.3 } }, 'c.json'), /c\.json: "arcface" options are given but objective is "clip"/);
  assert.throws(() => resolvePretrainConfig({ name: 'c', objective: 'cosface' }, 'c.json'), /c\.json: invalid pretrain config: objective/);
});

const vitCfg = () => parseClipConfig({
  embed_dim: 32, quick_gelu: true,
  vision_cfg: { image_size: 32, layers: 1, width: 32, patch_size: 8, head_width: 32 },
  text_cfg: { context_length: 77, vocab_size: 49408, width: 32, heads: 1, layers: 1 },
});
const corpusOptions = (dir: string) => ({ dir: join(dir, 'corpus'), identities: 48, perIdentity: 4, heldout: 24, hard: 2, renderSize: 96, cropSize: 32, margin: 0.25, glassesRate: 0.3, hatRate: 0.1 });
const arcConfig = (dir: string, training: Record<string, unknown>, arcface: Record<string, unknown> = {}) =>
  resolvePretrainConfig({ name: 'mini-arc', seed: 4, objective: 'arcface', arcface, corpus: corpusOptions(dir), training }, 'mini.json');

test('mini ArcFace pretraining: the loss falls, only the image tower and class weights train, the folder loads back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-arcface-'));
  try {
    // s 16: a 1-layer 32 px tower learns little in 96 steps, and at s 64 the margin holds it at cos θ ≈ 0 (the trap MODEL_CARD.md describes)
    const cfg = arcConfig(dir, { epochs: 16, batchPairs: 16, lr: 0.002, warmupSteps: 5, checkpointEvery: 1000 }, { scale: 16 });
    const { dir: cdir, ...opts } = cfg.corpus;
    await buildCorpus(cdir, opts);
    const corpus = loadCorpus(cdir);
    const text0 = new ClipModel(vitCfg(), randomClipStateDict(vitCfg(), cfg.seed)).text;
    const r = await pretrainClip(cfg, vitCfg(), corpus, ClipTokenizer.load(), join(dir, 'run'));
    assert.equal(r.status, 'done');
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(r.log.slice(0, 4).map((l) => l.loss)), last = mean(r.log.slice(-4).map((l) => l.loss));
    assert.ok(last < first - 3, `loss ${first.toFixed(2)} → ${last.toFixed(2)}`);
    assert.ok(r.log.every((l) => l.margin === 0.5 && l.logitScale === 16));
    assert.deepEqual(r.evals.at(-1)!.attributes, [], 'no zero-shot attributes without a trained text tower');
    // the text tower is the seeded random init, untouched
    const same = [...text0.stateDict()].every(([n, t]) => { const u = r.model.text.stateDict().get(n)!; return t.data.every((x, i) => x === u.data[i]); });
    assert.ok(same, 'text tower changed');
    const ck = loadCheckpoint(join(dir, 'run'))!;
    assert.deepEqual(ck.weights.get('arcface.weight')!.shape, [48, 32]);
    assert.ok(![...ck.weights.keys()].some((k) => k.startsWith('text.') || k === 'logit_scale'), 'checkpoint holds text or logit scale');
    // fp16 image-tower folder: loads through its strict loader, same embeddings to fp16 precision; ClipModel refuses it
    const w = writeImageTowerFolder(join(dir, 'model'), vitCfg(), r.model.visual as VisionTransformer, { recipe: 'test' });
    const back = ImageTowerModel.load(join(dir, 'model', 'open_clip_config.json'), w.weights);
    const px = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i));
    const a = r.model.encodeImage(px, 2).dataSync(), b = back.encodeImage(px, 2).dataSync();
    const scale = Math.max(...Array.from(a, Math.abs));
    assert.ok(a.every((x, i) => Math.abs(x - b[i]!) < 1e-2 * scale), 'fp16 tower differs');
    assert.throws(() => ClipModel.load(join(dir, 'model', 'open_clip_config.json'), w.weights), /weights do not match the config: \d+ missing \(token_embedding/);
    back.dispose();
    r.model.dispose();
    text0.dispose();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('mini ArcFace pretraining: stopped after step 3, it resumes to the same losses, step for step', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-arcface-'));
  try {
    const cfg = arcConfig(dir, { epochs: 1, batchPairs: 16, warmupSteps: 2, checkpointEvery: 2 }, { marginWarmupSteps: 3 });
    const { dir: cdir, ...opts } = cfg.corpus;
    await buildCorpus(cdir, opts);
    const corpus = loadCorpus(cdir), tok = ClipTokenizer.load();
    const full = await pretrainClip(cfg, vitCfg(), corpus, tok, join(dir, 'a'));
    full.model.dispose();
    let steps = 0;
    const part = await pretrainClip(cfg, vitCfg(), corpus, tok, join(dir, 'b'), { shouldStop: () => ++steps >= 3 });
    assert.equal(part.status, 'stopped');
    part.model.dispose();
    assert.ok(existsSync(join(dir, 'b', 'checkpoint', 'state.json')));
    const resumed = await pretrainClip(cfg, vitCfg(), corpus, tok, join(dir, 'b'), {}, { resume: true });
    assert.deepEqual(resumed.log.map((l) => l.loss), full.log.map((l) => l.loss));
    assert.deepEqual(resumed.log.slice(0, 4).map((l) => l.margin), [0.5 / 3, 1 / 3, 0.5, 0.5], 'the margin warm-up, 3 steps');
    assert.deepEqual(resumed.evals.map((e) => e.heldout.auc), full.evals.map((e) => e.heldout.auc));
    resumed.model.dispose();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
