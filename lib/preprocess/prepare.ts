/**
 * The preprocessing stage on a whole dataset: read → hash → (cache) → decode → detect → pick one
 * face → align → crop PNG. One bad image never stops the run: every image ends up in
 * `<out>/prepare-report.json` as `ok` (with keypoints, score, crop) or `skipped` (with a reason).
 * A crop cache that cannot be written (read-only, full, a file in the way) is not a bad image: it
 * stops the run with one line naming the cache folder (`CacheWriteError`), where it used to be
 * recorded as every image "skipped: processing failed" (issue 13 item 8).
 *
 * The paper (arXiv 2411.12319) ran SCRFD, cropped with the 5 keypoints and checked the crops by
 * hand; `contact-sheet.ts` writes the sheet for that check.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { decodeImageBuffer, encodePng, warpAffineRgb, DEFAULT_MAX_PIXELS, type RgbImage } from '../runtime/image.ts';
import { terminalBar } from '../runtime/progress.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';
import { fsErrorFix } from '../util/fs-errors.ts';
import { alignMatrix, templateFor, DEFAULT_CLIP_MARGIN, type Point } from './align.ts';
import { CropCache, cropKey, sha256, type CacheRecord } from './cache.ts';
import { GROUND_TRUTH, pickFace, type Detection, type FaceDetector, type FacePolicy } from './detector.ts';

export interface PrepareItem {
  /** as written in the manifest (relative to the dataset root, '/' separators) */
  path: string;
  /** identity id, for the contact sheet (undefined for frames of unknown subjects) */
  identity?: string;
  /** 'image' = dataset image, 'deployment' = a deployment-session frame */
  kind: 'image' | 'deployment';
  /** the manifest's ground-truth 5 points; used instead of detection by the `ground-truth` detector */
  keypoints?: Point[];
}

/** Why an image was skipped, as a stable code (the `reason` text gives the details). */
export type SkipCode =
  | 'path-outside-root' | 'missing-file' | 'unreadable' | 'empty-file' | 'not-an-image'
  | 'truncated' | 'too-many-pixels' | 'decode-error' | 'no-face' | 'many-faces' | 'processing-failed'
  /** ground-truth keypoints outside the decoded image, or collapsed onto each other */
  | 'bad-keypoints'
  /** an entry the dataset loader rejected (duplicate path, unknown identity, …); see `reason` */
  | 'dataset-problem';

export interface ReportEntry {
  path: string;
  kind: PrepareItem['kind'];
  identity?: string;
  status: 'ok' | 'skipped';
  code?: SkipCode;
  reason?: string;
  /** 5 [x, y] in source pixels (after EXIF orientation), ArcFace order */
  keypoints?: Point[];
  score?: number;
  box?: [number, number, number, number];
  faces?: number;
  detector?: string;
  /** crop PNG, relative to the output folder */
  crop?: string;
  /** true when the result came from the cache */
  cached?: boolean;
}

export interface PrepareReport {
  format: 1;
  dataset: string;
  detector: string;
  size: number;
  margin: number;
  policy: FacePolicy;
  template: Point[];
  images: ReportEntry[];
  /** dataset-level problems from the loader (empty person folders, merged names, …), as given */
  problems?: { path: string; code: string; reason: string; severity: string }[];
  summary: {
    total: number; ok: number; skipped: number; cached: number;
    byCode: Partial<Record<SkipCode, number>>;
    seconds: number; imagesPerSecond: number; concurrency: number;
  };
}

export interface PrepareOptions {
  /** dataset root; item paths are relative to it */
  root: string;
  items: PrepareItem[];
  out: string;
  detector: FaceDetector;
  /** crop side (224 CLIP, 112 ArcFace) */
  size?: number;
  /** context around the ArcFace template (align.ts `templateFor`); default 0.25 */
  margin?: number;
  policy?: FacePolicy;
  force?: boolean;
  maxPixels?: number;
  /** parallel images in flight; default os.availableParallelism() */
  concurrency?: number;
  /** progress bar on stderr (default: when stderr is a TTY) */
  progress?: boolean;
  /** where crops live; default `<out>/crops` (share one folder between outputs to share work) */
  cacheDir?: string;
  /** write contact-sheet.html + per-identity PNG grids (default true) */
  contactSheet?: boolean;
  /** entries already known to be unusable (from the dataset loader); listed after the processed ones */
  preSkipped?: ReportEntry[];
  /** copied into the report */
  problems?: PrepareReport['problems'];
}

/** Classify a decode UserError (lib/runtime/image.ts messages) into a skip code. */
export function decodeSkipCode(message: string): SkipCode {
  if (/file not found/.test(message)) return 'missing-file';
  if (/empty file|0 bytes/.test(message)) return 'empty-file';
  if (/not an image/.test(message)) return 'not-an-image';
  if (/truncated|premature end/i.test(message)) return 'truncated';
  if (/megapixels|pixel limit|maxPixels/i.test(message)) return 'too-many-pixels';
  if (/directory|permission denied|cannot read/.test(message)) return 'unreadable';
  return 'decode-error';
}

