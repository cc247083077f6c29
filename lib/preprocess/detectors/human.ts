/**
 * human detector: BlazeFace boxes + FaceMesh (468 points) + iris refinement, reduced to 5 points.
 *
 * @vladmandic/human 3.x, bundle `dist/human.node-wasm.js` (it requires our tfjs-core/converter, so it
 * shares the backend lib/runtime/tf.ts picked). Models come from the package's `models/` folder
 * through the `clipface-local://` router (lib/runtime/face-models.ts). The package's "exports" map has no
 * subpath for the bundle, so it is required by file path.
 *
 * Mesh → 5 points (MediaPipe FaceMesh numbering, human `src/face/facemeshcoords.ts`; human's
 * "right" is the subject's right = image-left):
 *   eye (image-left)  = iris centre nearest the mean of rightEyeUpper0+rightEyeLower0 (contour if no iris)
 *   eye (image-right) = same with leftEyeUpper0+leftEyeLower0
 *   nose tip = mesh[1]; mouth corners = mesh[61] (image-left), mesh[291] (image-right)
 * Iris centres are mesh[468] and mesh[473]; human's annotation names for them are swapped relative
 * to the eye contours, so we pair by distance rather than by name.
 */
import { join } from 'node:path';
import type { Point } from '../align.ts';
import type { Detection, DetectorOptions, FaceDetector, RgbImage } from '../detector-types.ts';
import { humanModelDir, loadHuman as loadHumanBundle, LOCAL_SCHEME, packageDir, packageVersion, serial, toTensor } from '../../runtime/face-models.ts';

/** BlazeFace+mesh on the synthetic demo set: 85 % detected at 0.3, 88 % at 0.1 (see evaluate-detection.ts). */
export const HUMAN_DEFAULT_MIN_SCORE = 0.1;

const RIGHT_EYE = [246, 161, 160, 159, 158, 157, 173, 33, 7, 163, 144, 145, 153, 154, 155, 133];
const LEFT_EYE = [466, 388, 387, 386, 385, 384, 398, 263, 249, 390, 373, 374, 380, 381, 382, 362];
const IRIS_CENTRES = [468, 473];
const NOSE_TIP = 1, MOUTH_IMAGE_LEFT = 61, MOUTH_IMAGE_RIGHT = 291;

interface HumanFace { box: [number, number, number, number]; score: number; mesh: number[][] }
interface HumanLike {
  load(): Promise<void>;
  detect(input: unknown, config?: unknown): Promise<{ face: HumanFace[] }>;
}

function humanConfig(backend: string, minScore: number) {
  const off = { enabled: false };
  return {
    backend,
    wasmPath: join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist') + '/',
    modelBasePath: LOCAL_SCHEME + humanModelDir() + '/',
    cacheModels: false,
    cacheSensitivity: 0, // every image is a new image: no frame-to-frame result cache
    debug: false,
    async: true,
    warmup: 'none',
    filter: off,
    face: {
      enabled: true,
      // skipFrames/skipTime 0: no box reuse between calls (human is built for video)
      detector: { rotation: true, minConfidence: minScore, maxDetected: 20, skipFrames: 0, skipTime: 0, return: false, iouThreshold: 0.1 },
      mesh: { enabled: true },
      iris: { enabled: true, skipFrames: 0, skipTime: 0 },
      description: off, emotion: off, antispoof: off, liveness: off, attention: off, gear: off,
    },
    body: off, hand: off, object: off, gesture: off, segmentation: off,
  };
}

const mean = (mesh: number[][], idx: number[]): Point => {
  let x = 0, y = 0;
  for (const i of idx) { x += mesh[i][0]; y += mesh[i][1]; }
  return [x / idx.length, y / idx.length];
};
const d2 = (a: Point, b: Point) => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2;

/** The 5 ArcFace-order points from a FaceMesh (468 points, or 478 with iris). */
export function fivePointsFromMesh(mesh: number[][]): Detection['keypoints5'] {
  if (mesh.length < 468) throw new RangeError(`expected ≥ 468 mesh points, got ${mesh.length}`);
  const pt = (i: number): Point => [mesh[i][0], mesh[i][1]];
  let eyeL = mean(mesh, RIGHT_EYE), eyeR = mean(mesh, LEFT_EYE);
  if (mesh.length >= 478) {
    const [a, b] = IRIS_CENTRES.map(pt);
    const straight = d2(a, eyeL) + d2(b, eyeR) <= d2(b, eyeL) + d2(a, eyeR);
    [eyeL, eyeR] = straight ? [a, b] : [b, a];
  }
  return [eyeL, eyeR, pt(NOSE_TIP), pt(MOUTH_IMAGE_LEFT), pt(MOUTH_IMAGE_RIGHT)];
}

// one Human instance (human keeps its models and frame caches at module level anyway); calls are
// serialised (lib/runtime/face-models.ts `serial`) and the threshold is passed with each call
let loaded: Promise<HumanLike> | undefined;

async function loadHuman(): Promise<HumanLike> {
  loaded ??= (async () => {
    const { backend, Human } = await loadHumanBundle<HumanLike>();
    const human = new Human(humanConfig(backend, HUMAN_DEFAULT_MIN_SCORE));
    await human.load();
    return human;
  })();
  loaded.catch(() => { loaded = undefined; });
  return loaded;
}

export async function createHumanDetector(opts: DetectorOptions = {}): Promise<FaceDetector> {
  const minScore = opts.minScore ?? HUMAN_DEFAULT_MIN_SCORE;
  const human = await loadHuman();
  const name = `human@${packageVersion('@vladmandic/human')}:blazeface+facemesh+iris:min${minScore}`;
  const perCall = { face: { detector: { minConfidence: minScore } } };
  return {
    name,
    detect(img: RgbImage): Promise<Detection[]> {
      const run = async (): Promise<Detection[]> => {
        const t = toTensor(img); // [h, w, 3] int32; human adds the batch axis and casts
        try {
          const res = await human.detect(t, perCall);
          return res.face.filter((f) => f.mesh.length >= 468).map((f) => ({
            box: [...f.box] as Detection['box'],
            score: f.score,
            keypoints5: fivePointsFromMesh(f.mesh),
            detector: 'human',
          }));
        } finally {
          t.dispose();
        }
      };
      return serial(run);
    },
  };
}
