/**
 * face-api detector: SSD-MobileNetV1 boxes + the 68-point landmark net, reduced to 5 points.
 *
 * @vladmandic/face-api (fork of justadudewhohacks/face-api.js): its `face-api.node-wasm.js`
 * bundle requires our own `@tensorflow/tfjs`, so it shares the engine/backend that
 * lib/runtime/tf.ts chose. Weights come from the package's `model/` folder via `loadFromDisk`.
 *
 * 68 → 5 (iBUG-300W numbering, as face-api's `FaceLandmarks68.getLeftEye()` = 36..41,
 * `getRightEye()` = 42..47; "left" there is image-left for a non-mirrored photo):
 *   eye (image-left)  = mean of points 36..41     eye (image-right) = mean of 42..47
 *   nose tip          = point 30
 *   mouth corners     = point 48 (image-left), point 54 (image-right)
 */
import type { Point } from '../align.ts';
import type { Detection, DetectorOptions, FaceDetector, RgbImage } from '../detector-types.ts';
import { faceApiModelDir, loadFaceApi as loadFaceApiBundle, packageVersion, serial, toTensor, type FaceApi, type FaceApiInput } from '../../runtime/face-models.ts';

/**
 * SSD scores on photos run 0.76–1.0, on the synthetic cartoons 0.1–0.9 (SYNTHFACE-NOTES §3; measured
 * here: 70 % of the demo set at 0.2, 85 % at 0.1). Small false boxes at this threshold are removed by
 * the minFace filter (detector.ts).
 */
export const FACE_API_DEFAULT_MIN_SCORE = 0.1;

let loaded: Promise<FaceApi> | undefined;

async function loadFaceApi(): Promise<FaceApi> {
  loaded ??= (async () => {
    const api = await loadFaceApiBundle();
    const dir = faceApiModelDir();
    await api.nets.ssdMobilenetv1.loadFromDisk(dir);
    await api.nets.faceLandmark68Net.loadFromDisk(dir);
    return api;
  })();
  loaded.catch(() => { loaded = undefined; });
  return loaded;
}

function mean(pts: { x: number; y: number }[]): Point {
  let x = 0, y = 0;
  for (const p of pts) { x += p.x; y += p.y; }
  return [x / pts.length, y / pts.length];
}

/** The 5 ArcFace-order points from face-api's 68 landmark positions. */
export function fivePointsFrom68(pos: { x: number; y: number }[]): Detection['keypoints5'] {
  if (pos.length !== 68) throw new RangeError(`expected 68 landmarks, got ${pos.length}`);
  const p = (i: number): Point => [pos[i].x, pos[i].y];
  return [mean(pos.slice(36, 42)), mean(pos.slice(42, 48)), p(30), p(48), p(54)];
}

export async function createFaceApiDetector(opts: DetectorOptions = {}): Promise<FaceDetector> {
  const api = await loadFaceApi();
  const minScore = opts.minScore ?? FACE_API_DEFAULT_MIN_SCORE;
  const options = new api.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: 20 });
  const name = `face-api@${packageVersion('@vladmandic/face-api')}:ssd_mobilenetv1+landmark68:min${minScore}`;
  return {
    name,
    detect: (img: RgbImage): Promise<Detection[]> => serial(async () => {
      const t = toTensor(img);
      try {
        const res = await api.detectAllFaces(t as unknown as FaceApiInput, options).withFaceLandmarks();
        return res.map((r) => {
          const b = r.detection.box;
          return {
            box: [b.x, b.y, b.width, b.height],
            score: r.detection.score,
            keypoints5: fivePointsFrom68(r.landmarks.positions),
            detector: 'face-api',
          } satisfies Detection;
        });
      } finally {
        t.dispose();
      }
    }),
  };
}
