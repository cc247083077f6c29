/**
 * The paper's split: "80 % train / 20 % test with a fixed seed", done per identity and, inside an
 * identity, stratified by view, so every person has the same share of front/above/below/left/right
 * shots on both sides. Seeded with our own PRNG (lib/util/rng.ts): the same manifest and seed
 * give the same split on every machine, and one identity's split does not depend on the others.
 *
 * - Unknown identities never enter training: their images go to `unknown` (open-set probes).
 * - Deployment frames (paths listed in `manifest.deployment`) are neither train nor test.
 * - `kShot` keeps k training images per identity (view-stratified, seeded) for shot ablations; the
 *   test set does not change with k, so K-shot curves share one test set.
 */
import { UserError } from '../util/errors.ts';
import { shuffled, streamRng } from '../util/rng.ts';
import { VIEWS, type ImageEntry, type Manifest, type View } from './types.ts';

export const PAPER_TRAIN_FRACTION = 0.8;

export interface SplitOptions {
  /** default 0 */
  seed?: number;
  /** share of each known identity's images used for training; default 0.8 (paper) */
  trainFraction?: number;
  /** keep only k training images per identity (after the split); undefined = all */
  kShot?: number;
}

export interface Split {
  seed: number;
  trainFraction: number;
  kShot?: number;
  /** known identities only */
  train: ImageEntry[];
  /** known identities only: the closed-set test */
  test: ImageEntry[];
  /** every non-deployment image of unknown identities (never trained on) */
  unknown: ImageEntry[];
  /** deployment-session frames, in manifest order */
  deployment: ImageEntry[];
  /** e.g. identities with fewer than k training images */
  warnings: string[];
}

/** Largest-remainder allocation of `total` over groups proportional to `sizes`; ties go to the earlier group in `order`. */
function allocate(sizes: number[], total: number, order: number[]): number[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => (n > 0 ? (s * total) / n : 0));
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const rank = order.slice().sort((a, b) => (exact[b]! - out[b]!) - (exact[a]! - out[a]!) || order.indexOf(a) - order.indexOf(b));
  for (const g of rank) {
    if (left <= 0) break;
    if (out[g]! < sizes[g]!) { out[g]!++; left--; }
  }
  return out;
}

export function splitDataset(manifest: Manifest, opts: SplitOptions = {}): Split {
  const seed = opts.seed ?? 0;
  const trainFraction = opts.trainFraction ?? PAPER_TRAIN_FRACTION;
  if (!(trainFraction > 0 && trainFraction <= 1)) throw new UserError(`split: trainFraction must be in (0, 1], got ${trainFraction}`);
  if (opts.kShot !== undefined && !(Number.isInteger(opts.kShot) && opts.kShot >= 1)) {
    throw new UserError(`split: kShot must be a positive integer, got ${opts.kShot}`);
  }
  const order = new Map(manifest.images.map((im, i) => [im, i]));
  const byOrder = (a: ImageEntry, b: ImageEntry) => order.get(a)! - order.get(b)!;
  const framePaths = new Set((manifest.deployment ?? []).flatMap((s) => s.frames));
  const role = new Map(manifest.identities.map((i) => [i.id, i.role]));

  const deployment = manifest.images.filter((im) => framePaths.has(im.path));
  const rest = manifest.images.filter((im) => !framePaths.has(im.path));
  const unknown = rest.filter((im) => role.get(im.identity) !== 'known');
  const train: ImageEntry[] = [];
  const test: ImageEntry[] = [];
  const warnings: string[] = [];

  for (const ident of manifest.identities) {
    if (ident.role !== 'known') continue;
    const mine = rest.filter((im) => im.identity === ident.id);
    if (mine.length === 0) continue;
    const groups: ImageEntry[][] = VIEWS.map((v: View) =>
      shuffled(streamRng('split', seed, ident.id, v), mine.filter((im) => im.view === v)));
    const viewOrder = shuffled(streamRng('split-order', seed, ident.id), VIEWS.map((_, g) => g));
    const nTest = Math.min(Math.round(mine.length * (1 - trainFraction)), mine.length - 1);
    const quota = allocate(groups.map((g) => g.length), nTest, viewOrder);
    const trainGroups = groups.map((g, i) => g.slice(quota[i]));
    groups.forEach((g, i) => test.push(...g.slice(0, quota[i])));

    if (opts.kShot === undefined) {
      train.push(...trainGroups.flat());
      continue;
    }
    const have = trainGroups.reduce((s, g) => s + g.length, 0);
    if (have < opts.kShot) warnings.push(`identity "${ident.id}" has ${have} training images, fewer than k = ${opts.kShot}; all are used`);
    // round-robin over the views in a seeded order: k = 5 gives one image per view
    const picked: ImageEntry[] = [];
    for (let round = 0; picked.length < Math.min(opts.kShot, have); round++) {
      for (const g of viewOrder) {
        const im = trainGroups[g]![round];
        if (im && picked.length < opts.kShot) picked.push(im);
      }
    }
    train.push(...picked);
  }
  return {
    seed, trainFraction, ...(opts.kShot !== undefined ? { kShot: opts.kShot } : {}),
    train: train.sort(byOrder), test: test.sort(byOrder), unknown, deployment, warnings,
  };
}
