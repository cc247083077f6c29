/**
 * The embedded stand-ins for the paper's baselines, run offline from their npm packages' model
 * folders on our tfjs engine (the same loading the detectors use: lib/preprocess/detectors/).
 *
 * - face-api (@vladmandic/face-api, fork of justadudewhohacks/face-api.js): FaceRecognitionNet, a
 *   ResNet-34 port of dlib's face descriptor, 150×150 RGB input (its own mean subtraction inside
 *   forwardInput), 128-d output. dlib aligns "face chips" at 150 px with 0.25 padding.
 * - human (@vladmandic/human): FaceRes (HSE-FaceRes, src/face/faceres.ts): 224×224 RGB scaled to
 *   0..255 (human multiplies its 0..1 crop by 255), outputs age, gender and a 1024-d descriptor.
 *   Human feeds it the detector's (rotated) face box rather than a 5-point aligned crop.
 *
 * We feed both our aligned crops (ArcFace template + preprocess.margin) at their input size.
 */
import { noteWeightsFile } from '../util/weights-used.ts';
import { join } from 'node:path';
import type { RgbImage } from '../runtime/image.ts';
import { faceApiModelDir, humanModelDir, initTfModels, loadFaceApi, LOCAL_SCHEME, packageVersion, serial, tf, type FaceApi, type FaceApiInput } from '../runtime/face-models.ts';
import { UserError } from '../util/errors.ts';
import { sha256FileSync } from '../util/hash.ts';
import type { FaceEmbedder } from './embedder-types.ts';
import { FACE_API_RECIPE, HUMAN_RECIPE } from './thresholds.ts';

let faceApi: Promise<FaceApi> | undefined;

async function loadFaceApiRecognition(): Promise<FaceApi> {
  faceApi ??= (async () => {
    const api = await loadFaceApi();
    if (!api.nets.faceRecognitionNet.isLoaded) await api.nets.faceRecognitionNet.loadFromDisk(faceApiModelDir());
    return api;
  })();
  faceApi.catch(() => { faceApi = undefined; });
  return faceApi;
}

export async function faceApiEmbedder(): Promise<FaceEmbedder> {
  const api = await loadFaceApiRecognition();
  const version = packageVersion('@vladmandic/face-api');
  const weights = sha256FileSync(join(faceApiModelDir(), 'face_recognition_model.bin'));
  noteWeightsFile(join(faceApiModelDir(), 'face_recognition_model.bin'), weights);
  return {
    id: `face-api@${version}:face_recognition_model:${weights.slice(0, 16)}`,
    description: `face-api ${version} FaceRecognitionNet (dlib ResNet-34, 128-d)`,
    inputSize: 150, dim: 128, documented: FACE_API_RECIPE,
    cropNote: 'dlib face chips: 150 px, padding 0.25; face-api itself crops its detector box aligned on the 68 landmarks',
    embed: (images) => serial(async () => {
      const inputs = images.map((im) => tf.tensor3d(im.data, [im.height, im.width, 3], 'int32'));
      try {
        const r = await api.nets.faceRecognitionNet.computeFaceDescriptor(inputs as unknown as FaceApiInput);
        const rows = Array.isArray(r) ? r : [r];
        const out = new Float32Array(images.length * 128);
        rows.forEach((d, i) => out.set(d, i * 128));
        return out;
      } finally {
        tf.dispose(inputs);
      }
    }),
    async dispose() { /* the net stays loaded for the process, like the detectors' */ },
  };
}

let humanModel: Promise<tf.GraphModel> | undefined;

export async function humanEmbedder(): Promise<FaceEmbedder> {
  const file = join(humanModelDir(), 'faceres.json');
  humanModel ??= initTfModels().then(() => tf.loadGraphModel(LOCAL_SCHEME + file));
  humanModel.catch(() => { humanModel = undefined; });
  const model = await humanModel;
  const size = model.inputs[0]?.shape?.[1];
  if (size !== 224) throw new UserError(`${file}: expected a 224×224 input, the model says ${model.inputs[0]?.shape}`);
  const version = packageVersion('@vladmandic/human');
  const weights = sha256FileSync(join(humanModelDir(), 'faceres.bin'));
  noteWeightsFile(join(humanModelDir(), 'faceres.bin'), weights);
  return {
    id: `human@${version}:faceres:${weights.slice(0, 16)}`,
    description: `Human ${version} FaceRes (HSE-FaceRes, 1024-d)`,
    inputSize: 224, dim: 1024, documented: HUMAN_RECIPE,
    cropNote: 'human crops its BlazeFace box (rotated upright), resizes bilinearly to 224 and scales 0..1 → 0..255',
    embed: (images) => serial(async () => {
      const x = tf.tidy(() => tf.stack(images.map((im) => tf.cast(tf.tensor3d(im.data, [im.height, im.width, 3], 'int32'), 'float32'))));
      try {
        const outs = model.execute(x) as tf.Tensor[];
        const desc = outs.find((t) => t.shape[t.shape.length - 1] === 1024);
        const data = desc ? Float32Array.from(await desc.data()) : undefined;
        tf.dispose(outs);
        if (!data) throw new UserError(`${file}: no 1024-d output (outputs: ${outs.map((t) => t.shape.join('×')).join(', ')})`);
        return data;
      } finally {
        x.dispose();
      }
    }),
    async dispose() { /* kept loaded for the process */ },
  };
}
