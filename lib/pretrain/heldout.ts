/**
 * The per-epoch check on people pretraining never saw (the corpus's heldout and hard sets):
 * verification over every pair of held-out photos, the near-twin set's TAR at FAR 1e-2 (all
 * impostor pairs, and twin pairs alone), and zero-shot attribute accuracy from text prompts
 * (when there is a trained text tower).
 */
import { ClipModel } from '../clip/model.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import { normalizeRows } from '../util/rows.ts';
import { cropsToPixels } from './batches.ts';
import { ATTRIBUTE_PROBES } from './captions.ts';
import type { Corpus, CorpusSet } from './corpus.ts';
import { attributeAccuracy, encodeImages, pairScores, probeClassifier, verification, type AttributeResult, type ImageModel, type Verification } from './evaluate.ts';

export interface TowerEval {
  heldout: Verification;
  /** near-twin set: all pairs, and genuine vs twin-impostor pairs only */
  hard: Verification & { twinsOnly: Verification };
  attributes: AttributeResult[];
}

/** Normalised image features of one corpus set, with each image's identity index. */
export function setFeatures(model: ImageModel, corpus: Corpus, set: CorpusSet): { feats: Float32Array; images: number[] } {
  const m = corpus.manifest;
  const images = m.images.map((_, k) => k).filter((k) => m.identities[m.images[k]!.identity]!.set === set);
  const p = model.cfg.preprocess;
  const raw = encodeImages(model, cropsToPixels(corpus, images, p.mean, p.std), images.length);
  return { feats: normalizeRows(raw, model.cfg.embedDim), images };
}

/** `tok` null: the image tower alone (objective arcface, or a shipped image tower), no zero-shot attributes. */
export function evaluateTowers(model: ImageModel, tok: ClipTokenizer | null, corpus: Corpus): TowerEval {
  const m = corpus.manifest, d = model.cfg.embedDim;
  const held = setFeatures(model, corpus, 'heldout');
  const heldIds = held.images.map((k) => m.images[k]!.identity);
  const hs = pairScores(held.feats, d, heldIds);
  const hard = setFeatures(model, corpus, 'hard');
  const hardIds = hard.images.map((k) => m.images[k]!.identity);
  const all = pairScores(hard.feats, d, hardIds);
  const base = (i: number) => { const id = m.identities[hardIds[i]!]!; return id.twinOf ?? id.id; };
  const twins = pairScores(hard.feats, d, hardIds, (i, j) => base(i) === base(j));
  const truth = held.images.map((k) => ({ traits: m.identities[m.images[k]!.identity]!.traits, facts: m.images[k]!.facts }));
  const attributes = tok && model instanceof ClipModel ? ATTRIBUTE_PROBES.map((p) => attributeAccuracy(held.feats, d, truth, p, probeClassifier(model, tok, p))) : [];
  return { heldout: verification(hs.genuine, hs.impostor), hard: { ...verification(all.genuine, all.impostor), twinsOnly: verification(twins.genuine, twins.impostor) }, attributes };
}
