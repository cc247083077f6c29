/**
 * A user-supplied ONNX face recogniser (insightface ArcFace w600k_r50, a VGG-Face export, or any
 * other) behind the FaceEmbedder interface, through onnxruntime-node (lib/runtime/ort.ts).
 *
 * Everything the model needs is read, never guessed: the file, its sha256 and the preprocessing
 * come from its registry entry (models/registry.json or the file `method.registry` names); the
 * tensor layout (NCHW/NHWC), input size, batch dimension and output come from the graph itself.
 *
 * insightface model_zoo/arcface_onnx.py get_feat: cv2.dnn.blobFromImages(imgs, 1/std, (112, 112),
 * (mean, mean, mean), swapRB=True), i.e. RGB, (x − 127.5)/127.5, NCHW, bilinear resize when the
 * crop is not 112 px; output 512-d, L2-normalised by the caller (Face.normed_embedding).
 */
import { noteWeightsFile } from '../util/weights-used.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clipCrop } from '../clip/preprocess.ts';
import { getModel, loadRegistry, modelDir, type ModelEntry, type Preprocessing } from '../models/registry.ts';
import { createOrtSession } from '../runtime/ort.ts';
import type { RgbImage } from '../runtime/image.ts';
import { UserError } from '../util/errors.ts';
import { sha256FileSync } from '../util/hash.ts';
import type { FaceEmbedder } from './embedder-types.ts';
import { ONNX_RECIPES } from './thresholds.ts';

export interface OnnxModel { entry: ModelEntry; path: string }

/** Registry id → its entry and its .onnx file in the model cache (`clipface models fetch <id>` prints where). */
export function resolveOnnxModel(id: string, registryPath: string | null): OnnxModel {
  let entry: ModelEntry | undefined;
  if (registryPath) {
    entry = loadRegistry(registryPath).find((m) => m.id === id);
    if (!entry) throw new UserError(`method.embedder onnx:${id}: no such id in ${registryPath}`);
  } else {
    entry = getModel(id);
  }
  if (entry.format !== 'onnx') throw new UserError(`method.embedder onnx:${id}: the registry entry is format ${entry.format}, not onnx`);
  const file = entry.files.find((f) => f.name.endsWith('.onnx')) ?? entry.files[0]!;
  const path = join(modelDir(entry.id), file.name);
  if (!existsSync(path)) throw new UserError(`${id}: ${path} is missing. ${entry.howToGet ?? ''}`.trim());
  return { entry, path };
}

/** cv2.resize INTER_LINEAR (half-pixel centres, no antialias) to w × h. */
export function resizeBilinear(img: RgbImage, w: number, h: number): RgbImage {
  if (img.width === w && img.height === h) return img;
  const out = new Uint8Array(w * h * 3);
  const axis = (n: number, src: number) => Array.from({ length: n }, (_, i) => {
    const s = Math.min(Math.max((i + 0.5) * (src / n) - 0.5, 0), src - 1);
    const i0 = Math.floor(s);
    return { i0, i1: Math.min(i0 + 1, src - 1), f: s - i0 };
  });
  const xs = axis(w, img.width), ys = axis(h, img.height);
  const at = (x: number, y: number, c: number) => img.data[(y * img.width + x) * 3 + c]!;
  ys.forEach((y, oy) => xs.forEach((x, ox) => {
    for (let c = 0; c < 3; c++) {
      const top = at(x.i0, y.i0, c) * (1 - x.f) + at(x.i1, y.i0, c) * x.f;
      const bot = at(x.i0, y.i1, c) * (1 - x.f) + at(x.i1, y.i1, c) * x.f;
      out[(oy * w + ox) * 3 + c] = Math.round(top * (1 - y.f) + bot * y.f);
    }
  }));
  return { width: w, height: h, data: out, source: img.source };
}

