/**
 * Table I's baselines on the same split, crops and evaluation as the CLIP arm (arXiv 2411.12319
 * compares VGG-Face and ArcFace in two set-ups):
 * - `face-match` "(o)": the model's own recipe: L2-normalised embeddings, a gallery of the enrolled
 *   training images (mean template or nearest neighbour), a similarity threshold (documented or
 *   calibrated on training data; lib/baselines/gallery.ts), mapped to a confidence so the paper's
 *   0.8 rule accepts exactly "similarity ≥ threshold";
 * - `face-classifier` "(c)": the backbone as a plain image classifier: a softmax head on its frozen
 *   embeddings (Adam, 100 epochs, the paper's batch size), confidence threshold 0.8.
 * Embedders: face-api, human (offline stand-ins), teaching-arcface (the teaching CLIP's image tower
 * trained with ArcFace on the same corpus), onnx:<registry id> (ArcFace, VGG-Face).
 */
import { cachedFaceEmbeddings, createEmbedder, type FaceEmbedder } from '../baselines/embedder.ts';
import { calibrateThreshold, enrol, scoreGallery, similarityToConfidence, type Calibration, type SimilarityMetric } from '../baselines/gallery.ts';
import { headCosines, headLogits, softmaxRows, trainSoftmaxHead } from '../baselines/softmax-head.ts';
import { progress } from '../runtime/progress.ts';
import { cacheRoot } from '../services/stages.ts';
import { UserError } from '../util/errors.ts';
import { normalizeRows, pickRows } from '../util/rows.ts';
import { methodOptions, type MethodOptions } from './options.ts';
import type { Method, MethodResult, RunContext, RunImage } from './types.ts';

interface Embedded {
  embedder: FaceEmbedder;
  scored: RunImage[];
  raw: Float32Array;
  unit: Float32Array;
  trainRows: number[];
  labels: Int32Array;
  options: MethodOptions;
}

async function embedAll(ctx: RunContext): Promise<Embedded> {
  const options = methodOptions(ctx.cfg);
  const embedder = await createEmbedder(options.embedder, { registry: options.registry, baseDir: ctx.baseDir, say: ctx.say });
  try {
    if (embedder.inputSize === 112 && ctx.cfg.preprocess.margin !== 0) {
      ctx.say(`${embedder.description}: insightface's norm_crop is the tight ArcFace template (preprocess.margin 0); this run uses margin ${ctx.cfg.preprocess.margin}`);
    }
    const crops = await ctx.crops(embedder.inputSize);
    const scored = ctx.images.filter((i) => crops.file.has(i.entry.path));
    const bar = progress(`embed (${options.embedder})`, scored.length);
    const raw = await cachedFaceEmbeddings(embedder, scored.map((i) => crops.file.get(i.entry.path)!), cacheRoot(ctx.cfg), (d) => bar.update(d));
    bar.stop();
    const classIndex = new Map(ctx.classes.map((c, i) => [c.id, i]));
    const trainRows = scored.map((u, i) => (u.kind === 'train' ? i : -1)).filter((i) => i >= 0);
    if (!trainRows.length) throw new UserError('no usable training images after preprocessing');
    const labels = Int32Array.from(trainRows, (r) => classIndex.get(scored[r]!.entry.identity)!);
    return { embedder, scored, raw, unit: normalizeRows(raw, embedder.dim), trainRows, labels, options };
  } catch (e) {
    await embedder.dispose();
    throw e;
  }
}

const fmt = (x: number) => Number(x.toFixed(6));

