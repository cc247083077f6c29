/**
 * What one pretraining step sees, as a pure function of (corpus, seed, step): which photos, their
 * pixels (crop → random shift → CLIP normalisation, NCHW), their captions, and the positive mask.
 * Everything draws from its own seeded stream, so a resumed run replays the same batches.
 *
 * A batch is `batchPairs` pairs of photos of one identity (2·batchPairs images and as many
 * captions, one per photo). An epoch shows every training photo once: each identity's photos are
 * shuffled into pairs, all pairs shuffled, then cut into batches (the remainder is dropped).
 * An identity can fall twice into one batch; the multi-positive loss counts it as the same person.
 */
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import { shuffled, streamRng } from '../util/rng.ts';
import { agrees, caption, describes, facialHairNegative, facialHairNoun, type CaptionClaims } from './captions.ts';
import type { Corpus } from './corpus.ts';

export interface StepBatch {
  /** global image indices into the corpus, 2 per pair */
  images: number[];
  /** corpus identity index of each image (and of its caption) */
  ids: number[];
  pixels: Float32Array;
  captions: string[];
  /** the captions' tokens, then the hard negatives' */
  tokens: Int32Array[];
  /** hard negative captions (captions.ts facialHairNegative): extra columns of the image → text loss only */
  negatives: string[];
  /**
   * [n, n + negatives] 0/1: positives[i·cols + j] = 1 when text j may describe photo i (same person
   * and claims agree, or a short caption true of another person); a negative is never its own
   * photo's, but it is another photo's when it happens to be true of it
   */
  positives: Float32Array;
}

/** Pairs of image indices per batch for one epoch. */
export function epochBatches(corpus: Corpus, seed: number, epoch: number, batchPairs: number): [number, number][][] {
  const rng = streamRng('pretrain-epoch', seed, epoch);
  const byId = new Map<number, number[]>();
  corpus.manifest.images.forEach((im, k) => {
    if (corpus.manifest.identities[im.identity]!.set !== 'train') return;
    const list = byId.get(im.identity) ?? [];
    list.push(k);
    byId.set(im.identity, list);
  });
  const pairs: [number, number][] = [];
  for (const imgs of byId.values()) {
    const s = shuffled(rng, imgs);
    for (let i = 0; i + 1 < s.length; i += 2) pairs.push([s[i]!, s[i + 1]!]);
  }
  const all = shuffled(rng, pairs);
  const out: [number, number][][] = [];
  for (let i = 0; i + batchPairs <= all.length; i += batchPairs) out.push(all.slice(i, i + batchPairs));
  return out;
}

export function stepsPerEpoch(corpus: Corpus, batchPairs: number): number {
  const counts = new Map<number, number>();
  for (const im of corpus.manifest.images) if (corpus.manifest.identities[im.identity]!.set === 'train') counts.set(im.identity, (counts.get(im.identity) ?? 0) + 1);
  let pairs = 0;
  for (const c of counts.values()) pairs += Math.floor(c / 2);
  return Math.floor(pairs / batchPairs);
}

/**
 * Crops → CLIP pixel values (NCHW, (x/255 − mean)/std), each shifted by up to ±`shift` px with
 * edge pixels repeated (stands in for a detector's alignment jitter). shift 0 = the crops as stored.
 */
export function cropsToPixels(corpus: Corpus, images: number[], mean: readonly number[], std: readonly number[], shift = 0, rng?: () => number): Float32Array {
  const s = corpus.manifest.options.cropSize, plane = s * s;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((k, b) => {
    const dx = shift && rng ? Math.floor(rng() * (2 * shift + 1)) - shift : 0;
    const dy = shift && rng ? Math.floor(rng() * (2 * shift + 1)) - shift : 0;
    const src = k * plane * 3;
    for (let y = 0; y < s; y++) {
      const sy = Math.min(s - 1, Math.max(0, y - dy));
      for (let x = 0; x < s; x++) {
        const sx = Math.min(s - 1, Math.max(0, x - dx));
        const p = src + (sy * s + sx) * 3;
        for (let c = 0; c < 3; c++) out[b * 3 * plane + c * plane + y * s + x] = (corpus.pixels[p + c]! / 255 - mean[c]!) / std[c]!;
      }
    }
  });
  return out;
}

