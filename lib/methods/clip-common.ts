/**
 * What every CLIP arm starts from: the run's CLIP (real weights or the stamped random init), the
 * frozen image tower's features of every scored crop (cached by weights id + crop sha), the
 * training rows and labels, and one prompt per class (prompt.template, prompt.names). The arms
 * differ only in what they do with the text side (clip-finetune.ts, clip-arms.ts, clip-coop.ts).
 */
import { tf } from '../runtime/tf.ts';
import { l2normalize } from '../clip/model.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { cachedImageEmbeddings } from '../services/embeddings.ts';
import { loadExperimentModel, type LoadedModel } from '../services/model-source.ts';
import { progress } from '../runtime/progress.ts';
import { cacheRoot } from '../services/stages.ts';
import { UserError } from '../util/errors.ts';
import { normalizeRows, pickRows } from '../util/rows.ts';
import { classPrompts } from './options.ts';
import type { MethodResult, RunContext, RunImage } from './types.ts';

export interface ClipSetup {
  loaded: LoadedModel;
  scored: RunImage[];
  dim: number;
  /** L2-normalised image features of `scored`, [n, dim] */
  feats: Float32Array;
  trainRows: number[];
  trainFeats: Float32Array;
  labels: Int32Array;
  prompts: string[];
  tokens: Int32Array[];
}

/** Load the model and embed every crop; the caller disposes `loaded.model`. */
export async function clipSetup(ctx: RunContext): Promise<ClipSetup> {
  const { cfg } = ctx;
  const loaded = await loadExperimentModel(cfg, ctx.baseDir);
  const { model } = loaded;
  if (loaded.random) ctx.say(`MODEL: ${loaded.description}${loaded.fallbackReason ? ` (${loaded.fallbackReason})` : ''}`);
  try {
    const crops = await ctx.crops(model.cfg.vision.imageSize);
    const scored = ctx.images.filter((i) => crops.file.has(i.entry.path));
    const classIndex = new Map(ctx.classes.map((c, i) => [c.id, i]));
    const prompts = classPrompts(cfg, ctx.classes, ctx.ds);
    const tokens = ClipTokenizer.load().tokenize(prompts, model.cfg.text.contextLength).tokens;
    const dim = model.cfg.embedDim;
    const bar = progress('embed images', scored.length);
    const raw = await cachedImageEmbeddings(model, loaded.weightsId, scored.map((i) => crops.file.get(i.entry.path)!), cacheRoot(cfg), (d) => bar.update(d));
    bar.stop();
    const feats = normalizeRows(raw, dim);
    const trainRows = scored.map((u, i) => (u.kind === 'train' ? i : -1)).filter((i) => i >= 0);
    if (!trainRows.length) throw new UserError('no usable training images after preprocessing');
    const trainFeats = pickRows(feats, trainRows, dim);
    const labels = Int32Array.from(trainRows, (r) => classIndex.get(scored[r]!.entry.identity)!);
    return { loaded, scored, dim, feats, trainRows, trainFeats, labels, prompts, tokens };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** L2-normalised text features of the class prompts, [classes, dim]. */
export function textFeatures(s: ClipSetup, tokens: Int32Array[] = s.tokens): Float32Array {
  return tf.tidy(() => l2normalize(s.loaded.model.encodeText(tokens)).dataSync() as Float32Array);
}

/** The common part of a CLIP arm's result (random-weights stamp, features, prompts). */
export function clipResult(s: ClipSetup, r: Pick<MethodResult, 'probs' | 'cosines' | 'log' | 'description' | 'extra'> & { prompts?: string[] | null }): MethodResult {
  return {
    scored: s.scored, ...r, features: { dim: s.dim, data: s.feats }, prompts: r.prompts !== undefined ? r.prompts : s.prompts,
    ...(s.loaded.stamp ? { stamp: s.loaded.stamp } : {}),
  };
}
