/**
 * The frozen image tower through onnxruntime (lib/clip/onnx-export.ts + image-ort.ts) equals the
 * tfjs reference: cosine ≥ 0.99999 per image (issue 7), on the golden ModifiedResNet and ViT and a
 * random-init ViT with erf GELU; batches split across runs give the same rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initTf } from '../lib/runtime/tf.ts';
import { ClipModel } from '../lib/clip/model.ts';
import { parseClipConfig } from '../lib/clip/config.ts';
import { randomClipStateDict } from '../lib/clip/random-init.ts';
import { createImageEncoder } from '../lib/clip/image-ort.ts';
import { golden, goldenModelFiles, goldenSets } from './helpers/golden.ts';

await initTf({ quiet: true });

function pixelsOf(set: string): { px: Float32Array; n: number } {
  const g = golden(set);
  const per = 3 * 224 * 224;
  const px = new Float32Array(g.images.length * per);
  g.images.forEach((im: any, i: number) => px.set(im.pixel_values.data, i * per));
  return { px, n: g.images.length };
}

function check(ref: Float32Array, got: Float32Array, dim: number, what: string) {
  for (let r = 0; r < ref.length / dim; r++) {
    let dot = 0, na = 0, nb = 0, err = 0, scale = 0;
    for (let j = 0; j < dim; j++) {
      const a = ref[r * dim + j]!, b = got[r * dim + j]!;
      dot += a * b; na += a * a; nb += b * b;
      err = Math.max(err, Math.abs(a - b)); scale = Math.max(scale, Math.abs(a));
    }
    const cos = dot / Math.sqrt(na * nb);
    assert.ok(cos >= 0.99999, `${what} row ${r}: cosine ${cos}`);
    assert.ok(err <= 1e-4 * scale, `${what} row ${r}: max error ${err} of ${scale}`);
  }
}

const RAND_VIT = parseClipConfig({
  embed_dim: 24, quick_gelu: false,
  vision_cfg: { image_size: 224, layers: 2, width: 32, patch_size: 56, head_width: 8 },
  text_cfg: { context_length: 77, vocab_size: 49408, width: 16, heads: 2, layers: 1 },
});

const MODELS: [string, () => ClipModel, string][] = [
  ['golden clip-rn-tiny (ModifiedResNet)', () => { const f = goldenModelFiles('clip-rn-tiny'); return ClipModel.load(f.config, f.weights); }, 'clip-rn-tiny'],
  // the ViT set is only beside the checkout (../shared/golden), not in the trimmed fixture
  ...(goldenSets().includes('clip-vit-tiny')
    ? [['golden clip-vit-tiny (ViT)', () => { const f = goldenModelFiles('clip-vit-tiny'); return ClipModel.load(f.config, f.weights); }, 'clip-vit-tiny'] as [string, () => ClipModel, string]]
    : []),
  // both golden sets hold the same images and pixel values
  ['random-init ViT, erf GELU', () => new ClipModel(RAND_VIT, randomClipStateDict(RAND_VIT, 3)), 'clip-rn-tiny'],
];

for (const [name, make, pixels] of MODELS) {
  test(`${name}: onnxruntime features equal the tfjs tower's`, async () => {
    const m = make();
    const { px, n } = pixelsOf(pixels);
    const tfjs = createImageEncoder(m, { runtime: 'tfjs' });
    const ort = createImageEncoder(m, { runtime: 'ort', batchSize: 3 });
    assert.equal(ort.runtime, 'ort');
    const auto = createImageEncoder(m);
    assert.equal(auto.runtime, 'ort', "'auto' picks onnxruntime on the wasm backend");
    auto.dispose();
    const ref = await tfjs.encode(px, n);
    const got = await ort.encode(px, n);
    check(ref, got, m.cfg.embedDim, name);
    const one = await ort.encode(px.subarray(0, 3 * 224 * 224), 1);
    check(ref.subarray(0, m.cfg.embedDim), one, m.cfg.embedDim, `${name}, batch of one`);
    ort.dispose();
    tfjs.dispose();
    m.dispose();
  });
}
