/**
 * People the teaching CLIP never saw, made on the fly (notebook 9): a few identities of a
 * `data synth` seed, photographed the way the pretraining corpus is (the demo set's render, the
 * corpus's glasses and hat rates so those attributes have pictures, alignment with the generator's
 * exact 5 points), each with its traits, a description and the name `data synth` would give it.
 *
 * Unseen by construction: corpus.ts keeps every pretraining identity more than one part away from
 * the first 64 identities of `data synth` seeds 0–99, so only those seeds and sizes are accepted.
 */
import { alignMatrix } from '../preprocess/align.ts';
import { decodeImageBuffer, warpAffineRgb } from '../runtime/image.ts';
import { generateFaces } from '../data/synth-face.ts';
import { pickName } from '../data/synth-names.ts';
import { GENERATOR, renderShot } from '../data/synth.ts';
import { sampleShot, type OccluderRates, type Shot } from '../data/synth-scene.ts';
import { VIEWS, type View } from '../data/types.ts';
import { UserError } from '../util/errors.ts';
import { streamRng } from '../util/rng.ts';
import { identityTraits, type IdentityTraits, type ImageFacts } from './captions.ts';
import { describeTraits } from './describe.ts';

/** corpus.ts: identities of these seeds, up to this many, never came within 1 part of a pretraining identity. */
export const UNSEEN_SEEDS = 100;
export const UNSEEN_MAX_PEOPLE = 64;

export interface UnseenOptions {
  /** a `data synth` seed in 0–99 */
  seed: number;
  /** 2–64 people: the first ones that seed draws */
  people: number;
  /** photos per person, views cycled front, above, below, left, right */
  photos: number;
  /** render side before alignment; default 256 (the demo set's) */
  renderSize?: number;
  /** aligned crop side; default 64 (the teaching CLIP's input) */
  cropSize?: number;
  /** default 0.25 (the crop margin the teaching CLIP was pretrained on) */
  margin?: number;
  /** default the pretraining corpus's 25 % glasses and 15 % hats */
  occluders?: OccluderRates;
}

export interface UnseenPerson { id: string; name: string; traits: IdentityTraits; description: string }

export interface UnseenPeople {
  people: UnseenPerson[];
  /** one per photo: whose it is and what it shows */
  photos: { person: number; view: View; facts: ImageFacts }[];
  /** aligned crops, RGB HWC 8-bit, cropSize² × 3 bytes each, in `photos` order */
  crops: Uint8Array;
  cropSize: number;
}

/** What a photo shows beyond the person (glasses, headwear, expression, view), as captions.ts words it. */
export function shotFacts(shot: Shot, view: View): ImageFacts {
  const a = shot.look.accessory;
  const headwear = a.startsWith('hat') ? 'hat' : a.startsWith('headband') ? 'headband' : undefined;
  return {
    glasses: shot.look.glasses !== 'none', ...(headwear ? { headwear } : {}), expression: shot.look.expression, view,
    mouthChanged: !['neutral', 'blink'].includes(shot.look.expression),
  };
}

export async function makeUnseenPeople(o: UnseenOptions): Promise<UnseenPeople> {
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= UNSEEN_SEEDS) throw new UserError(`unseen people: seed must be an integer in [0, ${UNSEEN_SEEDS - 1}] (only those seeds are kept out of pretraining), got ${o.seed}`);
  if (!Number.isInteger(o.people) || o.people < 2 || o.people > UNSEEN_MAX_PEOPLE) throw new UserError(`unseen people: people must be an integer in [2, ${UNSEEN_MAX_PEOPLE}], got ${o.people}`);
  if (!Number.isInteger(o.photos) || o.photos < 1 || o.photos > 100) throw new UserError(`unseen people: photos must be an integer in [1, 100], got ${o.photos}`);
  const size = o.renderSize ?? 256, crop = o.cropSize ?? 64, margin = o.margin ?? 0.25;
  const rates = o.occluders ?? { glasses: 0.25, hat: 0.15 };
  // the same streams as `data synth --seed`: the same people under the same names
  const faces = generateFaces(streamRng(GENERATOR, o.seed, 'identities'), o.people);
  const nameRng = streamRng(GENERATOR, o.seed, 'names');
  const used = new Set<string>();
  const people = faces.map((f, i) => {
    const traits = identityTraits(f);
    return { id: `p${String(i + 1).padStart(2, '0')}`, name: pickName(nameRng, f.gender, used), traits, description: describeTraits(traits) };
  });
  const jobs = faces.flatMap((_, person) => Array.from({ length: o.photos }, (_, j) => ({ person, j, view: VIEWS[j % 5]! })));
  const per = crop * crop * 3;
  const crops = new Uint8Array(jobs.length * per);
  const photos: UnseenPeople['photos'] = new Array(jobs.length);
  let next = 0;
  // a few renders in flight: librsvg and the JPEG codec run off the main thread
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < jobs.length) {
      const k = next++;
      const { person, j, view } = jobs[k]!;
      const id = people[person]!.id;
      const shot = sampleShot(streamRng('unseen-people', o.seed, 'image', id, j), view, size, rates);
      const photo = await renderShot(faces[person]!, shot, size, streamRng('unseen-people', o.seed, 'noise', id, j));
      const img = await decodeImageBuffer(photo.jpeg, `${id}/${j}.jpg`);
      crops.set(warpAffineRgb(img, alignMatrix(photo.keypoints, { size: crop, margin }), crop, crop).data, k * per);
      photos[k] = { person, view, facts: shotFacts(shot, view) };
    }
  }));
  return { people, photos, crops, cropSize: crop };
}

/** Crops → CLIP input (NCHW, (x/255 − mean)/std), as lib/pretrain/batches.ts feeds pretraining. */
export function unseenPixels(u: UnseenPeople, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = u.cropSize * u.cropSize;
  const out = new Float32Array(u.photos.length * 3 * plane);
  for (let b = 0; b < u.photos.length; b++) {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[(b * 3 + c) * plane + p] = (u.crops[(b * plane + p) * 3 + c]! / 255 - mean[c]!) / std[c]!;
  }
  return out;
}
