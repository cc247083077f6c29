/**
 * The ONNX baseline path with a model built on the fly: a tiny graph (onnx-proto; a fixed linear
 * projection of the pixels, Flatten → MatMul) registered like insightface's ArcFace, with the
 * ArcFace entry's own preprocessing (112 px, RGB, (x − 127.5)/127.5), goes through exactly the
 * code a user's w600k_r50.onnx would: registry entry → file in the model cache → sha256 pin →
 * onnxruntime-node session → preprocessing from the entry → face-match / face-classifier runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { onnxEmbedder, resolveOnnxModel } from '../lib/baselines/onnx-embedder.ts';
import { getModel, type ModelEntry } from '../lib/models/registry.ts';
import { runExperiment } from '../lib/experiment/run.ts';
import { runMetricsProblems } from '../lib/report/read-metrics.ts';
import type { RgbImage } from '../lib/runtime/image.ts';
import { UserError } from '../lib/util/errors.ts';

const { onnx } = onnxProto as unknown as { onnx: typeof import('onnx-proto').onnx };
const work = mkdtempSync(join(tmpdir(), 'clipface-onnx-'));
process.env.CLIPFACE_CACHE = join(work, 'models'); // modelDir() reads it: the "user's" model cache
const OUT = 8, S = 112, K = 3 * S * S;
const W = Float32Array.from({ length: K * OUT }, (_, i) => 0.01 * Math.sin(0.37 * i + 1));

/** Flatten(NCHW) @ W: the smallest graph with ArcFace's interface ([N,3,112,112] → [N,D]). */
function tinyRecogniser(): Uint8Array {
  const f = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const model = {
    irVersion: 7, producerName: 'clipface-test', opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny-arcface',
      node: [
        { opType: 'Flatten', input: ['input'], output: ['flat'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
        { opType: 'MatMul', input: ['flat', 'W'], output: ['embedding'] },
      ],
      initializer: [{ name: 'W', dims: [K, OUT], dataType: 1, rawData: new Uint8Array(W.buffer) }],
      input: [f('input', ['N', 3, S, S])], output: [f('embedding', ['N', OUT])],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model as import('onnx-proto').onnx.IModelProto)).finish();
}

const bytes = tinyRecogniser();
const sha = createHash('sha256').update(bytes).digest('hex');
const arcface = getModel('insightface/buffalo_l-w600k_r50');
function entry(id: string, pre: ModelEntry['preprocessing'], pin: string | null = sha): ModelEntry {
  return { ...arcface, id, preprocessing: pre, architecture: 'linear map of the pixels (test)', files: [{ name: 'tiny.onnx', sha256: pin }], embedDim: OUT, howToGet: 'built by test/baselines-onnx.test.ts' };
}
const bgr = { ...arcface.preprocessing, channel_order: 'BGR' as const, mean: [129.1863, 104.7624, 93.594] as [number, number, number], std: [1, 1, 1] as [number, number, number], resize_mode: 'squash' as const, note: 'VGG-style' };
const registry = join(work, 'registry.json');
writeFileSync(registry, JSON.stringify({ version: 1, models: [
  entry('test/tiny-arcface', arcface.preprocessing), entry('test/tiny-bgr', bgr), entry('test/tiny-pinned-wrong', arcface.preprocessing, '0'.repeat(64)),
] }));
for (const id of ['test/tiny-arcface', 'test/tiny-bgr', 'test/tiny-pinned-wrong']) {
  mkdirSync(join(work, 'models', id.replace('/', '--')), { recursive: true });
  writeFileSync(join(work, 'models', id.replace('/', '--'), 'tiny.onnx'), bytes);
}

/** What the graph must output for `img` under preprocessing p (computed here in plain JS). */
function expected(img: RgbImage, p: ModelEntry['preprocessing']): number[] {
  const x = new Float64Array(K);
  for (let c = 0; c < 3; c++) for (let i = 0; i < S * S; i++) {
    const src = p.channel_order === 'BGR' ? 2 - c : c;
    x[c * S * S + i] = (img.data[i * 3 + src]! - p.mean[c]!) / p.std[c]!;
  }
  return Array.from({ length: OUT }, (_, j) => { let s = 0; for (let k = 0; k < K; k++) s += x[k]! * W[k * OUT + j]!; return s; });
}

const image = (size: number, seed: number): RgbImage => ({ width: size, height: size, source: `synthetic-${seed}`, data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 7 + seed * 31) % 256) });

