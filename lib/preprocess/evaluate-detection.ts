/**
 * How well the detectors find faces and place the 5 keypoints on a dataset with ground truth (the
 * synthetic demo set stores exact points in its manifest). Measures, per detector:
 *   - detection rate: images where at least one face was found;
 *   - right-face rate: of those, the picked face's box contains the true eyes and nose;
 *   - keypoint error: per image the mean over the 5 points of |pred − truth| / IOD, with IOD the
 *     true inter-ocular distance (the usual "NME, inter-ocular"); median, mean, share < 0.1, and
 *     per-point medians;
 *   - speed: detect() time only (decode excluded), images/s.
 * Every detector, `union` included, is run for real on the same decoded pixels.
 *
 * Run: node --import tsx lib/preprocess/evaluate-detection.ts <dataset> [detector ...] [--every k]
 */
import { pathToFileURL } from 'node:url';
import { loadDataset, resolveImagePath } from '../data/dataset.ts';
import type { Dataset, ImageEntry } from '../data/types.ts';
import { decodeImage, type RgbImage } from '../runtime/image.ts';
import { UserError } from '../util/errors.ts';
import type { Point } from './align.ts';
import { createDetector, pickFace, type Detection, type FaceDetector, type FacePolicy } from './detector.ts';

export interface DetectionEvalOptions {
  /** dataset folder or a loaded dataset */
  dataset: string | Dataset;
  /** detector specs (face-api, human, union, scrfd:<file>); default face-api, human, union */
  detectors?: string[];
  policy?: FacePolicy;
  /** minimum score per detector kind ('face-api', 'human', 'scrfd'); default: each detector's own */
  minScores?: Partial<Record<'face-api' | 'human' | 'scrfd', number>>;
  /** detector.ts minFace (fraction of the shorter image side); default DEFAULT_MIN_FACE */
  minFace?: number;
  /** use every k-th image (1 = all) to keep a run short */
  every?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DetectorEval {
  detector: string;
  name: string;
  images: number;
  detected: number;
  detectionRate: number;
  /** picked face's box contains the true eyes and nose (share of detected images with truth) */
  rightFaceRate: number;
  nme: { images: number; median: number; mean: number; under10: number; perPointMedian: number[] };
  seconds: number;
  imagesPerSecond: number;
}

export interface DetectionEval { dataset: string; images: number; withTruth: number; results: DetectorEval[] }

interface PerImage { dets: Detection[]; ms: number }

const median = (v: number[]) => {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Per-point errors / IOD of a detection against the truth. */
export function keypointErrors(pred: readonly Point[], truth: readonly Point[]): number[] {
  const iod = dist(truth[0], truth[1]);
  if (!(iod > 0)) throw new RangeError('ground-truth eyes coincide');
  return truth.map((t, i) => dist(pred[i], t) / iod);
}

function boxHolds(box: Detection['box'], pts: readonly Point[]): boolean {
  const [x, y, w, h] = box;
  return pts.every(([px, py]) => px >= x && px <= x + w && py >= y && py <= y + h);
}

function summarise(detector: string, name: string, entries: ImageEntry[], runs: PerImage[], policy: FacePolicy): DetectorEval {
  let detected = 0, right = 0, withTruthDetected = 0, ms = 0;
  const nmes: number[] = [];
  const perPoint: number[][] = [[], [], [], [], []];
  runs.forEach((r, i) => {
    ms += r.ms;
    const pick = pickFace(r.dets, policy);
    if ('reason' in pick) return;
    detected++;
    const truth = entries[i].keypoints;
    if (!truth) return;
    withTruthDetected++;
    if (boxHolds(pick.box, [truth[0], truth[1], truth[2]])) right++;
    const e = keypointErrors(pick.keypoints5, truth);
    e.forEach((v, k) => perPoint[k].push(v));
    nmes.push(e.reduce((a, b) => a + b, 0) / e.length);
  });
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    detector, name, images: runs.length, detected, detectionRate: r4(detected / Math.max(1, runs.length)),
    rightFaceRate: r4(right / Math.max(1, withTruthDetected)),
    nme: {
      images: nmes.length, median: r4(median(nmes)), mean: r4(nmes.reduce((a, b) => a + b, 0) / Math.max(1, nmes.length)),
      under10: r4(nmes.filter((v) => v < 0.1).length / Math.max(1, nmes.length)), perPointMedian: perPoint.map((p) => r4(median(p))),
    },
    seconds: Math.round(ms) / 1000, imagesPerSecond: Math.round((runs.length / Math.max(1e-9, ms / 1000)) * 100) / 100,
  };
}

export async function evaluateDetection(opts: DetectionEvalOptions): Promise<DetectionEval> {
  const ds = typeof opts.dataset === 'string' ? loadDataset(opts.dataset) : opts.dataset;
  const every = Math.max(1, opts.every ?? 1);
  const entries = ds.manifest.images.filter((_, i) => i % every === 0);
  if (entries.length === 0) throw new UserError(`${ds.root}: no images to evaluate`);
  const specs = opts.detectors ?? ['face-api', 'human', 'union'];
  const policy = opts.policy ?? 'largest';
  const dets: { spec: string; det: FaceDetector; runs: PerImage[] }[] = [];
  for (const spec of specs) dets.push({ spec, det: await createDetector(spec, { minScores: opts.minScores, minFace: opts.minFace }), runs: [] });
  for (let i = 0; i < entries.length; i++) {
    let img: RgbImage | undefined;
    try {
      img = await decodeImage(resolveImagePath(ds, entries[i].path));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
    for (const d of dets) {
      if (!img) { d.runs.push({ dets: [], ms: 0 }); continue; }
      const t0 = performance.now();
      const found = await d.det.detect(img);
      d.runs.push({ dets: found, ms: performance.now() - t0 });
    }
    opts.onProgress?.(i + 1, entries.length);
  }
  const results = dets.map((d) => summarise(d.spec, d.det.name, entries, d.runs, policy));
  for (const d of dets) await d.det.dispose?.();
  return { dataset: ds.root, images: entries.length, withTruth: entries.filter((e) => e.keypoints).length, results };
}

export function formatDetectionEval(r: DetectionEval): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  const lines = [`detection on ${r.dataset}: ${r.images} images, ${r.withTruth} with ground-truth keypoints`,
    'detector   detected        right face  NME median  NME mean  NME<0.1  eyeL/eyeR/nose/mouthL/mouthR medians   img/s'];
  for (const e of r.results) {
    lines.push([
      e.detector.padEnd(10), `${pct(e.detectionRate)} (${e.detected})`.padEnd(15), pct(e.rightFaceRate).padEnd(11),
      e.nme.median.toFixed(3).padEnd(11), e.nme.mean.toFixed(3).padEnd(9), pct(e.nme.under10).padEnd(8),
      e.nme.perPointMedian.map((v) => v.toFixed(3)).join('/').padEnd(38), e.imagesPerSecond.toFixed(2),
    ].join(' '));
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const ei = args.indexOf('--every');
  const every = ei >= 0 ? Number(args.splice(ei, 2)[1]) : 1;
  const [dir, ...detectors] = args;
  if (!dir) { console.error('usage: evaluate-detection.ts <dataset> [detector ...] [--every k]'); process.exit(2); }
  const res = await evaluateDetection({ dataset: dir, detectors: detectors.length ? detectors : undefined, every,
    onProgress: (d, t) => { if (d % 20 === 0 || d === t) process.stderr.write(`\r${d}/${t}`); } });
  process.stderr.write('\n');
  console.log(formatDetectionEval(res));
  console.log(JSON.stringify(res));
}
