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
import { agrees, caption, describes, type CaptionClaims } from './captions.ts';
import type { Corpus } from './corpus.ts';

export interface StepBatch {
  /** global image indices into the corpus, 2 per pair */
  images: number[];
  /** corpus identity index of each image (and of its caption) */
  ids: number[];
  pixels: Float32Array;
  captions: string[];
  tokens: Int32Array[];
  /** positives[i·n + j] = 1 when caption j may describe photo i (same person and claims agree, or a short caption true of another person) */
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

/** captions false: pixels and identities only (objective arcface), the caption work skipped */
export interface BatchOptions { seed: number; maxTokens: number; shiftPx: number; mean: readonly number[]; std: readonly number[]; contextLength: number; captions?: boolean }

/** Everything step `step` needs for the pairs `pairs`. */
export function makeBatch(corpus: Corpus, tok: ClipTokenizer, pairs: [number, number][], step: number, o: BatchOptions): StepBatch {
  const images = pairs.flat();
  const m = corpus.manifest;
  const ids = images.map((k) => m.images[k]!.identity);
  // the shifts have their own stream, so skipping the captions leaves the pixels unchanged
  const pixels = cropsToPixels(corpus, images, o.mean, o.std, o.shiftPx, streamRng('pretrain-shift', o.seed, step));
  if (o.captions === false) return { images, ids, pixels, captions: [], tokens: [], positives: new Float32Array(0) };
  const capRng = streamRng('pretrain-captions', o.seed, step);
  const count = (t: string) => tok.encode(t).length;
  const caps = images.map((k) => caption(m.identities[m.images[k]!.identity]!.traits, m.images[k]!.facts, capRng, count, o.maxTokens));
  const n = images.length;
  const positives = new Float32Array(n * n);
  const claims: CaptionClaims[] = caps.map((c) => c.claims);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const facts = m.images[images[i]!]!.facts;
    const same = ids[i] === ids[j] && (i === j || agrees(facts, claims[j]!));
    // another person's photo is a positive too when the (short) caption is true of it
    if (same || (ids[i] !== ids[j] && describes(m.identities[ids[i]!]!.traits, facts, claims[j]!))) positives[i * n + j] = 1;
  }
  const captions = caps.map((c) => c.text);
  return { images, ids, pixels, captions, tokens: tok.tokenize(captions, o.contextLength).tokens, positives };
}
