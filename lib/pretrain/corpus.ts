/**
 * The teaching CLIP's pretraining corpus: captioned, aligned face crops of synthetic identities
 * that never occur in a demo set.
 *
 * Three sets, drawn from one stream so that no identity is in two of them:
 * - train: `identities` × `perIdentity` photos (views cycled, the demo set's nuisances, more
 *   glasses and hats so those words have pictures);
 * - heldout: `heldout` identities × 4 photos, never trained on (per-epoch evaluation, gate 1);
 * - hard: `hard` base identities plus one lookalike each that differs in only 1 or 2 identity
 *   parts (near-twins, gate 2), × 4 photos.
 * Distinctness: the demo set's rule (≥ 5 of 8 part ids differ) cannot hold for thousands of
 * identities, so here every pair differs in ≥ 2 part ids, and no identity comes within 1 part of
 * the first 64 identities of `data synth` seeds 0–99 (the demo set is seed 1).
 *
 * Each photo goes through the demo's own path: rendered at `renderSize` as a JPEG, decoded, aligned
 * with the generator's exact 5 points to `cropSize` (ArcFace template, `margin`). Crops are stored
 * raw in shards of 100 identities (`shard-0000.bin` + `.json`), each written atomically, so an
 * interrupted build resumes where it stopped; `corpus.json` (the manifest: image, caption,
 * identity, facts) is written last. Byte-identical for the same seed and library builds.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alignMatrix } from '../preprocess/align.ts';
import { decodeImageBuffer, warpAffineRgb } from '../runtime/image.ts';
import { synthLibraryVersions } from '../runtime/image.ts';
import { DEMO_DISTINCT, generateFaces, lookalikeFace, partIds, type SynthFace } from '../data/synth-face.ts';
import { GENERATOR, renderShot } from '../data/synth.ts';
import { sampleShot } from '../data/synth-scene.ts';
import { VIEWS, type View } from '../data/types.ts';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.ts';
import { streamRng } from '../util/rng.ts';
import { identityTraits, type IdentityTraits, type ImageFacts } from './captions.ts';

export const CORPUS_VERSION = 1;
const CORPUS = 'clipface-teaching-corpus';
const SHARD = 100;

export interface CorpusOptions {
  seed: number;
  identities: number;
  perIdentity: number;
  heldout: number;
  hard: number;
  renderSize: number;
  cropSize: number;
  margin: number;
  glassesRate: number;
  hatRate: number;
}

export type CorpusSet = 'train' | 'heldout' | 'hard';

export interface CorpusIdentity {
  id: string;
  set: CorpusSet;
  traits: IdentityTraits;
  parts: string[];
  /** hard set: the base identity of a lookalike, and the parts that differ */
  twinOf?: string;
  changed?: string[];
}

export interface CorpusImage { identity: number; shard: number; index: number; facts: ImageFacts }

/** corpus.json: the one type its writer and its readers use. */
export interface CorpusManifest {
  format: typeof CORPUS;
  version: number;
  options: CorpusOptions;
  distinctness: string;
  packages: Record<string, string>;
  identities: CorpusIdentity[];
  images: CorpusImage[];
  shards: { file: string; images: number; sha256: string }[];
}

/** Loaded corpus: manifest + all crops in memory (uint8 HWC, cropSize², one after another). */
export interface Corpus { dir: string; manifest: CorpusManifest; pixels: Uint8Array }

const DEMO_SEEDS = 100, DEMO_IDS = 64;

/** Part-id tuples of the identities a user's `data synth` most likely makes (seeds 0–99, first 64). */
function demoIdentities(): string[][] {
  const out: string[][] = [];
  for (let s = 0; s < DEMO_SEEDS; s++) for (const f of generateFaces(streamRng(GENERATOR, s, 'identities'), DEMO_IDS, DEMO_DISTINCT)) out.push(partIds(f.face));
  return out;
}

const within = (a: string[], b: string[], maxDiffer: number) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && ++d > maxDiffer) return false;
  return true;
};

interface Planned { ident: CorpusIdentity; face: SynthFace; photos: number }

