/**
 * The exact savings are exact (issue 7, PERF-NOTES Q2/Q3): text features AND gradients are equal,
 * within float tolerance, with and without the EOT cut, length grouping, the shared prompt prefix,
 * the EOT-only last layer, the hand-written block backward (text-block.ts) and the chunked
 * gradient-cache step. Run on the golden tiny model and on
 * a random-init config with more heads and layers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { ClipModel, l2normalize } from '../lib/clip/model.ts';
import { parseClipConfig } from '../lib/clip/config.ts';
import { randomClipStateDict } from '../lib/clip/random-init.ts';
import { ClipTokenizer } from '../lib/clip/tokenizer.ts';
import { planTextLayout, type LayoutOptions } from '../lib/clip/text-layout.ts';
import { crossEntropy, textGradients } from '../lib/train/text-step.ts';
import { goldenDir, goldenModelFiles } from './helpers/golden.ts';

await initTf({ quiet: true });

const NAMES = ['Nguyen Van An', 'Thao', 'Trần Thị Bích', 'Emma Rossi', "Liam O'Brien", 'Zoë Müller-Lüdenscheidt', 'Wei', 'Kwame Mensah', 'Ana', 'Søren Kierkegaard Larsen'];
const REFERENCE: LayoutOptions = { cut: false, sharedPrefix: false, pad: true }; // clip/model.py row for row

function models(): [string, () => ClipModel][] {
  const dir = join(goldenDir(), 'clip-rn-tiny');
  const rand = parseClipConfig({
    embed_dim: 32, quick_gelu: false,
    vision_cfg: { image_size: 64, layers: [1, 1, 1, 1], width: 8, head_width: 8 },
    text_cfg: { context_length: 77, vocab_size: 49408, width: 48, heads: 4, layers: 3 },
  });
  return [
    ['golden clip-rn-tiny', () => { const f = goldenModelFiles('clip-rn-tiny'); return ClipModel.load(f.config, f.weights); }],
    ['random-init 3 layers, 4 heads, erf GELU', () => new ClipModel(rand, randomClipStateDict(rand, 7))],
  ];
}

function prompts(n = NAMES.length): Int32Array[] {
  return ClipTokenizer.load().tokenize(NAMES.slice(0, n).map((x) => `This is the image of a person named ${x}.`)).tokens;
}

function maxRel(a: Float32Array | number[], b: Float32Array | number[]): number {
  let err = 0, scale = 0;
  for (let i = 0; i < a.length; i++) { err = Math.max(err, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(a[i]!)); }
  return err / (scale || 1);
}

/** Reference gradients: tfjs autodiff over clip/model.py's layout (77 rows per prompt, no sharing). */
function referenceGradients(m: ClipModel, img: tf.Tensor2D, tokens: Int32Array[], labels: Int32Array) {
  const vars = m.text.trainableVariables();
  const { value, grads } = tf.variableGrads(() => crossEntropy(
    tf.mul(tf.matMul(img, l2normalize(m.text.encode(tokens, { ...REFERENCE, autodiff: true })), false, true), Math.exp(m.logitScale)) as tf.Tensor2D, labels), [...vars.values()]);
  const out = new Map([...vars].map(([name, v]) => [name, grads[v.name]!]));
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, grads: out };
}

test('the layout: shared prefix, groups by length, EOT rows', () => {
  const toks = prompts(4);
  const l = planTextLayout(toks, 77);
  assert.equal(l.prefixLen, 9, '<SOT> this is the image of a person named');
  assert.ok(l.eotLast);
  const ref = planTextLayout(toks, 77, REFERENCE);
  assert.equal(ref.rows, 4 * 77);
  assert.ok(l.rows < 4 * 16, `${l.rows} rows`);
  for (let i = 0; i < toks.length; i++) assert.equal(l.ids[l.eotRows[i]!], 49407);
  const one = planTextLayout(toks.slice(0, 1), 77);
  assert.equal(one.prefixLen, 0, 'a single prompt has nothing to share');
});

for (const [name, make] of models()) {
  test(`${name}: features are equal with and without the cut, grouping, shared prefix and hand-written block`, () => {
    const m = make();
    const toks = prompts();
    const ref = m.text.encode(toks, { ...REFERENCE, autodiff: true });
    const refData = ref.dataSync() as Float32Array;
    const variants: (LayoutOptions & { autodiff?: boolean })[] = [REFERENCE, { sharedPrefix: false, pad: true }, { sharedPrefix: false }, {}, { cut: false }, { autodiff: true }];
    for (const opts of variants) {
      const got = m.text.encode(toks, opts);
      const err = maxRel(refData, got.dataSync() as Float32Array);
      assert.ok(err <= 2e-5, `${JSON.stringify(opts)}: max error ${err} of the feature scale`);
      got.dispose();
    }
    ref.dispose();
    m.dispose();
  });

  test(`${name}: gradients are equal with and without the savings and the chunked gradient cache`, () => {
    const m = make();
    const toks = prompts();
    m.text.beginTraining(toks);
    const labels = Int32Array.from([0, 3, 5, 9, 1, 1, 7, 2]);
    const dim = m.cfg.embedDim;
    const img = tf.tidy(() => l2normalize(tf.randomNormal([labels.length, dim], 0, 1, 'float32', 3) as tf.Tensor2D));
    const ref = referenceGradients(m, img, toks, labels);
    const rows = planTextLayout(toks, 77).rows;
    const cases: [string, Parameters<typeof textGradients>[4], number][] = [
      ['77 rows, hand-written block backward', { cut: false, sharedPrefix: false, maxRowsPerPass: Infinity }, 1],
      ['cut + groups, no prefix', { sharedPrefix: false }, 1],
      ['cut + groups + shared prefix', {}, 1],
      ['gradient cache, 3 chunks', { maxRowsPerPass: Math.ceil(rows / 3) + 9 }, 3],
      ['gradient cache, one prompt per chunk', { maxRowsPerPass: 1 }, toks.length],
      ['gradient cache without prefix', { maxRowsPerPass: 40, sharedPrefix: false }, 0],
    ];
    let afterFirstRound = 0; // the tower caches one causal mask per length on first use
    for (const round of [1, 2]) for (const [label, opts, passes] of cases) {
      if (round === 2 && !afterFirstRound) afterFirstRound = tf.memory().numTensors;
      const got = textGradients(m, img, toks, labels, opts);
      if (passes) assert.equal(got.passes, passes, `${label}: backward passes`);
      assert.ok(Math.abs(got.loss - ref.loss) <= 1e-5 * Math.max(1, ref.loss), `${label}: loss ${got.loss} vs ${ref.loss}`);
      for (const [n, g] of ref.grads) {
        const err = maxRel(g.dataSync() as Float32Array, got.grads.get(n)!.dataSync() as Float32Array);
        assert.ok(err <= 1e-4, `${label}: gradient of ${n} differs by ${err} of its scale`);
      }
      tf.dispose([...got.grads.values()]);
    }
    assert.equal(tf.memory().numTensors, afterFirstRound, 'no tensors leak from textGradients');
    tf.dispose([...ref.grads.values()]);
    img.dispose();
    m.dispose();
  });
}