/**
 * captions false: pixels and identities only (objective arcface), the caption work skipped;
 * facialHairNegatives: the chance that a caption naming a man's facial hair (or "clean-shaven")
 * brings its counterfactual as a hard negative (0 or absent: none, the batch is as before)
 */
export interface BatchOptions { seed: number; maxTokens: number; shiftPx: number; mean: readonly number[]; std: readonly number[]; contextLength: number; captions?: boolean; facialHairNegatives?: number }

/** Every facial-hair phrase of the training identities (what a clean-shaven man's negative may claim), cached per corpus. */
const pools = new WeakMap<Corpus, string[]>();
function facialHairPool(corpus: Corpus): string[] {
  let pool = pools.get(corpus);
  if (!pool) {
    const set = new Set<string>();
    for (const id of corpus.manifest.identities) if (id.set === 'train' && id.traits.gender === 'man' && id.traits.facialHair) set.add(facialHairNoun(id.traits.facialHair)!);
    pool = [...set].sort();
    pools.set(corpus, pool);
  }
  return pool;
}

/** Everything step `step` needs for the pairs `pairs`. */
export function makeBatch(corpus: Corpus, tok: ClipTokenizer, pairs: [number, number][], step: number, o: BatchOptions): StepBatch {
  const images = pairs.flat();
  const m = corpus.manifest;
  const ids = images.map((k) => m.images[k]!.identity);
  // the shifts have their own stream, so skipping the captions leaves the pixels unchanged
  const pixels = cropsToPixels(corpus, images, o.mean, o.std, o.shiftPx, streamRng('pretrain-shift', o.seed, step));
  if (o.captions === false) return { images, ids, pixels, captions: [], tokens: [], negatives: [], positives: new Float32Array(0) };
  const capRng = streamRng('pretrain-captions', o.seed, step);
  const count = (t: string) => tok.encode(t).length;
  const caps = images.map((k) => caption(m.identities[m.images[k]!.identity]!.traits, m.images[k]!.facts, capRng, count, o.maxTokens));
  // negatives draw from their own stream: without them, captions and pixels are unchanged
  const negRng = streamRng('pretrain-negatives', o.seed, step);
  const negs: { text: string; claims: CaptionClaims; owner: number }[] = [];
  if (o.facialHairNegatives) {
    const pool = facialHairPool(corpus);
    caps.forEach((c, i) => {
      if (negRng() >= o.facialHairNegatives!) return;
      const neg = facialHairNegative(m.identities[ids[i]!]!.traits, c.draft, c.claims, pool, negRng);
      if (neg) negs.push({ ...neg, owner: i });
    });
  }
  const n = images.length, cols = n + negs.length;
  const claims: CaptionClaims[] = [...caps.map((c) => c.claims), ...negs.map((g) => g.claims)];
  const positives = new Float32Array(n * cols);
  for (let i = 0; i < n; i++) {
    const facts = m.images[images[i]!]!.facts, traits = m.identities[ids[i]!]!.traits;
    for (let j = 0; j < cols; j++) {
      const textId = j < n ? ids[j]! : ids[negs[j - n]!.owner]!;
      if (j >= n && negs[j - n]!.owner === i) continue;
      const same = j < n && ids[i] === textId && (i === j || agrees(facts, claims[j]!));
      // another person's photo is a positive too when the (short) caption is true of it; so is any photo a negative is true of
      if (same || ((j >= n || ids[i] !== textId) && describes(traits, facts, claims[j]!))) positives[i * cols + j] = 1;
    }
  }
  const captions = caps.map((c) => c.text);
  const negatives = negs.map((g) => g.text);
  return { images, ids, pixels, captions, negatives, tokens: tok.tokenize([...captions, ...negatives], o.contextLength).tokens, positives };
}