function planIdentities(o: CorpusOptions, onStatus?: (s: string) => void): Planned[] {
  onStatus?.(`drawing ${o.identities + o.heldout + o.hard} identities (avoiding ${DEMO_SEEDS}×${DEMO_IDS} demo-seed identities)`);
  const avoid = demoIdentities();
  const n = o.identities + o.heldout + o.hard;
  const faces = generateFaces(streamRng(CORPUS, o.seed, 'identities'), n, { minPartsDiffer: 2, eyeHairUnique: false },
    (f) => { const p = partIds(f.face); return avoid.some((a) => within(a, p, 1)); });
  const plan: Planned[] = faces.map((face, i) => {
    const set: CorpusSet = i < o.identities ? 'train' : i < o.identities + o.heldout ? 'heldout' : 'hard';
    return { face, photos: set === 'train' ? o.perIdentity : 4, ident: { id: `${set[0]}${String(i).padStart(5, '0')}`, set, traits: identityTraits(face), parts: partIds(face.face) } };
  });
  const train = plan.filter((p) => p.ident.set === 'train').map((p) => p.ident.parts);
  const twinRng = streamRng(CORPUS, o.seed, 'lookalikes');
  for (const base of plan.filter((p) => p.ident.set === 'hard')) {
    for (let t = 0; ; t++) {
      const { face, changed } = lookalikeFace(base.face, 1 + Math.floor(twinRng() * 2), twinRng);
      const parts = partIds(face.face);
      if (t < 50 && (train.some((a) => within(a, parts, 1)) || avoid.some((a) => within(a, parts, 1)))) continue;
      plan.push({ face, photos: 4, ident: { id: `${base.ident.id}-twin`, set: 'hard', traits: identityTraits(face), parts, twinOf: base.ident.id, changed } });
      break;
    }
  }
  return plan;
}

function optionsKey(o: CorpusOptions): string {
  // a fixed field order: the same options give the same key whatever order a config lists them in
  const { seed, identities, perIdentity, heldout, hard, renderSize, cropSize, margin, glassesRate, hatRate } = o;
  const canonical = { seed, identities, perIdentity, heldout, hard, renderSize, cropSize, margin, glassesRate, hatRate };
  return createHash('sha256').update(JSON.stringify({ v: CORPUS_VERSION, o: canonical })).digest('hex').slice(0, 12);
}

interface ShardMeta { key: string; images: { identity: number; facts: ImageFacts }[] }

/** Render, align and store one shard's photos (raw crops in plan order). */
async function buildShard(plan: Planned[], first: number, o: CorpusOptions): Promise<{ bytes: Uint8Array; meta: ShardMeta['images'] }> {
  const jobs: { identity: number; j: number }[] = [];
  for (let i = first; i < Math.min(first + SHARD, plan.length); i++) for (let j = 0; j < plan[i]!.photos; j++) jobs.push({ identity: i, j });
  const per = o.cropSize * o.cropSize * 3;
  const bytes = new Uint8Array(jobs.length * per);
  const meta: ShardMeta['images'] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < jobs.length) {
      const k = next++;
      const { identity, j } = jobs[k]!;
      const p = plan[identity]!;
      const view: View = VIEWS[j % 5]!;
      const shot = sampleShot(streamRng(CORPUS, o.seed, 'image', p.ident.id, j), view, o.renderSize, { glasses: o.glassesRate, hat: o.hatRate });
      const photo = await renderShot(p.face, shot, o.renderSize, streamRng(CORPUS, o.seed, 'noise', p.ident.id, j));
      const img = await decodeImageBuffer(photo.jpeg, `${p.ident.id}/${j}.jpg`);
      const crop = warpAffineRgb(img, alignMatrix(photo.keypoints, { size: o.cropSize, margin: o.margin }), o.cropSize, o.cropSize);
      bytes.set(crop.data, k * per);
      const hw = shot.look.accessory.startsWith('hat') ? 'hat' : shot.look.accessory.startsWith('headband') ? 'headband' : undefined;
      meta[k] = {
        identity,
        facts: {
          glasses: shot.look.glasses !== 'none', ...(hw ? { headwear: hw } : {}), expression: shot.look.expression, view,
          mouthChanged: !['neutral', 'blink'].includes(shot.look.expression),
        },
      };
    }
  }));
  return { bytes, meta };
}

