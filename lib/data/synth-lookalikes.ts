/**
 * Lookalike unknowns for the deployment test (issue 11): people never enrolled who are an enrolled
 * person with exactly `d` of the 8 identity part ids changed (SYNTHFACE-NOTES §2.1; colours, head
 * width and every other trait kept, `lookalikeFace` in synth-face.ts). The paper's claim is about
 * false positives between similar-looking people; enrolled people differ in ≥ 5 parts
 * (DEMO_DISTINCT), so a distance of 1–3 is a near twin and a distinct stranger sits at ≥ 5.
 *
 * Each lookalike is drawn from its own stream, hash(seed, 'lookalike', base slot, d), so asking
 * for lookalikes never changes the enrolled people or the strangers, and more lookalikes never
 * change the earlier ones. The j-th base is the j-th enrolled person in a seeded order, and it gets
 * one lookalike at every distance asked for: the distances are compared on the same people.
 */
import { UserError } from '../util/errors.ts';
import { shuffled, streamRng } from '../util/rng.ts';
import { lookalikeFace, partIds, type IdPart, type SynthFace } from './synth-face.ts';

/** Largest distance asked for: the demo's enrolled people differ in ≥ 5 parts, so 5 is a stranger. */
export const MAX_LOOKALIKE_DISTANCE = 4;

export interface LookalikeOptions {
  /** identity-part distances, each in 1..4; default [1, 2, 3] */
  distances?: number[];
  /** lookalikes per distance (one per enrolled base person); default 1 */
  perDistance?: number;
  /** enrolment-style photos of each lookalike (open-set probes, never trained on); default the set's perIdentity */
  photos?: number;
}

export interface PlannedLookalike {
  face: SynthFace;
  /** index of the enrolled base person among the known faces */
  of: number;
  distance: number;
  /** the part ids that differ from the base, sorted */
  parts: IdPart[];
}

/** How many part ids differ. */
export function partDistance(a: readonly string[], b: readonly string[]): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

/** The distances option, checked: distinct integers in 1..4, ascending. */
export function lookalikeDistances(opts: LookalikeOptions): number[] {
  const ds = opts.distances ?? [1, 2, 3];
  for (const d of ds) {
    if (!Number.isInteger(d) || d < 1 || d > MAX_LOOKALIKE_DISTANCE) {
      throw new UserError(`data synth: lookalike distances must be integers in [1, ${MAX_LOOKALIKE_DISTANCE}] (parts that differ from the enrolled person), got ${d}`);
    }
  }
  if (new Set(ds).size !== ds.length) throw new UserError(`data synth: lookalike distances repeat a value (${ds.join(', ')}); list each once`);
  return [...ds].sort((a, b) => a - b);
}

/**
 * Lookalikes of `known` faces, `perDistance` bases × every distance. A draw is kept only when it
 * differs from its base in exactly d parts (a redrawn part can land on the same id, or a part can
 * have one id only for a gender, e.g. facialHair), is farther than d from every other enrolled
 * person (so `of` is its one nearest enrolled person) and is no copy of anyone drawn before
 * (`others`: the strangers, then earlier lookalikes).
 */
export function planLookalikes(generator: string, seed: number, known: SynthFace[], others: SynthFace[], opts: LookalikeOptions): PlannedLookalike[] {
  const distances = lookalikeDistances(opts);
  const perDistance = opts.perDistance ?? 1;
  if (!Number.isInteger(perDistance) || perDistance < 0) throw new UserError(`data synth: lookalikes perDistance must be a non-negative integer, got ${perDistance}`);
  if (perDistance > known.length) throw new UserError(`data synth: ${perDistance} lookalikes per distance need as many enrolled people, there are ${known.length}; lower perDistance or raise identities`);
  const knownIds = known.map((f) => partIds(f.face));
  const taken = [...knownIds, ...others.map((f) => partIds(f.face))];
  const bases = shuffled(streamRng(generator, seed, 'lookalike-bases'), known.map((_, i) => i)).slice(0, perDistance);
  const out: PlannedLookalike[] = [];
  bases.forEach((of, slot) => {
    for (const d of distances) {
      const rng = streamRng(generator, seed, 'lookalike', slot, d);
      let kept: PlannedLookalike | undefined;
      for (let t = 0; t < 500 && !kept; t++) {
        const { face, changed } = lookalikeFace(known[of]!, d, rng);
        const ids = partIds(face.face);
        if (partDistance(ids, knownIds[of]!) !== d) continue;
        if (knownIds.some((k, i) => i !== of && partDistance(ids, k) <= d)) continue;
        if (taken.some((k) => partDistance(ids, k) === 0)) continue;
        kept = { face, of, distance: d, parts: changed };
      }
      if (!kept) throw new UserError(`data synth: no lookalike at distance ${d} of enrolled person ${of + 1} in 500 draws; try another seed or other distances`);
      taken.push(partIds(kept.face.face));
      out.push(kept);
    }
  });
  return out;
}
