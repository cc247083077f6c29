/**
 * The offline, privacy-free demo dataset (SYNTHFACE-NOTES.md): facesjs cartoon identities in the
 * paper's shape, by default 10 enrolled people × 30 photos (6 each from front, above, below, left,
 * right) + 2 unknown people (same distribution, 30 photos each, never trained on), and a deployment
 * session in which every subject stands in front of one camera for a few frames. Optionally,
 * lookalike unknowns: enrolled people with 1–4 identity parts changed (synth-lookalikes.ts), listed
 * after everyone else with `lookalikeOf`, `lookalikeDistance` and `lookalikeParts` in the manifest.
 *
 * Byte-identical for the same seed and the same facesjs/sharp/libvips/librsvg/mozjpeg build: every
 * image draws from its own stream, hash(seed, identity, index), so adding identities or images
 * never changes the others. Images are written atomically (temp + rename), `manifest.json` last;
 * the manifest carries ground-truth 5 points under `keypoints` (ArcFace order).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blurAndEncodeJpeg, renderSvgRgb, synthLibraryVersions } from '../runtime/image.ts';
import { UserError } from '../util/errors.ts';
import { MANIFEST, SYNTH_JOURNAL } from './dataset.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.ts';
import { streamRng, type Rng } from '../util/rng.ts';
import { dressFace, generateFaces, posedFace, type SynthFace } from './synth-face.ts';
import { planLookalikes } from './synth-lookalikes.ts';
import { resolveSynthOptions, staleSynthReason, type SynthOptions } from './synth-options.ts';
import { pickName } from './synth-names.ts';
import { photoPass, sampleDeployFrame, sampleRoom, sampleShot, sceneSvg, type Shot } from './synth-scene.ts';
import type { DeploymentSession, Identity, ImageEntry, Keypoints5, Manifest, View } from './types.ts';

export const GENERATOR = 'clipface-synthface';
export const GENERATOR_VERSION = 1;
export type { SynthOptions };
const SYNTH_VIEWS: View[] = ['front', 'above', 'below', 'left', 'right'];

export interface SynthResult { manifest: Manifest; out: string; images: number; seconds: number }

function facesjsVersion(): string {
  try {
    const pkg = join(dirname(fileURLToPath(import.meta.resolve('facesjs'))), '..', 'package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch { return 'unknown'; }
}

/**
 * Makes `out` ready for a new generation. Refuses a non-empty folder that is not an earlier
 * synthetic dataset (finished: manifest.json; interrupted: the journal), and one holding a symbolic
 * link, which would let removing or writing "inside" reach files elsewhere. Removes only the files
 * an earlier generation listed (and the temp files of their atomic writes), then folders it emptied.
 */
function prepareOut(out: string): void {
  if (!existsSync(out)) return;
  const entries = readdirSync(out);
  if (entries.length === 0) return;
  const mf = join(out, MANIFEST), jr = join(out, SYNTH_JOURNAL);
  const lists = [mf, jr].map((f) => { try { return JSON.parse(readFileSync(f, 'utf8')) as Pick<Manifest, 'generator' | 'images'>; } catch { return undefined; } });
  if (!lists.some((l) => l?.generator?.name === GENERATOR)) {
    throw new UserError(`${out}: folder is not empty and holds no synthetic dataset; choose an empty or new folder (data synth --out, or dataset.path of an experiment with dataset.synth)`);
  }
  const link = findLink(out, '');
  if (link) throw new UserError(`${out}: ${link} is a symbolic link; data synth only writes and removes inside ${out} and will not follow a link out of it; remove the link or choose another folder`);
  rmSync(mf, { force: true }); // no manifest describes a half-written folder
  const dirs = new Set<string>();
  for (const im of lists.flatMap((l) => (l?.generator?.name === GENERATOR ? l.images ?? [] : []))) {
    if (typeof im?.path !== 'string' || im.path.split(/[\\/]/).includes('..') || isAbsolute(im.path)) continue;
    const file = join(out, im.path);
    rmSync(file, { force: true });
    const dir = dirname(file);
    dirs.add(dir);
    const tmp = new RegExp(`^\\.${escapeRegExp(basename(file))}\\.\\d+\\.\\d+\\.tmp$`); // fs-atomic.ts's temp names
    if (existsSync(dir)) for (const f of readdirSync(dir)) if (tmp.test(f)) rmSync(join(dir, f), { force: true });
  }
  for (const d of dirs) if (d !== out && existsSync(d) && readdirSync(d).length === 0) rmSync(d, { recursive: true });
}