/**
 * Build (or resume, or reuse) the corpus in `dir`. Shards already written with the same options
 * are kept; `corpus.json` is written last, so a folder without it is an unfinished build.
 */
export async function buildCorpus(dir: string, o: CorpusOptions, hooks: { onProgress?: (done: number, total: number) => void; onStatus?: (s: string) => void; shouldStop?: () => boolean } = {}): Promise<CorpusManifest> {
  const key = optionsKey(o);
  const mf = join(dir, 'corpus.json');
  if (existsSync(mf)) {
    const m = readManifest(dir);
    if (optionsKey(m.options) === key) return m;
    throw new UserError(`${dir}: holds a corpus built with other options; choose another corpus.dir or remove that folder`);
  }
  mkdirSync(dir, { recursive: true });
  const plan = planIdentities(o, hooks.onStatus);
  const shards = Math.ceil(plan.length / SHARD);
  const images: CorpusImage[] = [];
  const files: CorpusManifest['shards'] = [];
  for (let s = 0; s < shards; s++) {
    const name = `shard-${String(s).padStart(4, '0')}`;
    const metaPath = join(dir, `${name}.json`), binPath = join(dir, `${name}.bin`);
    let meta: ShardMeta | undefined;
    if (existsSync(metaPath) && existsSync(binPath)) {
      try { meta = JSON.parse(readFileSync(metaPath, 'utf8')) as ShardMeta; } catch { meta = undefined; }
      if (meta?.key !== key) meta = undefined;
    }
    let sha: string;
    if (!meta) {
      if (hooks.shouldStop?.()) throw new UserError(`corpus build stopped after ${s} of ${shards} shards; run the same command again to resume`);
      const built = await buildShard(plan, s * SHARD, o);
      writeFileAtomic(binPath, built.bytes);
      meta = { key, images: built.meta };
      writeJsonAtomic(metaPath, meta); // after the .bin: a .json means its shard is complete
      sha = createHash('sha256').update(built.bytes).digest('hex');
    } else {
      sha = createHash('sha256').update(readFileSync(binPath)).digest('hex');
    }
    meta.images.forEach((im, index) => images.push({ identity: im.identity, shard: s, index, facts: im.facts }));
    files.push({ file: `${name}.bin`, images: meta.images.length, sha256: sha });
    hooks.onProgress?.(s + 1, shards);
  }
  const manifest: CorpusManifest = {
    format: CORPUS, version: CORPUS_VERSION, options: o,
    distinctness: 'every pair of identities differs in >= 2 of the 8 facesjs part ids; none within 1 part of the first 64 identities of data synth seeds 0-99; hard-set twins differ from their base in 1-2 parts',
    packages: synthLibraryVersions,
    identities: plan.map((p) => p.ident), images, shards: files,
  };
  writeJsonAtomic(mf, manifest);
  return manifest;
}

export function readManifest(dir: string): CorpusManifest {
  const mf = join(dir, 'corpus.json');
  let m: CorpusManifest;
  try { m = JSON.parse(readFileSync(mf, 'utf8')) as CorpusManifest; } catch (e) {
    throw new UserError(`${mf}: not a readable corpus manifest (${(e as Error).message}); rebuild the corpus with clipface pretrain`);
  }
  if (m.format !== CORPUS || m.version !== CORPUS_VERSION) throw new UserError(`${mf}: not a corpus of version ${CORPUS_VERSION}; rebuild it with clipface pretrain`);
  return m;
}

/** Manifest + every crop, checked against the shards' recorded sha256. */
export function loadCorpus(dir: string): Corpus {
  const manifest = readManifest(dir);
  const per = manifest.options.cropSize ** 2 * 3;
  const pixels = new Uint8Array(manifest.images.length * per);
  let off = 0;
  for (const s of manifest.shards) {
    const bytes = readFileSync(join(dir, s.file));
    if (bytes.length !== s.images * per || createHash('sha256').update(bytes).digest('hex') !== s.sha256) {
      throw new UserError(`${join(dir, s.file)}: does not match corpus.json (size or sha256); remove the folder and rebuild the corpus`);
    }
    pixels.set(bytes, off);
    off += bytes.length;
  }
  return { dir, manifest, pixels };
}
