/**
 * SCRFD (insightface) through onnxruntime-node, for users who supply the ONNX file (e.g.
 * buffalo_l's det_10g.onnx; insightface models are non-commercial research only, so none ships here).
 *
 * A line-by-line port of insightface `python-package/insightface/model_zoo/scrfd.py` (commit
 * 0bdfc69f): letterbox to the model size (top-left, zero pad) → (x − 127.5)/128, NCHW, RGB →
 * per stride: anchor centres (x, y)·stride, `num_anchors` copies → distance2bbox / distance2kps with
 * distances × stride → score ≥ threshold → divide by the letterbox scale → NMS (IoU 0.4, the
 * `+1` pixel-inclusive areas of `SCRFD.nms`). Outputs are read in the session's output order:
 * scores for each stride, then boxes, then keypoints (6/9 outputs: strides 8/16/32, 2 anchors;
 * 10/15 outputs: strides 8..128, 1 anchor).
 */
import { noteWeightsFile } from '../../util/weights-used.ts';
import { basename } from 'node:path';
import { createOrtSession } from '../../runtime/ort.ts';
import { UserError } from '../../util/errors.ts';
import { sha256FileSync } from '../../util/hash.ts';
import type { Point } from '../align.ts';
import { assertRgb } from '../../runtime/image.ts';
import type { Detection, DetectorOptions, FaceDetector, RgbImage } from '../detector-types.ts';

export const SCRFD_DEFAULT_MIN_SCORE = 0.5;
export const SCRFD_NMS_IOU = 0.4;
/** insightface FaceAnalysis default det_size for models with a dynamic input */
export const SCRFD_DEFAULT_INPUT = 640;

export interface ScrfdLayout { strides: number[]; numAnchors: number; useKps: boolean }

/** scrfd.py `_init_vars`: the layout follows from the number of outputs. */
export function scrfdLayout(numOutputs: number): ScrfdLayout {
  switch (numOutputs) {
    case 6: return { strides: [8, 16, 32], numAnchors: 2, useKps: false };
    case 9: return { strides: [8, 16, 32], numAnchors: 2, useKps: true };
    case 10: return { strides: [8, 16, 32, 64, 128], numAnchors: 1, useKps: false };
    case 15: return { strides: [8, 16, 32, 64, 128], numAnchors: 1, useKps: true };
    default: throw new UserError(`SCRFD model has ${numOutputs} outputs; expected 6, 9, 10 or 15`);
  }
}

/**
 * scrfd.py `detect` letterbox + `cv2.dnn.blobFromImage(img, 1/128, size, 127.5, swapRB)`: resize
 * keeping aspect (cv2.resize INTER_LINEAR, half-pixel centres), paste top-left on a zero canvas of
 * inW × inH, return NCHW float32 and the scale (resized / source).
 */
export function letterboxBlob(img: RgbImage, inW: number, inH: number): { blob: Float32Array; scale: number } {
  assertRgb(img);
  const imRatio = img.height / img.width, modelRatio = inH / inW;
  let newW: number, newH: number;
  if (imRatio > modelRatio) { newH = inH; newW = Math.trunc(newH / imRatio); } else { newW = inW; newH = Math.trunc(newW * imRatio); }
  newW = Math.max(1, newW); newH = Math.max(1, newH);
  const scale = newH / img.height;
  const plane = inW * inH;
  const blob = new Float32Array(3 * plane).fill(-127.5 / 128);
  const sx = img.width / newW, sy = img.height / newH;
  const src = img.data, W = img.width, H = img.height;
  for (let y = 0; y < newH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = Math.floor(fy), wy = fy - y0;
    if (y0 >= H - 1) { y0 = H - 1; wy = 0; }
    const y1 = Math.min(y0 + 1, H - 1);
    for (let x = 0; x < newW; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      let x0 = Math.floor(fx), wx = fx - x0;
      if (x0 >= W - 1) { x0 = W - 1; wx = 0; }
      const x1 = Math.min(x0 + 1, W - 1);
      const a = (y0 * W + x0) * 3, b = (y0 * W + x1) * 3, c = (y1 * W + x0) * 3, d = (y1 * W + x1) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = src[a + ch] * (1 - wx) + src[b + ch] * wx;
        const bot = src[c + ch] * (1 - wx) + src[d + ch] * wx;
        blob[ch * plane + y * inW + x] = (top * (1 - wy) + bot * wy - 127.5) / 128;
      }
    }
  }
  return { blob, scale };
}

export interface RawDet { x1: number; y1: number; x2: number; y2: number; score: number; kps?: Point[] }

