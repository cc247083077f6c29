/**
 * Image embeddings of the frozen tower, computed once: a content-addressed cache keyed by
 * (weights id, crop sha256), one raw float32 file per crop under
 * `<cacheDir>/embeddings/<weights id>/`. Reruns, ablations over prompts or training settings,
 * and resumed runs never re-encode an image.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../runtime/tf.ts';
import { decodeImage } from '../runtime/image.ts';
import { clipCrop, toPixelValues } from '../clip/preprocess.ts';
import type { ClipModel } from '../clip/model.ts';
import { createImageEncoder, type ImageEncoder } from '../clip/image-ort.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { sha256FileSync } from '../util/hash.ts';

export interface EmbedProgress { (done: number, total: number): void }

/**
 * The cache itself: rows [n, dim] for `files`, one float32 file per file under `dir`, keyed by the
 * file's sha256; `encode` computes the rows of a batch of paths that are not cached yet. Shared by
 * the CLIP image tower and the face baselines' embedders (lib/baselines/embedder.ts).
 */
export async function cachedRows(
  dir: string, dim: number, files: string[], encode: (paths: string[]) => Promise<Float32Array>,
  onProgress?: EmbedProgress, batchSize = 16,
): Promise<Float32Array> {
  const out = new Float32Array(files.length * dim);
  const todo: { i: number; key: string; path: string }[] = [];
  files.forEach((path, i) => {
    const key = sha256FileSync(path);
    const f = join(dir, `${key}.f32`);
    if (existsSync(f)) {
      const buf = readFileSync(f);
      if (buf.byteLength === dim * 4) {
        out.set(new Float32Array(buf.buffer, buf.byteOffset, dim), i * dim);
        return;
      }
    }
    todo.push({ i, key, path });
  });
  let done = files.length - todo.length;
  onProgress?.(done, files.length);
  for (let b = 0; b < todo.length; b += batchSize) {
    const batch = todo.slice(b, b + batchSize);
    const data = await encode(batch.map((t) => t.path));
    for (const [j, t] of batch.entries()) {
      const row = data.slice(j * dim, (j + 1) * dim);
      out.set(row, t.i * dim);
      writeFileAtomic(join(dir, `${t.key}.f32`), new Uint8Array(row.buffer));
    }
    done += batch.length;
    onProgress?.(done, files.length);
  }
  return out;
}

/** Raw encode_image features [n, dim] for image files (aligned crops), via the cache. */
export async function cachedImageEmbeddings(
  model: ClipModel, weightsId: string, files: string[], cacheDir: string, onProgress?: EmbedProgress, batchSize = 16,
): Promise<Float32Array> {
  const { size, mean, std } = model.cfg.preprocess;
  const per = 3 * size * size;
  // onnxruntime runs the frozen tower 4-7x faster than tfjs-wasm with the same numbers (image-ort.ts);
  // created on the first uncached batch only
  let encoder: ImageEncoder | undefined;
  try {
    return await cachedRows(join(cacheDir, 'embeddings', weightsId.slice(0, 24)), model.cfg.embedDim, files, async (paths) => {
      encoder ??= createImageEncoder(model, { batchSize });
      const px = new Float32Array(paths.length * per);
      for (const [j, p] of paths.entries()) toPixelValues(clipCrop(await decodeImage(p), size), mean, std, px, j * per);
      return encoder.encode(px, paths.length);
    }, onProgress, batchSize);
  } finally {
    encoder?.dispose();
  }
}

/** Softmax probabilities and cosines of normalised image rows against normalised class rows. */
export function scoreImages(imgN: Float32Array, txtN: Float32Array, dim: number, logitScale: number): { probs: number[][]; cosines: number[][] } {
  return tf.tidy(() => {
    const a = tf.tensor2d(imgN, [imgN.length / dim, dim]);
    const b = tf.tensor2d(txtN, [txtN.length / dim, dim]);
    const cos = tf.matMul(a, b, false, true);
    const probs = tf.softmax(tf.mul(cos, Math.exp(logitScale)));
    return { probs: probs.arraySync() as number[][], cosines: cos.arraySync() as number[][] };
  });
}
