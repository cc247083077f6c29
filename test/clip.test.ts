/**
 * CLIP parity with OpenAI's PyTorch reference (shared/golden, see its README): features, logits,
 * one finetuning step and AdamW, for the ResNet and ViT sets and the fp32 and fp16 files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { ClipModel, l2normalize } from '../lib/clip/model.ts';
import { parseClipConfig } from '../lib/clip/config.ts';
import { readSafetensors } from '../lib/clip/safetensors.ts';
import { AdamW } from '../lib/train/adamw.ts';
import { classLogits, crossEntropy, textTrainStep } from '../lib/train/text-step.ts';
import { decodeImage } from '../lib/runtime/image.ts';
import { toPixelValues } from '../lib/clip/preprocess.ts';
import { UserError } from '../lib/util/errors.ts';
import { golden, goldenDir, skipWithout } from './helpers/golden.ts';

await initTf({ quiet: true });

const SETS = ['clip-rn-tiny', 'clip-vit-tiny'] as const;
const PX = 3 * 224 * 224;

function files(set: string, weights: 'fp32' | 'fp16') {
  const dir = join(goldenDir(), set);
  return { dir, config: join(dir, 'config.json'), weights: join(dir, `model.${weights}.safetensors`) };
}

function available(set: string, weights: 'fp32' | 'fp16'): string | false {
  return skipWithout(files(set, weights).weights);
}

/** max |a−b| / max |ref|, and the smallest row cosine. */
function compare(ref: number[][], got: number[][]) {
  let maxAbs = 0, scale = 0, minCos = 1;
  ref.forEach((row, i) => {
    let dot = 0, na = 0, nb = 0;
    row.forEach((v, j) => {
      const g = got[i]![j]!;
      maxAbs = Math.max(maxAbs, Math.abs(v - g));
      scale = Math.max(scale, Math.abs(v));
      dot += v * g; na += v * v; nb += g * g;
    });
    minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
  });
  return { maxAbs, rel: maxAbs / scale, minCos };
}

function goldenPixels(g: any): Float32Array {
  const px = new Float32Array(g.images.length * PX);
  g.images.forEach((im: any, i: number) => px.set(im.pixel_values.data, i * PX));
  return px;
}

