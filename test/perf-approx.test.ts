/**
 * The sampled-negatives approximation (text-step.ts `sampledNegatives`, off by default) does what
 * it says: the batch's classes plus k others, the exact step when k covers every class, and the
 * gradient of the loss restricted to the drawn classes otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { ClipModel, l2normalize } from '../lib/clip/model.ts';
import { parseClipConfig } from '../lib/clip/config.ts';
import { randomClipStateDict } from '../lib/clip/random-init.ts';
import { ClipTokenizer } from '../lib/clip/tokenizer.ts';
import { sampleClasses, textGradients } from '../lib/train/text-step.ts';
import { mulberry32 } from '../lib/util/rng.ts';
import { benchNames, TEMPLATE } from '../lib/bench/workloads.ts';

await initTf({ quiet: true });

const cfg = parseClipConfig({
  embed_dim: 16, quick_gelu: true, vision_cfg: { image_size: 32, layers: [1, 1, 1, 1], width: 8, head_width: 8 },
  text_cfg: { context_length: 77, vocab_size: 49408, width: 32, heads: 2, layers: 2 },
});

test('sampleClasses: every batch class, k distinct others, sorted, deterministic', () => {
  const labels = Int32Array.from([3, 3, 7, 0]);
  const a = sampleClasses(20, labels, 5, mulberry32(1));
  assert.equal(a.length, 8);
  for (const c of [0, 3, 7]) assert.ok(a.includes(c));
  assert.deepEqual(a, [...new Set(a)].sort((x, y) => x - y));
  assert.deepEqual(sampleClasses(20, labels, 5, mulberry32(1)), a);
  assert.equal(sampleClasses(20, labels, 100, mulberry32(1)).length, 20);
});

test('sampled negatives: exact when k covers every class; the restricted loss otherwise', () => {
  const m = new ClipModel(cfg, randomClipStateDict(cfg, 2));
  const tokens = ClipTokenizer.load().tokenize(benchNames(12).map((n) => TEMPLATE.replace('{name}', n))).tokens;
  m.text.beginTraining(tokens);
  const labels = Int32Array.from([1, 5, 5, 9]);
  const img = tf.tidy(() => l2normalize(tf.randomNormal([4, 16], 0, 1, 'float32', 5) as tf.Tensor2D));
  const close = (a: Map<string, tf.Tensor>, b: Map<string, tf.Tensor>, what: string) => {
    for (const [n, g] of a) {
      const x = g.dataSync(), y = b.get(n)!.dataSync();
      x.forEach((v, i) => assert.ok(Math.abs(v - y[i]!) <= 1e-5 * Math.max(1, Math.abs(v)), `${what}: ${n}[${i}] ${v} vs ${y[i]}`));
    }
  };
  const exact = textGradients(m, img, tokens, labels);
  const all = textGradients(m, img, tokens, labels, { sampledNegatives: 50, rng: mulberry32(3) });
  assert.equal(all.sampledClasses!.length, 12);
  assert.ok(Math.abs(all.loss - exact.loss) <= 1e-6);
  close(exact.grads, all.grads, 'k covers every class');
  const some = textGradients(m, img, tokens, labels, { sampledNegatives: 2, rng: mulberry32(3) });
  const sub = some.sampledClasses!;
  assert.equal(sub.length, 5);
  const local = new Map(sub.map((c, i) => [c, i]));
  const ref = textGradients(m, img, sub.map((c) => tokens[c]!), labels.map((l) => local.get(l)!));
  assert.ok(Math.abs(some.loss - ref.loss) <= 1e-6);
  close(ref.grads, some.grads, 'two negatives');
  some.logits.forEach((row) => row.forEach((v, c) => assert.equal(Number.isFinite(v), sub.includes(c))));
  for (const r of [exact, all, some, ref]) tf.dispose([...r.grads.values()]);
  img.dispose();
  m.dispose();
});