test('the registry entry drives preprocessing: ArcFace (x − 127.5)/127.5 RGB, and a BGR mean-subtracted variant', async () => {
  const say: string[] = [];
  for (const [id, pre] of [['test/tiny-arcface', arcface.preprocessing], ['test/tiny-bgr', bgr]] as const) {
    const e = await onnxEmbedder(resolveOnnxModel(id, registry), (s) => say.push(s));
    assert.equal(e.inputSize, 112);
    assert.equal(e.dim, OUT);
    const imgs = [image(112, 1), image(112, 2)];
    const got = await e.embed(imgs);
    imgs.forEach((im, n) => expected(im, pre).forEach((v, j) => assert.ok(Math.abs(got[n * OUT + j]! - v) <= 1e-3 * (1 + Math.abs(v)), `${id} [${n},${j}] ${got[n * OUT + j]} vs ${v}`)));
    await e.dispose();
  }
  assert.deepEqual(say, [], 'pinned sha256: no warning');
});

test('a file that does not match its registry sha256, or a missing one, is refused with a clear message', async () => {
  await assert.rejects(onnxEmbedder(resolveOnnxModel('test/tiny-pinned-wrong', registry), () => {}), (e: unknown) => e instanceof UserError && /does not match the registry/.test(e.message));
  assert.throws(() => resolveOnnxModel('insightface/buffalo_l-w600k_r50', null), (e: unknown) => e instanceof UserError && /w600k_r50\.onnx is missing.*insightface/.test(e.message));
  assert.throws(() => resolveOnnxModel('test/nope', registry), /no such id/);
});

test('face-match (o) and face-classifier (c) run end to end on onnx:<id>, as ArcFace would', async () => {
  const exp = (kind: string, extra: Record<string, unknown> = {}) => {
    const file = join(work, `${kind}.json`);
    writeFileSync(file, JSON.stringify({
      name: `onnx-${kind}`, seed: 1,
      dataset: { path: join(work, 'data'), synth: { seed: 4, identities: 3, unknown: 1, perIdentity: 10, size: 96 } },
      preprocess: { detector: 'ground-truth', margin: 0, cacheDir: join(work, 'cache') },
      method: { kind, embedder: 'onnx:test/tiny-arcface', registry, ...extra },
      evaluation: { bootstrap: 0 }, output: { resultsDir: join(work, 'results') },
    }));
    return file;
  };
  for (const [kind, extra] of [['face-match', { threshold: 'calibrated', gallery: 'nn' }], ['face-classifier', { head: { epochs: 5 } }]] as const) {
    const dir = await runExperiment(exp(kind, extra), { quiet: true });
    const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    assert.equal(m.method.kind, kind);
    assert.equal(m.method.embedder.spec, 'onnx:test/tiny-arcface');
    assert.match(m.model, /test\/tiny-arcface/);
    assert.equal(m.stamp, undefined, 'a real (user) model is not stamped as random');
    assert.ok(m.tableI, 'Table I numbers');
    for (const k of ['heldOutAccuracy', 'deploymentAccuracy', 'fpr', 'fnr']) assert.equal(typeof m.tableI[k], 'number', k);
    assert.equal(m.classes[0].prompt, null, 'no prompts for a face model');
    assert.deepEqual(runMetricsProblems(m), [], `${kind}: metrics.json matches data-spec/run-metrics.schema.json`);
    if (kind === 'face-match') assert.equal(m.method.acceptance.metric, 'cosine');
    else assert.equal(m.train.steps, 5 * Math.ceil(m.data.train / 16));
  }
  const cached = readdirSync(join(work, 'cache', 'embeddings')).filter((d) => d.startsWith('face-'));
  assert.equal(cached.length, 1, 'one cache folder for the embedder, shared by both set-ups');
  assert.ok(existsSync(join(work, 'cache', 'embeddings', cached[0]!)));
});