/** The manifest path inside `root`, or undefined when it escapes it ('../', absolute paths). */
export function resolveInside(root: string, p: string): string | undefined {
  if (isAbsolute(p) || p.includes('\0')) return undefined;
  const abs = resolve(root, p);
  const rel = relative(resolve(root), abs);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) return undefined;
  return abs;
}

/** The crop cache folder cannot be written: the run stops, no image is blamed. */
export class CacheWriteError extends UserError {
  constructor(dir: string, cause: unknown) {
    const why = fsErrorFix(cause) ?? (cause as Error).message.split('\n')[0];
    super(`${dir}: the crop cache cannot be written: ${why}. That folder is preprocess.cacheDir in an experiment, --cache (default <out>/crops) in clipface data prepare`);
    this.name = 'CacheWriteError';
  }
}

/** `cache.put`, with a filesystem error (errno code) turned into a CacheWriteError. */
function putInCache(cache: CropCache, key: string, rec: CacheRecord, png?: Uint8Array): void {
  try {
    cache.put(key, rec, png);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw new CacheWriteError(cache.dir, e);
    throw e;
  }
}

interface Ctx {
  o: Required<Omit<PrepareOptions, 'cacheDir' | 'progress' | 'contactSheet' | 'concurrency' | 'preSkipped' | 'problems'>>;
  cache: CropCache;
  template: Point[];
  inflight: Map<string, Promise<CacheRecord | { decodeError: string }>>;
}

async function processOne(item: PrepareItem, ctx: Ctx): Promise<ReportEntry> {
  const { o, cache } = ctx;
  const base: ReportEntry = { path: item.path, kind: item.kind, ...(item.identity !== undefined ? { identity: item.identity } : {}), status: 'skipped' };
  const skip = (code: SkipCode, reason: string): ReportEntry => ({ ...base, status: 'skipped', code, reason });
  const abs = resolveInside(o.root, item.path);
  if (!abs) return skip('path-outside-root', 'path escapes the dataset root');
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? skip('missing-file', 'file not found') : skip('unreadable', `cannot read (${code ?? (e as Error).message})`);
  }
  if (bytes.length === 0) return skip('empty-file', 'empty file (0 bytes)');
  const gt = o.detector.name === GROUND_TRUTH;
  // with ground-truth points the crop depends on them too, so they are part of the key
  const detectorKey = gt ? `${GROUND_TRUTH}:${JSON.stringify(item.keypoints ?? null)}` : o.detector.name;
  const key = cropKey({ imageSha256: sha256(bytes), detector: detectorKey, policy: o.policy, template: ctx.template, margin: o.margin, size: o.size });
  const hit = o.force ? undefined : cache.get(key);
  // identical bytes at several paths (copies, deployment frames reused) are computed once per run
  let rec: CacheRecord | { decodeError: string } | undefined = hit;
  if (!rec) {
    let p = ctx.inflight.get(key);
    if (!p) { p = compute(bytes, item, key, ctx); ctx.inflight.set(key, p); }
    rec = await p;
  }
  if ('decodeError' in rec) return skip(decodeSkipCode(rec.decodeError), rec.decodeError);
  // a cache written before this check may hold a black crop from bad points: check on the way out too
  const bad = gt && rec.status === 'ok' ? keypointProblem(rec.keypoints, rec.width, rec.height) : undefined;
  if (bad) return skip('bad-keypoints', bad);
  if (rec.status === 'skipped' && rec.reason.startsWith(BAD_POINTS)) return skip('bad-keypoints', rec.reason);
  if (rec.status === 'skipped') {
    return { ...skip(rec.reason.startsWith('no face') ? 'no-face' : 'many-faces', rec.reason), faces: rec.faces, ...(hit ? { cached: true } : {}) };
  }
  return {
    ...base, status: 'ok', keypoints: rec.keypoints, score: rec.score, box: rec.box, faces: rec.faces,
    ...(rec.detector ? { detector: rec.detector } : {}),
    crop: relative(o.out, cache.cropPath(key)).split(sep).join('/'),
    ...(hit ? { cached: true } : {}),
  };
}

async function compute(bytes: Buffer, item: PrepareItem, key: string, ctx: Ctx): Promise<CacheRecord | { decodeError: string }> {
  const { o, cache } = ctx;
  const label = item.path;
  let img: RgbImage;
  try {
    img = await decodeImageBuffer(bytes, label, { maxPixels: o.maxPixels });
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const msg = e.message.startsWith(label + ': ') ? e.message.slice(label.length + 2) : e.message;
    return { decodeError: msg };
  }
  const dets = o.detector.name === GROUND_TRUTH ? groundTruthDetections(item) : await o.detector.detect(img);
  const picked = pickFace(dets, o.policy);
  const dims = { width: img.width, height: img.height, faces: dets.length };
  const bad = o.detector.name === GROUND_TRUTH && !('reason' in picked) ? keypointProblem(picked.keypoints5, img.width, img.height) : undefined;
  if ('reason' in picked || bad) {
    const rec: CacheRecord = { status: 'skipped', reason: bad ?? (picked as { reason: string }).reason, ...dims };
    putInCache(cache, key, rec);
    return rec;
  }
  const m = alignMatrix(picked.keypoints5, { size: o.size, margin: o.margin });
  const crop = warpAffineRgb(img, m, o.size, o.size);
  const rec: CacheRecord = {
    status: 'ok', keypoints: picked.keypoints5.map(([x, y]) => [r2(x), r2(y)] as Point), score: r4(picked.score),
    box: picked.box.map(r2) as [number, number, number, number],
    ...(picked.detector ? { detector: picked.detector } : {}), ...dims, matrix: m.map((row) => row.map((v) => r6(v))),
  };
  putInCache(cache, key, rec, await encodePng(crop));
  return rec;
}

