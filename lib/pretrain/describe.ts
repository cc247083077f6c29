/**
 * A person described in words, with no name: the descriptive prompt of the prompt ablation
 * (`prompt.names: "description"`, issue 11). The teaching CLIP learnt what these words look like
 * in pretraining (captions.ts), and never saw a name, so zero-shot identification works from a
 * description and not from a name: the reason the paper finetunes the text tower on names.
 *
 * A synthetic set records its generator's seed, not the faces: the enrolled people are drawn again
 * from the same stream (`data synth` draws them first, in order, and lib/pretrain/corpus.ts relies
 * on the same contract to keep them out of pretraining) and checked against the manifest's names,
 * which the generator picks from the same faces' genders in the same order.
 */
import { join } from 'node:path';
import type { Manifest } from '../data/types.ts';
import { generateFaces, type SynthFace } from '../data/synth-face.ts';
import { pickName } from '../data/synth-names.ts';
import { GENERATOR } from '../data/synth.ts';
import { UserError } from '../util/errors.ts';
import { streamRng } from '../util/rng.ts';
import { identityPhrases, identityTraits, type IdentityTraits } from './captions.ts';

/**
 * The whole identity in one caption-style phrase, parts in captions.ts's order, no photo facts:
 * "a woman with black long hair, thick long hair, light skin, an oval head, …, a full mouth".
 */
export function describeTraits(t: IdentityTraits): string {
  const { nouns, predicates } = identityPhrases(t);
  return [`a ${t.gender} with ${nouns.join(', ')}`, ...predicates].join(', ');
}

/** Whether `identityDescriptions` can describe this manifest's people (a `data synth` set). */
export function describable(manifest: Pick<Manifest, 'generator'>): boolean {
  return manifest.generator?.name === GENERATOR && typeof manifest.generator.seed === 'number';
}

/** The enrolled people of a `data synth` manifest, drawn again from its generator seed, by identity id. */
export function synthFacesOf(manifest: Manifest, root: string): Map<string, SynthFace> {
  const file = join(root, 'manifest.json');
  const g = manifest.generator;
  const known = Number(g?.options?.identities);
  if (g?.name !== GENERATOR || typeof g.seed !== 'number' || !Number.isInteger(known) || known < 1) {
    throw new UserError(`${file}: prompt.names "description" needs each person's traits in words, which only a synthetic set (clipface data synth) can give; use prompt.names "real" or "neutral" for this dataset`);
  }
  const faces = generateFaces(streamRng(GENERATOR, g.seed, 'identities'), known);
  // synth.ts: ids p01, p02, … in drawing order, names picked in the same order from each face's gender
  const nameRng = streamRng(GENERATOR, g.seed, 'names');
  const used = new Set<string>();
  const names = faces.map((f) => pickName(nameRng, f.gender, used));
  const out = new Map<string, SynthFace>();
  for (const ident of manifest.identities) {
    const i = Number(/^p(\d+)$/.exec(ident.id)?.[1]) - 1;
    if (!(i >= 0 && i < known)) continue;
    if (names[i] !== ident.name) {
      throw new UserError(`${file}: identity ${ident.id} is "${ident.name}", but generator seed ${g.seed} draws "${names[i]}" there, so its traits cannot be recovered; regenerate the set with clipface data synth, or use prompt.names "real"`);
    }
    out.set(ident.id, faces[i]!);
  }
  return out;
}

/** One description per identity id, for the enrolled people of a synthetic set. */
export function identityDescriptions(manifest: Manifest, root: string): Map<string, string> {
  return new Map([...synthFacesOf(manifest, root)].map(([id, f]) => [id, describeTraits(identityTraits(f))]));
}