/** The first symbolic link under `root` (relative path), if any. */
function findLink(root: string, rel: string): string | undefined {
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isSymbolicLink()) return r;
    if (e.isDirectory()) { const found = findLink(root, r); if (found) return found; }
  }
  return undefined;
}

/** Disk full, read-only or permission errors while generating: one line naming the folder. */
async function writing(out: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code || e instanceof UserError) throw e;
    throw new UserError(`${out}: cannot write the synthetic dataset (${(e as Error).message.split(',')[0]}); free space or fix the folder's permissions, then generate again (the partial set is cleaned up then)`);
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Pretty JSON with number arrays (keypoints, colour casts) kept on one line. */
export function manifestJson(m: Manifest): string {
  return JSON.stringify(m, null, 2)
    .replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`)
    .replace(/\[\s*(\[[^[\]]*\](?:,\s*\[[^[\]]*\])*)\s*\]/g, (_, inner: string) => `[${inner.split(/\],\s*\[/).join('], [')}]`) + '\n';
}

interface Job { identity: Identity; face: SynthFace; path: string; view: View; session: string; shot: Shot; noise: Rng }
interface Person { identity: Identity; face: SynthFace; photos: number }

/** One photo of `face` as the demo set takes it: posed SVG → raster → photo pass → blur + JPEG. */
export async function renderShot(face: SynthFace, shot: Shot, size: number, noise: Rng): Promise<{ jpeg: Buffer; keypoints: Keypoints5; occluders: string[] }> {
  const dressed = dressFace(face.face, shot.look);
  const posed = await posedFace(dressed, shot.look, shot.pose, size);
  const rgb = await renderSvgRgb(sceneSvg(size, shot.scene, posed));
  photoPass(rgb, shot.scene.photo, noise);
  const jpeg = await blurAndEncodeJpeg(rgb, shot.scene.photo.blur, shot.scene.photo.jpeg);
  const occluders = [shot.look.glasses !== 'none' ? 'glasses' : '', shot.look.accessory.startsWith('hat') ? 'hat' : shot.look.accessory.startsWith('headband') ? 'headband' : ''].filter(Boolean);
  return { jpeg, keypoints: posed.keypoints, occluders };
}

async function render(job: Job, size: number, out: string): Promise<ImageEntry> {
  const { shot } = job;
  const { jpeg, keypoints, occluders } = await renderShot(job.face, shot, size, job.noise);
  writeFileAtomic(join(out, job.path), jpeg);
  const { yaw, pitch, roll, ...frame } = shot.pose;
  return {
    path: job.path, identity: job.identity.id, view: job.view, session: job.session, width: size, height: size,
    sha256: createHash('sha256').update(jpeg).digest('hex'), keypoints,
    capture: {
      device: 'synthetic camera', pose: { yaw, pitch, roll }, expression: shot.look.expression, occluders,
      synth: { ...frame, jersey: shot.look.jersey, clutter: shot.scene.background.clutter.length, light: shot.scene.light, photo: shot.scene.photo },
    },
  };
}

export async function synthDataset(outDir: string, opts: SynthOptions = {}): Promise<SynthResult> {
  const t0 = performance.now();
  const { seed, record } = resolveSynthOptions(opts);
  const { identities: nKnown, unknown: nUnknown, perIdentity, size, deployFrames, lookalikes: look } = record;
  const out = resolve(outDir);
  prepareOut(out);

  const faces = generateFaces(streamRng(GENERATOR, seed, 'identities'), nKnown + nUnknown);
  const nameRng = streamRng(GENERATOR, seed, 'names');
  const used = new Set<string>();
  const width = String(faces.length).length < 2 ? 2 : String(faces.length).length;
  const people: Person[] = faces.map((face, i) => ({
    face, photos: perIdentity,
    identity: { id: `p${String(i + 1).padStart(width, '0')}`, name: pickName(nameRng, face.gender, used), role: i < nKnown ? 'known' : 'unknown' },
  }));
  if (look) {
    // after everyone else, from streams of their own: the people above stay byte-identical
    const planned = planLookalikes(GENERATOR, seed, faces.slice(0, nKnown), faces.slice(nKnown), look);
    const lookNames = streamRng(GENERATOR, seed, 'lookalike-names');
    const w = Math.max(2, String(planned.length).length);
    planned.forEach((l, k) => people.push({
      face: l.face, photos: look.photos,
      identity: {
        id: `look${String(k + 1).padStart(w, '0')}`, name: pickName(lookNames, l.face.gender, used), role: 'unknown',
        lookalikeOf: people[l.of]!.identity.id, lookalikeDistance: l.distance, lookalikeParts: l.parts,
      },
    }));
  }
  const identities = people.map((p) => p.identity);

  const jobs: Job[] = [];
  const room = sampleRoom(streamRng(GENERATOR, seed, 'deploy-room'), size);
  const deployment: DeploymentSession[] = [];
  for (const { identity, face, photos } of people) {
    for (let j = 0; j < photos; j++) {
      const view = SYNTH_VIEWS[j % SYNTH_VIEWS.length]!;
      const path = `${identity.id}/${view}-${String(Math.floor(j / SYNTH_VIEWS.length) + 1).padStart(2, '0')}.jpg`;
      const shot = sampleShot(streamRng(GENERATOR, seed, 'image', identity.id, j), view, size);
      jobs.push({ identity, face, path, view, session: 'enrol', shot, noise: streamRng(GENERATOR, seed, 'noise', identity.id, j) });
    }
    const frames: string[] = [];
    for (let f = 0; f < deployFrames; f++) {
      const path = `${identity.id}/deploy-${String(f + 1).padStart(2, '0')}.jpg`;
      const shot = sampleDeployFrame(streamRng(GENERATOR, seed, 'deploy', identity.id, f), room);
      jobs.push({ identity, face, path, view: 'front', session: 'deploy', shot, noise: streamRng(GENERATOR, seed, 'deploy-noise', identity.id, f) });
      frames.push(path);
    }
    if (frames.length > 0) deployment.push({ subject: identity.id, known: identity.role === 'known', session: 'deploy', frames });
  }

  const images: ImageEntry[] = new Array(jobs.length);
  let next = 0, done = 0;
  const workers = Math.max(2, Math.min(8, availableParallelism() * 2));
  await writing(out, async () => {
    // the journal lists every file this generation may write, so an interrupted one is recognised
    // (data check refuses it) and cleaned exactly by the next generation
    writeJsonAtomic(join(out, SYNTH_JOURNAL), { generator: { name: GENERATOR, version: GENERATOR_VERSION, seed }, images: jobs.map((j) => ({ path: j.path })) });
    // on a failure the other workers stop too, and we return only once none is still writing
    let failed = false;
    const results = await Promise.allSettled(Array.from({ length: workers }, async () => {
      while (next < jobs.length && !failed) {
        const k = next++;
        try {
          images[k] = await render(jobs[k]!, size, out);
          opts.onProgress?.(++done, jobs.length);
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    }));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  });

  const manifest: Manifest = {
    version: 1,
    name: `synthface-seed${seed}`,
    description: `Synthetic cartoon faces (facesjs): ${nKnown} enrolled + ${nUnknown} unknown people, ${perIdentity} enrolment photos each over 5 views, ${deployFrames} deployment frames per subject${look ? `; ${people.length - faces.length} unknown lookalikes (${look.perDistance} per distance ${look.distances.join(', ')} parts from an enrolled person, ${look.photos} photos each)` : ''}. Not real people; a pipeline check, not a face-recognition benchmark.`,
    generator: {
      name: GENERATOR, version: GENERATOR_VERSION, seed,
      options: { ...record },
      packages: { facesjs: facesjsVersion(), ...synthLibraryVersions },
    },
    identities, images, deployment,
  };
  await writing(out, async () => writeFileAtomic(join(out, MANIFEST), manifestJson(manifest)));
  rmSync(join(out, SYNTH_JOURNAL), { force: true }); // after the manifest: the set is complete
  return { manifest, out, images: images.length, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Whether a run with `dataset.synth` must generate the set at `dir` first, and why (null = the
 * set on disk matches): when there is no manifest, and when the manifest there was made by this
 * generator for other options (a changed config, e.g. lookalikes added; the same people come out
 * byte-identical, so only the new files differ). Another generator's manifest (the user's own
 * data) is never replaced.
 */
export function synthNeeded(dir: string, opts: SynthOptions): string | null {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) return 'no manifest yet';
  let manifest: Pick<Manifest, 'generator'>;
  try { manifest = JSON.parse(readFileSync(file, 'utf8')); } catch { return null; } // loadDataset says what is wrong with it
  const why = staleSynthReason(manifest, GENERATOR, GENERATOR_VERSION, opts);
  return why && `the set on disk was made for other options: ${why}`;
}
