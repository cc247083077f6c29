/**
 * The `pretrain` bench case (issue 10): one step of the teaching CLIP's pretraining — both towers,
 * multi-positive CLIP loss with the recipe's hard-negative captions (image → text only) and
 * same-person photo term, clipping, AdamW — at the shipped recipe's size (models/configs/
 * teaching-vit.json, 64 pairs = 128 photos and captions, experiments/teaching-clip.pretrain.json's
 * training block), on seeded random pixels and the SAME token ids the PyTorch peer gets
 * (pytorch.ts case 'pretrain'). Pairs per second = photos per step / median step time after warm-up.
 * The recipe's facial-hair head (one [128, 1] product per step) is left out of both sides.
 */
import { loadClipConfig } from '../clip/config.ts';
import { SOT, EOT, ClipTokenizer } from '../clip/tokenizer.ts';
import { createTrainer, trainStep } from '../pretrain/train.ts';
import { sameIdentityMask } from '../pretrain/loss.ts';
import { resolvePretrainConfig } from '../pretrain/config.ts';
import { backendInfo } from '../runtime/tf.ts';
import { repoRoot } from '../util/paths.ts';
import { streamRng } from '../util/rng.ts';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { peakRssMiB, timeSteps, type Measured } from './workloads.ts';

/** negatives: hard-negative captions per step beyond the 2·pairs captions; photoPairWeight: the photo term's weight */
export interface PretrainCase { pairs: number; steps: number; warmup: number; negatives: number; photoPairWeight: number }

/**
 * The shipped recipe's step shape: its photo-term weight, and its hard negatives per step — 47 is
 * the mean over the first epoch of seed 0 (46.6 over 187 batches of 128 captions at facialHairNegatives 1:
 * captions of men that name their facial hair or "clean-shaven"); none when the recipe has none.
 */
export function recipeStepShape(): { negatives: number; photoPairWeight: number } {
  const raw = JSON.parse(readFileSync(join(repoRoot, 'experiments', 'teaching-clip.pretrain.json'), 'utf8')) as unknown;
  const t = resolvePretrainConfig(raw, 'experiments/teaching-clip.pretrain.json').training;
  return { negatives: t.facialHairNegatives ? Math.round(47 * t.facialHairNegatives) : 0, photoPairWeight: t.photoPairWeight };
}

/** `count` captions of 20–29 tokens from a fixed word list (what the corpus's captions look like). */
export function benchCaptions(count: number): number[][] {
  const tok = ClipTokenizer.load();
  const words = 'a man woman person with black brown blond red hair light medium dark skin round almond eyes arched eyebrows button nose wearing glasses smiling seen from the front'.split(' ');
  const rng = streamRng('bench-pretrain-captions', 0);
  return Array.from({ length: count }, (_, i) => {
    const ids = [SOT];
    while (ids.length < 20 + (i % 10)) ids.push(...tok.encode(words[Math.floor(rng() * words.length)]!));
    return [...ids.slice(0, 29), EOT];
  });
}

export function runPretrainStep(c: PretrainCase, log: (s: string) => void): Measured {
  const clipCfg = loadClipConfig(join(repoRoot, 'models', 'configs', 'teaching-vit.json'));
  const training = { ...resolvePretrainConfig({ name: 'bench' }, 'bench').training, photoPairWeight: c.photoPairWeight };
  const n = 2 * c.pairs, s = clipCfg.vision.imageSize, cols = n + c.negatives;
  const caps = benchCaptions(cols).map((t) => { const a = new Int32Array(clipCfg.text.contextLength); a.set(t); return a; });
  const tr = createTrainer(clipCfg, 0, caps, training, 'bench');
  const rng = streamRng('bench-pretrain-pixels', 0);
  const pixels = Float32Array.from({ length: n * 3 * s * s }, () => 2 * rng() - 1);
  const ids = Array.from({ length: n }, (_, i) => i >> 1);
  // photo i's positives: the pair's two captions; the negatives' columns stay 0
  const positives = sameIdentityMask(ids, [...ids, ...new Array<number>(c.negatives).fill(-1)]);
  const t = timeSteps(c.warmup, c.steps, () => trainStep(tr, pixels, caps, positives, 1e-4, { ids, captions: n }).loss, 'pretrain', log);
  return {
    ms: Math.round(t.ms), pairsPerSec: Number((n / (t.ms / 1000)).toFixed(1)), batchPairs: c.pairs, photos: n, negatives: c.negatives, photoPairWeight: c.photoPairWeight, peakRssMiB: peakRssMiB(),
    runs: t.runs, foreignCores: t.foreignCores, loss: t.loss, backend: backendInfo()?.name, kernels: backendInfo()?.kernels,
  };
}
