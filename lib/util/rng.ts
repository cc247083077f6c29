/**
 * Seeded randomness shared by the whole project (splits, synthetic data, random-init weights,
 * shuffles, bootstrap). Own code, not Math.random, so a seed gives the same numbers on every
 * machine and Node version: mulberry32 (a 32-bit state PRNG by Tommy Ettinger, public domain)
 * seeded from an FNV-1a hash of the parts that name a stream, e.g. `streamRng(seed, "image", id, i)`.
 * Streams are independent of each other, so adding an identity or an image never reshuffles others.
 */

export type Rng = () => number;

/** FNV-1a (32-bit) over the UTF-8 bytes of the parts joined by U+001F. */
export function hash32(...parts: (string | number)[]): number {
  const bytes = new TextEncoder().encode(parts.map(String).join('\u001f'));
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: uniform floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator for the stream named by `parts` (hash32 of them, then mulberry32). */
export function streamRng(...parts: (string | number)[]): Rng {
  return mulberry32(hash32(...parts));
}

export const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng();
/** integer in [lo, hi], both ends included */
export const randInt = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const chance = (rng: Rng, p: number): boolean => rng() < p;

export function choice<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('choice: empty list');
  return items[Math.floor(rng() * items.length)]!;
}

/** Pick a key with probability proportional to its weight. */
export function weighted<K extends string>(rng: Rng, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = rng() * total;
  for (const [k, w] of entries) {
    r -= w;
    if (r < 0) return k;
  }
  return entries[entries.length - 1]![0];
}

/** Standard normal (Box–Muller; one value per call, the second is discarded for simplicity). */
export function gauss(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Fisher–Yates, returning a new array. */
export function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