/**
 * The `ground-truth` detector: the manifest's 5 points stand in for detection (e.g. the synthetic
 * set's exact points), so alignment is studied without detector error.
 */
function groundTruthDetections(item: PrepareItem): Detection[] {
  const k = item.keypoints;
  if (!k || k.length !== 5) return [];
  const xs = k.map((p) => p[0]), ys = k.map((p) => p[1]);
  const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
  return [{ box: [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0], score: 1, keypoints5: k as Detection['keypoints5'], detector: GROUND_TRUTH }];
}

const BAD_POINTS = 'ground-truth keypoints';

/**
 * Manifest points are data, not detections: points outside the decoded image (a wrong size in the
 * manifest, a 1×1 placeholder) or collapsed onto each other would warp to an all-black crop that
 * looks like a face to every later stage, so the image is skipped with the reason instead.
 */
function keypointProblem(k: readonly Point[], width: number, height: number): string | undefined {
  const out = k.find(([x, y]) => !(x >= -0.5 && y >= -0.5 && x <= width - 0.5 && y <= height - 0.5));
  if (out) return `${BAD_POINTS}: (${out[0]}, ${out[1]}) lies outside the ${width}×${height} image; fix the manifest's keypoints or the image`;
  const eyes = Math.hypot(k[1]![0] - k[0]![0], k[1]![1] - k[0]![1]);
  if (eyes < 1) return `${BAD_POINTS}: the eyes are ${eyes.toFixed(2)} px apart in the ${width}×${height} image, too close to align a face; fix the keypoints or the image`;
  return undefined;
}

const r2 = (v: number) => Math.round(v * 100) / 100;
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
const r6 = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * Run `fn` over `items` with at most `n` in flight, keeping the input order in the result. The
 * first error rejects the whole and stops the other workers from starting new items.
 */
export async function mapPool<T, R>(items: T[], n: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        next = items.length;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  return out;
}

export async function prepareDataset(opts: PrepareOptions): Promise<PrepareReport> {
  const o = {
    root: opts.root, items: opts.items, out: opts.out, detector: opts.detector,
    size: opts.size ?? 224, margin: opts.margin ?? DEFAULT_CLIP_MARGIN, policy: opts.policy ?? 'largest',
    force: opts.force ?? false, maxPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
  };
  const template = templateFor(o.size, o.margin);
  const ctx: Ctx = { o, cache: new CropCache(opts.cacheDir ?? join(o.out, 'crops')), template, inflight: new Map() };
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
  const showBar = opts.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? terminalBar('prepare {bar} {value}/{total} images | {eta_formatted} left')
    : undefined;
  bar?.start(o.items.length, 0);
  const t0 = performance.now();
  let images: ReportEntry[];
  try {
    images = await mapPool(o.items, concurrency, async (item) => {
      let entry: ReportEntry;
      try {
        entry = await processOne(item, ctx);
      } catch (e) {
        if (e instanceof CacheWriteError) throw e;
        // a bug or a detector crash on one image must not end the run; record it
        entry = { path: item.path, kind: item.kind, status: 'skipped', code: 'processing-failed', reason: `processing failed: ${(e as Error).message.split('\n')[0]}` };
      }
      bar?.increment();
      return entry;
    });
  } finally {
    bar?.stop();
  }
  images.push(...(opts.preSkipped ?? []));
  const seconds = (performance.now() - t0) / 1000;
  const byCode: Partial<Record<SkipCode, number>> = {};
  for (const e of images) if (e.code) byCode[e.code] = (byCode[e.code] ?? 0) + 1;
  const ok = images.filter((e) => e.status === 'ok').length;
  const report: PrepareReport = {
    format: 1, dataset: o.root, detector: o.detector.name, size: o.size, margin: o.margin, policy: o.policy,
    template: template.map(([x, y]) => [r4(x), r4(y)] as Point),
    images,
    ...(opts.problems?.length ? { problems: opts.problems } : {}),
    summary: {
      total: images.length, ok, skipped: images.length - ok, cached: images.filter((e) => e.cached).length, byCode,
      seconds: Math.round(seconds * 1000) / 1000, imagesPerSecond: seconds > 0 ? Math.round((images.length / seconds) * 100) / 100 : 0, concurrency,
    },
  };
  writeJsonAtomic(join(o.out, 'prepare-report.json'), report);
  if (opts.contactSheet ?? true) {
    const { writeContactSheet } = await import('./contact-sheet.ts');
    await writeContactSheet(o.out, report);
  }
  return report;
}
