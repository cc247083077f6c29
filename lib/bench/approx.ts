/**
 * The accuracy cost of the documented approximation (text-step.ts `sampledNegatives`), on a small
 * case where the exact step is cheap too: a seeded random-init small text tower learns 200
 * identities whose "image features" are noisy samples around a random unit centre per identity
 * (4 training and 4 test samples each). Same seeds, same batches, same lr: the exact softmax over
 * every class vs. the batch's classes plus k sampled negatives. Reports held-out top-1 accuracy
 * over all 200 classes and the time per step; plus the RN50-size 1000-identity step with k = 63.
 */
import { tf } from '../runtime/tf.ts';
import { ClipModel, l2normalize } from '../clip/model.ts';
import { parseClipConfig } from '../clip/config.ts';
import { randomClipStateDict } from '../clip/random-init.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { AdamW } from '../train/adamw.ts';
import { textTrainStep, type TextStepOptions } from '../train/text-step.ts';
import { batchPlan } from '../train/finetune.ts';
import { gauss, streamRng } from '../util/rng.ts';
import { benchNames, median, peakRssMiB, rn50TextConfig, TEMPLATE } from './workloads.ts';

const CLASSES = 200, PER = 4, DIM = 64, NOISE = 1.0;

function features(seed: number): { train: Float32Array; test: Float32Array; yTrain: Int32Array; yTest: Int32Array } {
  const rng = streamRng(seed, 'negatives-study');
  const unit = (v: Float32Array) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
  const centres = Array.from({ length: CLASSES }, () => unit(Float32Array.from({ length: DIM }, () => gauss(rng))));
  const sample = (c: number) => unit(centres[c]!.map((x) => x + (NOISE / Math.sqrt(DIM)) * gauss(rng)));
  const make = () => {
    const f = new Float32Array(CLASSES * PER * DIM), y = new Int32Array(CLASSES * PER);
    for (let i = 0; i < CLASSES * PER; i++) { y[i] = i % CLASSES; f.set(sample(i % CLASSES), i * DIM); }
    return { f, y };
  };
  const a = make(), b = make();
  return { train: a.f, yTrain: a.y, test: b.f, yTest: b.y };
}

function train(negatives: number | undefined, epochs: number, log: (s: string) => void) {
  const cfg = parseClipConfig({
    embed_dim: DIM, quick_gelu: true, vision_cfg: { image_size: 32, layers: [1, 1, 1, 1], width: 8, head_width: 8 },
    text_cfg: { context_length: 77, vocab_size: 49408, width: 128, heads: 4, layers: 4 },
  });
  const model = new ClipModel(cfg, randomClipStateDict(cfg, 1));
  const tokens = ClipTokenizer.load().tokenize(benchNames(CLASSES).map((n) => TEMPLATE.replace('{name}', n))).tokens;
  const data = features(2);
  model.text.beginTraining(tokens);
  const opt = new AdamW({ weightDecay: 1e-3 });
  const plan = batchPlan(data.yTrain.length, { epochs, batchSize: 16, seed: 3 });
  let ms = 0;
  plan.forEach((idx, s) => {
    const feats = tf.tensor2d(Float32Array.from(idx.flatMap((j) => [...data.train.subarray(j * DIM, (j + 1) * DIM)])), [idx.length, DIM]);
    const opts: TextStepOptions = negatives === undefined ? {} : { sampledNegatives: negatives, rng: streamRng(4, 'negatives', s) };
    const t0 = performance.now();
    textTrainStep(model, opt, feats, tokens, Int32Array.from(idx, (j) => data.yTrain[j]!), 2e-3, opts);
    ms += performance.now() - t0;
    feats.dispose();
  });
  model.text.endTraining();
  const acc = tf.tidy(() => {
    const text = l2normalize(model.encodeText(tokens));
    const pred = tf.argMax(tf.matMul(tf.tensor2d(data.test, [data.yTest.length, DIM]), text, false, true), 1).dataSync();
    return pred.filter((p, i) => p === data.yTest[i]).length / data.yTest.length;
  });
  log(`negatives study: ${negatives === undefined ? 'exact softmax' : `${negatives} sampled negatives`}: test accuracy ${(acc * 100).toFixed(1)} %, ${(ms / plan.length).toFixed(0)} ms/step`);
  opt.dispose();
  model.dispose();
  return { testAccuracy: Number(acc.toFixed(4)), msPerStep: Math.round(ms / plan.length) };
}

/** The study (about a minute on 2 cores) and the RN50-size 1000-identity step with 63 negatives. */
export function runNegativesStudy(quick: boolean, log: (s: string) => void): Record<string, unknown> {
  const epochs = quick ? 3 : 8;
  const exact = train(undefined, epochs, log);
  const k = (quick ? [15, 63] : [15, 63, 127]).map((n) => ({ negatives: n, ...train(n, epochs, log) }));
  const cfg = rn50TextConfig();
  const model = new ClipModel(cfg, randomClipStateDict(cfg, 0));
  const tokens = ClipTokenizer.load().tokenize(benchNames(1000).map((n) => TEMPLATE.replace('{name}', n))).tokens;
  model.text.beginTraining(tokens);
  const img = tf.tidy(() => l2normalize(tf.randomNormal([16, cfg.embedDim], 0, 1, 'float32', 1) as tf.Tensor2D));
  const labels = Int32Array.from({ length: 16 }, (_, i) => (i * 7919) % 1000);
  const opt = new AdamW();
  const runs: number[] = [];
  for (let s = 0; s < 3; s++) {
    const t0 = performance.now();
    textTrainStep(model, opt, img, tokens, labels, 1e-5, { sampledNegatives: 63, rng: streamRng(5, s) });
    runs.push(performance.now() - t0);
    log(`negatives study: RN50 text, 1000 ids, 63 negatives: step ${s + 1} ${runs[s]!.toFixed(0)} ms`);
  }
  return {
    setup: `${CLASSES} identities, ${PER}+${PER} samples each, features dim ${DIM} (noise ${NOISE}), text width 128 × 4 layers, ${epochs} epochs, batch 16, lr 2e-3`,
    exact, sampled: k,
    rn50Ids1000Negatives63: { ms: Math.round(median(runs.slice(1))), runs: runs.map(Math.round), peakRssMiB: peakRssMiB() },
  };
}