/**
 * scrfd.py `forward`: decode each stride's outputs (input pixels). `outs[i]` is the i-th output
 * flattened (batch of 1); scores are K·A × 1, boxes K·A × 4, keypoints K·A × 10.
 */
export function decodeScrfd(outs: Float32Array[], layout: ScrfdLayout, inW: number, inH: number, threshold: number): RawDet[] {
  const fmc = layout.strides.length, A = layout.numAnchors;
  const dets: RawDet[] = [];
  layout.strides.forEach((stride, idx) => {
    const scores = outs[idx], boxes = outs[idx + fmc], kps = layout.useKps ? outs[idx + 2 * fmc] : undefined;
    const h = Math.floor(inH / stride), w = Math.floor(inW / stride);
    const n = h * w * A;
    if (scores.length !== n || boxes.length !== 4 * n || (kps && kps.length !== 10 * n)) {
      throw new UserError(`SCRFD output sizes for stride ${stride} do not match a ${inW}×${inH} input (${scores.length} scores, expected ${n})`);
    }
    for (let i = 0; i < n; i++) {
      if (!(scores[i] >= threshold)) continue;
      const cell = Math.floor(i / A); // anchors repeat per cell: np.stack([centers]*A, axis=1)
      const cx = (cell % w) * stride, cy = Math.floor(cell / w) * stride;
      const det: RawDet = {
        x1: cx - boxes[4 * i] * stride, y1: cy - boxes[4 * i + 1] * stride,
        x2: cx + boxes[4 * i + 2] * stride, y2: cy + boxes[4 * i + 3] * stride,
        score: scores[i],
      };
      if (kps) {
        det.kps = [];
        for (let k = 0; k < 5; k++) det.kps.push([cx + kps[10 * i + 2 * k] * stride, cy + kps[10 * i + 2 * k + 1] * stride]);
      }
      dets.push(det);
    }
  });
  return dets;
}

/** scrfd.py `SCRFD.nms`: greedy by score, IoU with +1 pixel-inclusive areas, keep IoU ≤ thresh. */
export function nms(dets: RawDet[], iou = SCRFD_NMS_IOU): RawDet[] {
  const order = [...dets].sort((a, b) => b.score - a.score);
  const area = (d: RawDet) => (d.x2 - d.x1 + 1) * (d.y2 - d.y1 + 1);
  const keep: RawDet[] = [];
  let rest = order;
  while (rest.length > 0) {
    const [i, ...others] = rest;
    keep.push(i);
    rest = others.filter((o) => {
      const w = Math.max(0, Math.min(i.x2, o.x2) - Math.max(i.x1, o.x1) + 1);
      const h = Math.max(0, Math.min(i.y2, o.y2) - Math.max(i.y1, o.y1) + 1);
      const inter = w * h;
      return inter / (area(i) + area(o) - inter) <= iou;
    });
  }
  return keep;
}

export async function createScrfdDetector(file: string, opts: DetectorOptions = {}): Promise<FaceDetector> {
  const session = await createOrtSession(file);
  const layout = scrfdLayout(session.outputs.length);
  if (!layout.useKps) throw new UserError(`${file}: this SCRFD model has no keypoint outputs; alignment needs the *_kps variant`);
  const shape = session.inputs[0]?.shape;
  const fixed = (v: unknown) => (typeof v === 'number' && v > 0 ? v : undefined);
  const inW = fixed(shape?.[3]) ?? SCRFD_DEFAULT_INPUT, inH = fixed(shape?.[2]) ?? SCRFD_DEFAULT_INPUT;
  const threshold = opts.minScore ?? SCRFD_DEFAULT_MIN_SCORE;
  const full = sha256FileSync(file), sha = full.slice(0, 16);
  noteWeightsFile(file, full);
  return {
    name: `scrfd:${basename(file)}:sha256-${sha}:${inW}x${inH}:min${threshold}`,
    async detect(img: RgbImage): Promise<Detection[]> {
      const { blob, scale } = letterboxBlob(img, inW, inH);
      const out = await session.run({ [session.inputs[0].name]: { data: blob, dims: [1, 3, inH, inW] } });
      const outs = session.outputs.map((o) => out[o.name].data);
      const dets = nms(decodeScrfd(outs, layout, inW, inH, threshold));
      return dets.map((d) => {
        const [x1, y1, x2, y2] = [d.x1 / scale, d.y1 / scale, d.x2 / scale, d.y2 / scale];
        const k = d.kps!.map(([x, y]) => [x / scale, y / scale] as Point);
        return { box: [x1, y1, x2 - x1, y2 - y1], score: d.score, keypoints5: k as Detection['keypoints5'], detector: 'scrfd' };
      });
    },
    dispose: () => session.release(),
  };
}