for (const set of SETS) {
  for (const w of ['fp32', 'fp16'] as const) {
    test(`${set} ${w}: encode_image, encode_text and logits match OpenAI's reference`, { skip: available(set, w) }, () => {
      const g = golden(set);
      const ref = g[w === 'fp32' ? 'outputs_fp32_weights' : 'outputs_fp16_weights'];
      const f = files(set, w);
      const m = ClipModel.load(f.config, f.weights);
      const img = m.encodeImage(goldenPixels(g), g.images.length);
      const txt = m.encodeText(g.prompts.map((p: any) => Int32Array.from(p.tokens)));
      const full = m.encodeText(g.prompts.map((p: any) => Int32Array.from(p.tokens)), { cut: false });
      const logits = m.logits(img, txt);
      for (const [name, r, t] of [['image', ref.encode_image, img], ['text', ref.encode_text, txt], ['text, full 77 context', ref.encode_text, full]] as const) {
        const c = compare(r, t.arraySync() as number[][]);
        assert.ok(c.minCos >= 0.99999, `${name}: min cosine ${c.minCos}`);
        assert.ok(c.rel <= 1e-4, `${name}: max error ${c.rel} of the feature scale`);
      }
      const cl = compare(ref.logits_per_image, logits.arraySync());
      assert.ok(cl.maxAbs <= 2e-3, `logits max abs error ${cl.maxAbs}`);
      tf.dispose([img, txt, full, logits]);
      m.dispose();
    });
  }

  test(`${set}: encode_image from the *_crop224.png files matches the reference`, { skip: available(set, 'fp16') }, async () => {
    const g = golden(set);
    const f = files(set, 'fp16');
    const m = ClipModel.load(f.config, f.weights);
    const px = new Float32Array(g.images.length * PX);
    for (const [i, im] of g.images.entries()) {
      const crop = await decodeImage(join(f.dir, im.crop_file));
      toPixelValues(crop, m.cfg.preprocess.mean, m.cfg.preprocess.std, px, i * PX);
    }
    const img = m.encodeImage(px, g.images.length);
    const c = compare(g.outputs_fp16_weights.encode_image, img.arraySync());
    assert.ok(c.minCos >= 0.99999 && c.rel <= 1e-4, `cos ${c.minCos}, rel ${c.rel}`);
    img.dispose();
    m.dispose();
  });

  test(`${set}: one text-tower finetuning step reproduces train_step (loss, grad norms, AdamW)`, { skip: available(set, 'fp32') }, () => {
    const g = golden(set);
    const ts = g.train_step;
    const f = files(set, 'fp32');
    const m = ClipModel.load(f.config, f.weights);
    const feats = tf.tidy(() => l2normalize(m.encodeImage(goldenPixels(g), g.images.length)));
    const classes = g.prompts.slice(0, 3).map((p: any) => Int32Array.from(p.tokens));
    const labels = Int32Array.from(ts.labels);
    m.text.beginTraining(classes);
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
    const r = textTrainStep(m, opt, feats, classes, labels, 1e-3);
    assert.ok(Math.abs(r.loss - ts.loss) / ts.loss <= 1e-4, `loss ${r.loss} vs ${ts.loss}`);
    assert.ok(compare(ts.logits, r.logits).maxAbs <= 2e-3, 'logits before the step');
    for (const [name, ref] of Object.entries(ts.grad_l2_norms) as [string, number][]) {
      const got = r.gradNorms.get(name)!;
      assert.ok(Math.abs(got - ref) / ref <= 1e-4, `grad norm ${name}: ${got} vs ${ref}`);
    }
    const lossAfter = () => tf.tidy(() => crossEntropy(classLogits(m, feats, classes), labels).dataSync()[0]!);
    const after1 = lossAfter();
    assert.ok(Math.abs(after1 - ts.loss_after_step1) <= 2e-3, `loss after step 1: ${after1} vs ${ts.loss_after_step1}`);
    const slices = (sd: Map<string, { data: Float32Array }>) => ({
      ln_final_weight_first8: sd.get('ln_final.weight')!.data.slice(0, 8),
      text_projection_row0_first8: sd.get('text_projection')!.data.slice(0, 8),
      in_proj_weight_row0_first8: sd.get('transformer.resblocks.0.attn.in_proj_weight')!.data.slice(0, 8),
    });
    const checkSlices = (ref: Record<string, number[]>, step: string) => {
      m.text.endTraining();
      const got = slices(m.text.stateDict());
      for (const [k, vals] of Object.entries(ref)) {
        const err = Math.max(...vals.map((v, i) => Math.abs(v - got[k as keyof typeof got][i]!)));
        assert.ok(err <= 1e-6, `${step} ${k}: max abs error ${err}`);
      }
      m.text.beginTraining(classes);
    };
    checkSlices(ts.params_after_step1, 'after step 1');
    textTrainStep(m, opt, feats, classes, labels, 1e-3);
    const after2 = lossAfter();
    assert.ok(Math.abs(after2 - ts.loss_after_step2) <= 2e-3, `loss after step 2: ${after2} vs ${ts.loss_after_step2}`);
    checkSlices(ts.params_after_step2, 'after step 2');
    feats.dispose();
    opt.dispose();
    m.dispose();
  });
}

test('the untrained rows of the token table decay exactly as a dense AdamW would', { skip: available('clip-rn-tiny', 'fp32') }, () => {
  const f = files('clip-rn-tiny', 'fp32');
  const ref = readSafetensors(f.weights).tensors.get('token_embedding.weight')!.data!;
  const g = golden('clip-rn-tiny');
  const m = ClipModel.load(f.config, f.weights);
  const feats = tf.tidy(() => l2normalize(m.encodeImage(goldenPixels(g), g.images.length)));
  const classes = g.prompts.slice(0, 3).map((p: any) => Int32Array.from(p.tokens));
  m.text.beginTraining(classes);
  const opt = new AdamW({ weightDecay: 0.01 });
  textTrainStep(m, opt, feats, classes, Int32Array.from(g.train_step.labels), 1e-3);
  m.text.endTraining();
  const table = m.text.stateDict().get('token_embedding.weight')!.data;
  const row = 1000 * 64; // token 1000 is in none of the prompts
  for (let j = 0; j < 64; j++) {
    const want = Math.fround(ref[row + j]! * (1 - 1e-3 * 0.01));
    assert.ok(Math.abs(table[row + j]! - want) <= 1e-7 * Math.abs(want), `row 1000 col ${j}: ${table[row + j]} vs ${want}`);
    assert.notEqual(table[row + j], ref[row + j], 'the row must have decayed');
  }
  feats.dispose();
  opt.dispose();
  m.dispose();
});

