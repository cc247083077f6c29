/**
 * The `pretrain` bench case (issue 10): one step of the teaching CLIP's pretraining — both towers,
 * multi-positive CLIP loss, clipping, AdamW — at the shipped recipe's size (models/configs/
 * teaching-vit.json, 64 pairs = 128 photos and captions), on seeded random pixels and the SAME
 * caption token ids the PyTorch peer gets (pytorch.ts case 'pretrain'). Pairs per second = photos
 * per step / median step time after warm-up.
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
import { peakRssMiB, timeSteps, type Measured } from './workloads.ts';

export interface PretrainCase { pairs: number; steps: number; warmup: number }

/** 2·pairs captions of 20–29 tokens from a fixed word list (what the corpus's captions look like). */
export function benchCaptions(pairs: number): number[][] {
  const tok = ClipTokenizer.load();
  const words = 'a man woman person with black brown blond red hair light medium dark skin round almond eyes arched eyebrows button nose wearing glasses smiling seen from the front'.split(' ');
  const rng = streamRng('bench-pretrain-captions', 0);
  return Array.from({ length: 2 * pairs }, (_, i) => {
    const ids = [SOT];
    while (ids.length < 20 + (i % 10)) ids.push(...tok.encode(words[Math.floor(rng() * words.length)]!));
    return [...ids.slice(0, 29), EOT];
  });
}

export function runPretrainStep(c: PretrainCase, log: (s: string) => void): Measured {
  const clipCfg = loadClipConfig(join(repoRoot, 'models', 'configs', 'teaching-vit.json'));
  const training = resolvePretrainConfig({ name: 'bench' }, 'bench').training;
  const caps = benchCaptions(c.pairs).map((t) => { const a = new Int32Array(clipCfg.text.contextLength); a.set(t); return a; });
  const tr = createTrainer(clipCfg, 0, caps, training, 'bench');
  const n = 2 * c.pairs, s = clipCfg.vision.imageSize;
  const rng = streamRng('bench-pretrain-pixels', 0);
  const pixels = Float32Array.from({ length: n * 3 * s * s }, () => 2 * rng() - 1);
  const positives = sameIdentityMask(Array.from({ length: n }, (_, i) => i >> 1), Array.from({ length: n }, (_, i) => i >> 1));
  const t = timeSteps(c.warmup, c.steps, () => trainStep(tr, pixels, caps, positives, 1e-4).loss, 'pretrain', log);
  return {
    ms: Math.round(t.ms), pairsPerSec: Number((n / (t.ms / 1000)).toFixed(1)), batchPairs: c.pairs, photos: n, peakRssMiB: peakRssMiB(),
    runs: t.runs, foreignCores: t.foreignCores, loss: t.loss, backend: backendInfo()?.name, kernels: backendInfo()?.kernels,
  };
}
