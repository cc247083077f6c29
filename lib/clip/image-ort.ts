/**
 * Image embeddings from the frozen tower on the fastest runtime here (PERF-NOTES Q4 and
 * "Recommendation (i)"): onnxruntime-node (MLAS, intra-op threads = cores) runs the ONNX graph of
 * our own weights (onnx-export.ts) 4–7× faster than tfjs-wasm, with the same numbers (cosine ≥
 * 0.99999, test/perf-image.test.ts). tfjs stays the fallback, and the choice on native tfjs
 * backends (tfjs-node / -gpu), where it is not slower.
 *
 *   const enc = createImageEncoder(model);               // runtime 'auto'
 *   const feats = await enc.encode(pixels, n);           // Float32Array [n × embed_dim], raw
 *   enc.dispose();
 */
import type { ClipModel } from './model.ts';
import { exportImageTower } from './onnx-export.ts';
import { backendInfo } from '../runtime/tf.ts';
import { createSyncOrtSession } from '../runtime/ort.ts';

export type ImageRuntime = 'auto' | 'ort' | 'tfjs';

export interface ImageEncoderOptions {
  runtime?: ImageRuntime;
  /** images per forward pass (default 16) */
  batchSize?: number;
  /** ORT intra-op threads (default: every core) */
  threads?: number;
}

export interface ImageEncoder {
  /** the runtime actually used */
  runtime: 'ort' | 'tfjs';
  /** raw encode_image features of n NCHW CLIP-normalised images, [n × embed_dim] row-major */
  encode(pixels: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

function tfjsEncoder(model: ClipModel, batchSize: number): ImageEncoder {
  return {
    runtime: 'tfjs',
    async encode(pixels, n) {
      const t = model.encodeImage(pixels, n, batchSize);
      const out = t.dataSync() as Float32Array;
      t.dispose();
      return out;
    },
    dispose() {},
  };
}

/**
 * An encoder for `model`'s image tower. 'auto' takes ORT unless tfjs runs a native backend or
 * onnxruntime-node cannot load; 'ort' fails if it cannot load. The ORT graph is built from the
 * tower's weights as they are now (later changes to the tfjs tower are not seen).
 */
export function createImageEncoder(model: ClipModel, opts: ImageEncoderOptions = {}): ImageEncoder {
  const runtime = opts.runtime ?? 'auto';
  const batchSize = opts.batchSize ?? 16;
  const nativeTf = backendInfo()?.name === 'tensorflow';
  if (runtime === 'tfjs' || (runtime === 'auto' && nativeTf)) return tfjsEncoder(model, batchSize);
  const session = createSyncOrtSession(exportImageTower(model.cfg, model.visual), { threads: opts.threads });
  if (!session) {
    if (runtime === 'ort') throw new Error('createImageEncoder: onnxruntime-node could not be loaded');
    return tfjsEncoder(model, batchSize);
  }
  const s = model.cfg.vision.imageSize, dim = model.cfg.embedDim, per = 3 * s * s;
  return {
    runtime: 'ort',
    async encode(pixels, n) {
      if (pixels.length !== n * per) throw new Error(`encode: expected ${n}×${per} values, got ${pixels.length}`);
      const out = new Float32Array(n * dim);
      for (let i = 0; i < n; i += batchSize) {
        const m = Math.min(batchSize, n - i);
        session.run(
          { pixels: { data: pixels.subarray(i * per, (i + m) * per), dims: [m, 3, s, s] } },
          { features: { data: out.subarray(i * dim, (i + m) * dim), dims: [m, dim] } },
        );
        if (i + m < n) await new Promise((r) => setImmediate(r)); // let progress bars and signals through
      }
      return out;
    },
    dispose: () => session.release(),
  };
}
