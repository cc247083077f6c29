/**
 * Face detectors behind one interface: a box, a score and 5 keypoints in source pixels, in the
 * ArcFace template order (insightface `scrfd.py` kps / `face_align.arcface_dst`): eye, eye, nose
 * tip, mouth corner, mouth corner, each pair left to right as seen in the image.
 *
 * Implementations (each in `detectors/`, loaded lazily so that a run pays only for what it uses):
 *   face-api  SSD-MobileNetV1 + 68-point landmarks (@vladmandic/face-api, models in the package)
 *   human     BlazeFace + FaceMesh + iris (@vladmandic/human, models in the package)
 *   union     human first (it detects more of the synthetic set and is 5× faster), face-api when
 *             human finds nothing, then both again on a padded image (withPaddedRetry)
 *   scrfd:<file.onnx>  insightface SCRFD through onnxruntime-node, when the user supplies the file
 */
import type { Point } from './align.ts';
import { UserError } from '../util/errors.ts';
import type { Detection, DetectorOptions, FaceDetector, RgbImage } from './detector-types.ts';

export type { Detection, DetectorOptions, FaceDetector, RgbImage } from './detector-types.ts';

export const DEFAULT_MIN_FACE = 0.1;

/** Parsed `--detector` value. */
export type DetectorSpec =
  | { kind: 'face-api' }
  | { kind: 'human' }
  | { kind: 'union' }
  | { kind: 'ground-truth' }
  | { kind: 'scrfd'; file: string };

export const DETECTOR_HELP = 'face-api | human | union | scrfd:<file.onnx> | ground-truth (the manifest\'s keypoints)';

/** Name of the pseudo-detector that uses the manifest's keypoints (prepare.ts reads them per item). */
export const GROUND_TRUTH = 'ground-truth';

export function parseDetectorSpec(s: string): DetectorSpec {
  if (s === 'face-api' || s === 'human' || s === 'union' || s === GROUND_TRUTH) return { kind: s };
  if (s.startsWith('scrfd:') && s.length > 'scrfd:'.length) return { kind: 'scrfd', file: s.slice('scrfd:'.length) };
  throw new UserError(`unknown detector "${s}"; use one of ${DETECTOR_HELP}`);
}

export async function createDetector(spec: DetectorSpec | string, opts: DetectorOptions = {}): Promise<FaceDetector> {
  const s = typeof spec === 'string' ? parseDetectorSpec(spec) : spec;
  const min = (kind: 'face-api' | 'human' | 'scrfd'): DetectorOptions => ({ minScore: opts.minScore ?? opts.minScores?.[kind] });
  const minFace = opts.minFace ?? DEFAULT_MIN_FACE;
  switch (s.kind) {
    case 'ground-truth':
      return { name: GROUND_TRUTH, detect: async () => { throw new Error('the ground-truth detector reads keypoints from the manifest (prepareDataset does this)'); } };
    case 'face-api': return withMinFace((await import('./detectors/face-api.ts')).createFaceApiDetector(min('face-api')), minFace);
    case 'human': return withMinFace((await import('./detectors/human.ts')).createHumanDetector(min('human')), minFace);
    case 'scrfd': return withMinFace((await import('./detectors/scrfd.ts')).createScrfdDetector(s.file, min('scrfd')), minFace);
    case 'union': {
      const parts = { minScores: opts.minScores, minFace };
      const primary = await createDetector({ kind: 'human' }, parts);
      const fallback = await createDetector({ kind: 'face-api' }, parts);
      return withPaddedRetry(unionDetector(primary, fallback), UNION_PAD);
    }
  }
}

/** Drop detections smaller than `frac` × the image's shorter side (no-op for frac ≤ 0). */
export async function withMinFace(detP: Promise<FaceDetector> | FaceDetector, frac: number): Promise<FaceDetector> {
  const det = await detP;
  if (!(frac > 0)) return det;
  return {
    name: `${det.name}:minface${frac}`,
    async detect(img) {
      const side = frac * Math.min(img.width, img.height);
      return (await det.detect(img)).filter((d) => Math.min(d.box[2], d.box[3]) >= side);
    },
    dispose: det.dispose ? () => det.dispose!() : undefined,
  };
}

/**
 * `union`'s last resort: when nothing is found, run again on the image centred in a mid-grey canvas
 * `factor`× as large (the face becomes smaller, which both SSD and BlazeFace handle better when it
 * fills most of the frame). On the synthetic demo set this recovers about 1 % of images.
 */
export const UNION_PAD = 1.5;

export function padImage(img: RgbImage, factor: number): { img: RgbImage; ox: number; oy: number } {
  const W = Math.round(img.width * factor), H = Math.round(img.height * factor);
  const ox = (W - img.width) >> 1, oy = (H - img.height) >> 1;
  const data = new Uint8Array(W * H * 3).fill(127);
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + oy) * W + ox) * 3);
  return { img: { width: W, height: H, data }, ox, oy };
}

export function withPaddedRetry(det: FaceDetector, factor: number): FaceDetector {
  return {
    name: `${det.name}:padretry${factor}`,
    async detect(img) {
      const first = await det.detect(img);
      if (first.length > 0) return first;
      const p = padImage(img, factor);
      const shift = ([x, y]: Point): Point => [x - p.ox, y - p.oy];
      return (await det.detect(p.img))
        .map((d) => ({ ...d, box: [d.box[0] - p.ox, d.box[1] - p.oy, d.box[2], d.box[3]] as Detection['box'], keypoints5: d.keypoints5.map(shift) as Detection['keypoints5'] }))
        .filter((d) => { const cx = d.box[0] + d.box[2] / 2, cy = d.box[1] + d.box[3] / 2; return cx >= 0 && cy >= 0 && cx < img.width && cy < img.height; });
    },
    dispose: det.dispose ? () => det.dispose!() : undefined,
  };
}

/** Run `primary`; only when it finds no face, run `fallback`. */
export function unionDetector(primary: FaceDetector, fallback: FaceDetector): FaceDetector {
  return {
    name: `union(${primary.name}|${fallback.name})`,
    async detect(img) {
      const a = await primary.detect(img);
      return a.length > 0 ? a : fallback.detect(img);
    },
    async dispose() {
      await primary.dispose?.();
      await fallback.dispose?.();
    },
  };
}

/** What to do when an image holds several faces. */
export type FacePolicy = 'largest' | 'highest-score' | 'fail-if-many';

/** Pick one detection by `policy`; returns a reason string when none can be picked. */
export function pickFace(dets: Detection[], policy: FacePolicy): Detection | { reason: string } {
  if (dets.length === 0) return { reason: 'no face detected' };
  if (dets.length > 1 && policy === 'fail-if-many') return { reason: `${dets.length} faces detected (policy fail-if-many)` };
  const key = policy === 'highest-score' ? (d: Detection) => d.score : (d: Detection) => d.box[2] * d.box[3];
  return dets.reduce((best, d) => (key(d) > key(best) ? d : best));
}