test('no tensor leaks across repeated encodes and training steps', () => {
  const start = tf.memory().numTensors;
  const f = files('clip-rn-tiny', 'fp16');
  const g = golden('clip-rn-tiny');
  const m = ClipModel.load(f.config, f.weights);
  const classes = g.prompts.slice(0, 3).map((p: any) => Int32Array.from(p.tokens));
  const px = goldenPixels(g);
  const once = () => tf.dispose([m.encodeImage(px, 4), m.encodeText(classes)]);
  once();
  const base = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) once();
  assert.equal(tf.memory().numTensors, base, 'encode calls');
  const feats = tf.tidy(() => l2normalize(m.encodeImage(px, 4)));
  m.text.beginTraining(classes);
  const opt = new AdamW();
  textTrainStep(m, opt, feats, classes, Int32Array.from([0, 1, 2, 1]), 1e-4); // creates the AdamW moments
  const afterFirst = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) textTrainStep(m, opt, feats, classes, Int32Array.from([0, 1, 2, 1]), 1e-4);
  assert.equal(tf.memory().numTensors, afterFirst, 'training steps');
  feats.dispose();
  opt.dispose();
  m.dispose();
  assert.equal(tf.memory().numTensors, start, 'everything disposed');
});

test('bad weights and configs fail with one line naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clipface-bad-'));
  const f = files('clip-rn-tiny', 'fp16');
  const throwsUser = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'));
  throwsUser(() => ClipModel.load(f.config, join(dir, 'nope.safetensors')), /nope\.safetensors: weights file not found/);
  const bytes = readFileSync(f.weights);
  writeFileSync(join(dir, 'trunc.safetensors'), bytes.subarray(0, bytes.length / 2));
  throwsUser(() => ClipModel.load(f.config, join(dir, 'trunc.safetensors')), /trunc\.safetensors: .*truncated/);
  writeFileSync(join(dir, 'junk.safetensors'), 'hello world, not a tensor file');
  throwsUser(() => ClipModel.load(f.config, join(dir, 'junk.safetensors')), /junk\.safetensors: not a valid safetensors file/);
  const cfg = JSON.parse(readFileSync(f.config, 'utf8'));
  writeFileSync(join(dir, 'wide.json'), JSON.stringify({ ...cfg, text_cfg: { ...cfg.text_cfg, width: 128 } }));
  throwsUser(() => ClipModel.load(join(dir, 'wide.json'), f.weights), /weights do not match the config: .*mis-shaped \(token_embedding\.weight \[49408,64\] \(config expects \[49408,128\]\)/);
  throwsUser(() => parseClipConfig({ ...cfg, vision_cfg: { ...cfg.vision_cfg, widht: 3 } }, 'c.json'), /c\.json: unsupported key "vision_cfg\.widht"/);
  throwsUser(() => parseClipConfig({ ...cfg, surprise: 1 }, 'c.json'), /unsupported key "surprise"/);
});

test('the HF hub open_clip_config.json shape parses to the same model config', () => {
  const cfg = JSON.parse(readFileSync(files('clip-rn-tiny', 'fp16').config, 'utf8'));
  const hub = parseClipConfig({ model_cfg: cfg, preprocess_cfg: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } });
  const plain = parseClipConfig(cfg);
  assert.deepEqual({ ...hub, preprocess: undefined }, { ...plain, preprocess: undefined });
  assert.deepEqual(hub.preprocess.mean, [0.5, 0.5, 0.5]);
  assert.deepEqual(plain.preprocess.mean, [0.48145466, 0.4578275, 0.40821073]);
});
