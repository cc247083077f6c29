/**
 * The options of `data synth`, checked and resolved to what the manifest records under
 * `generator.options`. The same record is what a run compares to decide whether a synthetic set on
 * disk still matches its experiment's `dataset.synth` (a set made for other options is stale and is
 * generated again; without this a changed config silently ran on the old people).
 */
import { UserError } from '../util/errors.ts';
import { lookalikeDistances, type LookalikeOptions } from './synth-lookalikes.ts';
import type { Manifest } from './types.ts';

export interface SynthOptions {
  /** default 1 */
  seed?: number;
  /** enrolled (known) identities; default 10 (paper) */
  identities?: number;
  /** people not enrolled; default 2 (paper) */
  unknown?: number;
  /** enrolment photos per person, spread evenly over the 5 views; default 30 (paper) */
  perIdentity?: number;
  /** image side in pixels; default 256 */
  size?: number;
  /** deployment frames per subject; default 5 (the paper's subjects stood 5 s before the camera) */
  deployFrames?: number;
  /** unknown lookalikes of enrolled people (synth-lookalikes.ts); absent or perDistance 0 = none */
  lookalikes?: LookalikeOptions;
  /** called after each written image */
  onProgress?: (done: number, total: number) => void;
}

export interface ResolvedLookalikes { distances: number[]; perDistance: number; photos: number }

/** What `generator.options` records: every option that changes the files. */
export interface SynthRecord {
  identities: number; unknown: number; perIdentity: number; size: number; deployFrames: number;
  /** only when lookalikes were asked for, so sets made before lookalikes existed still match */
  lookalikes?: ResolvedLookalikes;
}

export interface ResolvedSynth { seed: number; record: SynthRecord }

function intOption(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new UserError(`data synth: --${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  return v;
}

export function resolveSynthOptions(opts: SynthOptions): ResolvedSynth {
  const seed = intOption('seed', opts.seed ?? 1, 0, 2 ** 32 - 1);
  const perIdentity = intOption('per-identity', opts.perIdentity ?? 30, 1, 10000);
  const record: SynthRecord = {
    identities: intOption('identities', opts.identities ?? 10, 1, 10000),
    unknown: intOption('unknown', opts.unknown ?? 2, 0, 10000),
    perIdentity,
    size: intOption('size', opts.size ?? 256, 64, 2048),
    deployFrames: intOption('deploy-frames', opts.deployFrames ?? 5, 0, 1000),
  };
  const l = opts.lookalikes;
  if (l && (l.perDistance ?? 1) > 0) {
    record.lookalikes = {
      distances: lookalikeDistances(l),
      perDistance: intOption('lookalikes-per-distance', l.perDistance ?? 1, 0, 10000),
      photos: intOption('lookalike-photos', l.photos ?? perIdentity, 0, 10000),
    };
  }
  return { seed, record };
}

/**
 * Why the synthetic set described by `manifest` does not match `opts` (one line), or null when it
 * does. A manifest from another generator (the user's own data) is never stale: it is not ours to
 * replace.
 */
export function staleSynthReason(manifest: Pick<Manifest, 'generator'>, generator: string, version: number, opts: SynthOptions): string | null {
  const g = manifest?.generator;
  if (g?.name !== generator) return null;
  const want = resolveSynthOptions(opts);
  if (g.version !== version) return `generator version ${g.version}, this code writes ${version}`;
  if (g.seed !== want.seed) return `seed ${g.seed}, the config asks for ${want.seed}`;
  const have = JSON.stringify(canonical(g.options ?? {}));
  const wanted = JSON.stringify(canonical(want.record));
  return have === wanted ? null : `options ${have}, the config asks for ${wanted}`;
}

/** Keys in a fixed order, so the comparison does not depend on how a file listed them. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}