/** Bring a crop to the model's square input as the registry's resize_mode and interpolation say. */
export function fitToInput(img: RgbImage, p: Preprocessing): RgbImage {
  const n = p.image_size;
  if (img.width === n && img.height === n) return img;
  if (p.resize_mode === 'shortest') {
    if (p.interpolation === 'bicubic') return clipCrop(img, n); // PIL bicubic + centre crop, as open_clip
    const s = Math.min(img.width, img.height);
    const x0 = Math.floor((img.width - s) / 2), y0 = Math.floor((img.height - s) / 2);
    const sq = new Uint8Array(s * s * 3);
    for (let y = 0; y < s; y++) sq.set(img.data.subarray(((y + y0) * img.width + x0) * 3, ((y + y0) * img.width + x0 + s) * 3), y * s * 3);
    return resizeBilinear({ width: s, height: s, data: sq, source: img.source }, n, n);
  }
  if (p.interpolation !== 'bilinear') throw new UserError(`${img.source}: ${img.width}×${img.height} crop, and resizing with ${p.interpolation} for ${p.resize_mode} is not implemented; prepare crops at ${n} px (preprocess.detector) instead`);
  return resizeBilinear(img, n, n); // 'squash' and 'aligned': blobFromImages resizes to the input size
}

/** Write one image as the model's input: channel order, input range, (x − mean)/std, NCHW or NHWC. */
export function toModelInput(img: RgbImage, p: Preprocessing, layout: 'NCHW' | 'NHWC', out: Float32Array, offset: number): void {
  const n = img.width * img.height;
  const [lo, hi] = p.input_range;
  const scale = (hi - lo) / 255;
  for (let c = 0; c < 3; c++) {
    const src = p.channel_order === 'BGR' ? 2 - c : c;
    for (let i = 0; i < n; i++) {
      const v = (img.data[i * 3 + src]! * scale + lo - p.mean[c]!) / p.std[c]!;
      out[offset + (layout === 'NCHW' ? c * n + i : i * 3 + c)] = v;
    }
  }
}

export async function onnxEmbedder(m: OnnxModel, say: (s: string) => void): Promise<FaceEmbedder> {
  const { entry, path } = m;
  const pin = entry.files.find((f) => path.endsWith(f.name))?.sha256 ?? null;
  const sha = sha256FileSync(path);
  if (pin && pin !== sha) throw new UserError(`${path}: sha256 ${sha} does not match the registry's ${pin} for ${entry.id}`);
  if (!pin) say(`${entry.id}: sha256 not pinned in the registry (this file: ${sha}); pin it with "clipface models verify ${entry.id}"`);
  const session = await createOrtSession(path);
  noteWeightsFile(path, sha);
  const input = session.inputs[0]!;
  const shape = input.shape ?? [];
  const layout = shape[1] === 3 ? 'NCHW' : shape[3] === 3 ? 'NHWC' : undefined;
  if (!layout) throw new UserError(`${path}: cannot tell the input layout from its shape [${shape.join(', ')}] (expected NCHW or NHWC with 3 channels)`);
  const p = entry.preprocessing;
  const [h, w] = layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  for (const d of [h, w]) if (typeof d === 'number' && d !== p.image_size) throw new UserError(`${path}: the graph takes ${h}×${w}, the registry entry says image_size ${p.image_size}`);
  const maxBatch = typeof shape[0] === 'number' ? shape[0] : 16;
  const per = 3 * p.image_size ** 2;
  const dim = entry.embedDim;
  return {
    id: `onnx:${entry.id}:${sha.slice(0, 16)}:${JSON.stringify(p)}`,
    description: `${entry.id} (${entry.architecture}, ${dim}-d, ONNX via onnxruntime-node)`,
    inputSize: p.image_size, dim, documented: ONNX_RECIPES[entry.id] ?? null,
    cropNote: p.note ?? `${p.resize_mode} ${p.image_size} px`,
    async embed(images) {
      const out = new Float32Array(images.length * dim);
      for (let b = 0; b < images.length; b += maxBatch) {
        const batch = images.slice(b, b + maxBatch);
        const x = new Float32Array(batch.length * per);
        batch.forEach((im, j) => toModelInput(fitToInput(im, p), p, layout, x, j * per));
        const dims = layout === 'NCHW' ? [batch.length, 3, p.image_size, p.image_size] : [batch.length, p.image_size, p.image_size, 3];
        const res = await session.run({ [input.name]: { data: x, dims } });
        const outs = Object.values(res);
        const y = outs.find((o) => o.dims[o.dims.length - 1] === dim) ?? outs[0]!;
        if (y.data.length !== batch.length * dim) throw new UserError(`${path}: output of ${y.dims.join('×')} values, the registry says ${dim}-d embeddings`);
        out.set(y.data, b * dim);
      }
      return out;
    },
    dispose: () => session.release(),
  };
}
