/**
 * The training-free and frozen-feature CLIP arms, on the paper's protocol (ANCHORS.md §4):
 * - `clip-zero-shot`: the hand-written prompt, no training (what `clip-text-finetune` gives with
 *   training.epochs = 0, as an explicit arm);
 * - `clip-linear-probe`: a softmax head on the frozen image features (CLIP paper App. A3; the
 *   same head and recipe as the face baselines' "(c)", lib/baselines/softmax-head.ts);
 * - `clip-tip-adapter`: Tip-Adapter (Zhang et al., arXiv 2111.03930), training-free: keys = the
 *   training images' features, values = their one-hot labels,
 *     logits = exp(logit_scale)·f·Wᵀ + α·exp(−β·(1 − f·Keysᵀ))·Values
 *   (gaopengcuhk/Tip-Adapter main.py: clip_logits = 100·f@W, cache_logits = exp(−(β − β·affinity))
 *   @ values, tip_logits = clip_logits + cache_logits·α). α = 0 is zero-shot CLIP; α → ∞ is the
 *   cache alone, a kernel-weighted vote of the training images.
 */
import { headCosines, headLogits, softmaxRows, trainSoftmaxHead } from '../baselines/softmax-head.ts';
import { dotMatrix } from '../util/rows.ts';
import { clipResult, clipSetup, textFeatures } from './clip-common.ts';
import { methodOptions } from './options.ts';
import type { Method } from './types.ts';

export const clipZeroShot: Method = {
  name: 'clip-zero-shot',
  async run(ctx) {
    const s = await clipSetup(ctx);
    try {
      const cos = dotMatrix(s.feats, textFeatures(s), s.dim);
      const scale = Math.exp(s.loaded.model.logitScale);
      return clipResult(s, {
        probs: softmaxRows(cos.map((r) => r.map((c) => c * scale))), cosines: cos, log: [],
        description: `${s.loaded.description}, zero-shot (no training)`,
        extra: { label: 'CLIP zero-shot', prompt: ctx.cfg.prompt.template, names: ctx.cfg.prompt.names ?? 'real' },
      });
    } finally {
      s.loaded.model.dispose();
    }
  },
};

export const clipLinearProbe: Method = {
  name: 'clip-linear-probe',
  async run(ctx) {
    const s = await clipSetup(ctx);
    try {
      const o = methodOptions(ctx.cfg).head;
      const { head, log } = trainSoftmaxHead(s.trainFeats, s.labels, ctx.classes.length, { ...o, seed: ctx.cfg.training.seed ?? ctx.cfg.seed });
      return clipResult(s, {
        probs: softmaxRows(headLogits(head, s.feats)), cosines: headCosines(head, s.feats), log, prompts: null, // no text side
        description: `${s.loaded.description}, linear probe on frozen image features (Adam, ${o.epochs} epochs, batch ${o.batchSize}, lr ${o.lr})`,
        extra: { label: 'CLIP linear probe', options: { head: o }, cosines: 'cosine of each image feature with each class column of the head' },
      });
    } finally {
      s.loaded.model.dispose();
    }
  },
};

export interface TipAdapterInput {
  /** unit image features to score, [n, dim] */
  feats: Float32Array;
  /** unit cache keys (training features), [k, dim] */
  keys: Float32Array;
  /** class of each key */
  labels: Int32Array;
  classes: number;
  /** unit class text features, [classes, dim] */
  text: Float32Array;
  dim: number;
  /** CLIP's exp(logit_scale) (100 for OpenAI weights) */
  scale: number;
  alpha: number;
  beta: number;
}

/** Tip-Adapter logits [n][classes] and their two parts. */
export function tipAdapterLogits(t: TipAdapterInput): { logits: number[][]; clip: number[][]; cache: number[][] } {
  const clip = dotMatrix(t.feats, t.text, t.dim).map((r) => r.map((c) => c * t.scale));
  const affinity = dotMatrix(t.feats, t.keys, t.dim);
  const cache = affinity.map((row) => {
    const out = new Array<number>(t.classes).fill(0);
    row.forEach((a, k) => { out[t.labels[k]!]! += Math.exp(-t.beta * (1 - a)); });
    return out;
  });
  return { logits: clip.map((r, i) => r.map((z, c) => z + t.alpha * cache[i]![c]!)), clip, cache };
}

export const clipTipAdapter: Method = {
  name: 'clip-tip-adapter',
  async run(ctx) {
    const s = await clipSetup(ctx);
    try {
      const { alpha, beta } = methodOptions(ctx.cfg).tipAdapter;
      const text = textFeatures(s);
      const { logits } = tipAdapterLogits({
        feats: s.feats, keys: s.trainFeats, labels: s.labels, classes: ctx.classes.length, text, dim: s.dim,
        scale: Math.exp(s.loaded.model.logitScale), alpha, beta,
      });
      return clipResult(s, {
        probs: softmaxRows(logits), cosines: dotMatrix(s.feats, text, s.dim), log: [],
        description: `${s.loaded.description}, Tip-Adapter cache of ${s.labels.length} training images (α ${alpha}, β ${beta}; training-free)`,
        extra: { label: `CLIP Tip-Adapter (α ${alpha}, β ${beta})`, options: { tipAdapter: { alpha, beta } }, cosines: 'image-to-prompt cosines (the zero-shot part)' },
      });
    } finally {
      s.loaded.model.dispose();
    }
  },
};