export const faceMatch: Method = {
  name: 'face-match',
  async run(ctx): Promise<MethodResult> {
    const e = await embedAll(ctx);
    try {
      const { embedder, options: o } = e;
      const dim = embedder.dim, C = ctx.classes.length;
      // cosines of the unit embeddings (ROC, heatmaps), in the chosen gallery mode
      const cosines = scoreGallery(enrol('cosine', o.gallery, pickRows(e.unit, e.trainRows, dim), e.labels, C), e.unit);
      let metric: SimilarityMetric = 'cosine', threshold: number, rule: string, calibration: Calibration | null = null;
      if (o.threshold === 'documented') {
        if (!embedder.documented) throw new UserError(`${embedder.description} has no documented threshold (lib/baselines/thresholds.ts); use method.threshold "calibrated" or a cosine`);
        ({ metric, threshold } = embedder.documented);
        rule = `${embedder.documented.stated} [${embedder.documented.source}]`;
      } else if (o.threshold === 'calibrated') {
        calibration = calibrateThreshold(pickRows(e.unit, e.trainRows, dim), e.labels, C, o.gallery);
        if (!calibration) throw new UserError('method.threshold "calibrated" needs an identity with at least 2 training images (leave-one-out); use "documented" or a number');
        threshold = calibration.threshold;
        rule = `cosine ≥ ${fmt(threshold)} (${calibration.rule})`;
      } else {
        threshold = o.threshold;
        rule = `cosine ≥ ${threshold} (method.threshold)`;
      }
      const space = metric === 'cosine' ? e.unit : e.raw; // the documented euclidean/human rules read raw descriptors
      const sims = metric === 'cosine' ? cosines : scoreGallery(enrol(metric, o.gallery, pickRows(space, e.trainRows, dim), e.labels, C), space);
      const T = ctx.cfg.evaluation.threshold;
      const probs = sims.map((r) => r.map((s) => similarityToConfidence(s, threshold, T)));
      const label = `${embedderLabel(o)} (o, ${o.gallery === 'mean' ? 'mean template' : 'nearest neighbour'}, ${typeof o.threshold === 'number' ? 'fixed' : o.threshold} threshold)`;
      return {
        scored: e.scored, probs, cosines, log: [], features: { dim, data: e.unit }, prompts: null,
        description: `${embedder.description}, (o): ${o.gallery === 'mean' ? 'mean-template' : 'nearest-neighbour'} gallery, accept ${rule}`,
        extra: {
          label, setup: 'o', embedder: { spec: o.embedder, id: embedder.id, description: embedder.description, crop: embedder.cropNote },
          options: { embedder: o.embedder, gallery: o.gallery, threshold: o.threshold },
          acceptance: {
            metric, threshold: fmt(threshold), rule, calibration,
            confidence: `σ(10·(s − ${fmt(threshold)}) + logit(${T})): ${T} exactly at the threshold, increasing in s; per-class acceptance confidences, not a distribution`,
          },
        },
      };
    } finally {
      await e.embedder.dispose();
    }
  },
};

export const faceClassifier: Method = {
  name: 'face-classifier',
  async run(ctx): Promise<MethodResult> {
    const e = await embedAll(ctx);
    try {
      const { embedder, options: o } = e;
      const seed = ctx.cfg.training.seed ?? ctx.cfg.seed;
      const { head, log } = trainSoftmaxHead(pickRows(e.unit, e.trainRows, embedder.dim), e.labels, ctx.classes.length, { ...o.head, seed });
      return {
        scored: e.scored, probs: softmaxRows(headLogits(head, e.unit)), cosines: headCosines(head, e.unit), log,
        features: { dim: embedder.dim, data: e.unit }, prompts: null,
        description: `${embedder.description}, (c): softmax head on frozen L2-normalised embeddings (Adam, ${o.head.epochs} epochs, batch ${o.head.batchSize}, lr ${o.head.lr})`,
        extra: {
          label: `${embedderLabel(o)} (c, softmax head)`, setup: 'c',
          embedder: { spec: o.embedder, id: embedder.id, description: embedder.description, crop: embedder.cropNote },
          options: { embedder: o.embedder, head: o.head },
          cosines: 'cosine of each embedding with each class column of the head',
        },
      };
    } finally {
      await e.embedder.dispose();
    }
  },
};

function embedderLabel(o: MethodOptions): string {
  if (o.embedder === 'teaching-arcface') return 'teaching ArcFace ViT';
  return o.embedder === 'face-api' ? 'face-api ResNet-34' : o.embedder === 'human' ? 'Human FaceRes' : o.embedder.slice(5);
}
