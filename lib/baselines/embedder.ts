/**
 * A face embedder (the backbone of a Table I baseline): aligned RGB crops in, raw (un-normalised)
 * descriptors out. Four kinds: face-api's 128-d dlib ResNet-34 and Human's 1024-d FaceRes (both
 * tfjs, shipped in their npm packages, so the comparison runs offline), the teaching ArcFace tower
 * (the teaching CLIP's image-tower architecture trained with ArcFace on the same synthetic corpus,
 * teaching-arcface.ts), and any ONNX recogniser a user supplies through the model registry
 * (insightface ArcFace, VGG-Face), preprocessing read from its registry entry.
 *
 * Descriptors are cached like CLIP's (lib/services/embeddings.ts): one float32 file per crop,
 * keyed by (embedder id, crop sha256), so (o)/(c) set-ups, thresholds and grids never re-embed.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { decodeImage } from '../runtime/image.ts';
import { cachedRows } from '../services/embeddings.ts';
import { UserError } from '../util/errors.ts';
import type { FaceEmbedder } from './embedder-types.ts';

export type { FaceEmbedder } from './embedder-types.ts';

export interface EmbedderOptions {
  /** registry file for onnx:<id> (null: models/registry.json) */
  registry: string | null;
  /** experiment folder: relative registry paths resolve against it */
  baseDir: string;
  say(message: string): void;
}

/** `face-api` | `human` | `teaching-arcface` | `onnx:<registry id>` → a loaded embedder. */
export async function createEmbedder(spec: string, o: EmbedderOptions): Promise<FaceEmbedder> {
  if (spec === 'face-api') return (await import('./tfjs-embedders.ts')).faceApiEmbedder();
  if (spec === 'human') return (await import('./tfjs-embedders.ts')).humanEmbedder();
  if (spec === 'teaching-arcface') return (await import('./teaching-arcface.ts')).teachingArcfaceEmbedder();
  if (spec.startsWith('onnx:')) {
    const { onnxEmbedder, resolveOnnxModel } = await import('./onnx-embedder.ts');
    const registry = o.registry ? (isAbsolute(o.registry) ? o.registry : resolve(o.baseDir, o.registry)) : null;
    return onnxEmbedder(resolveOnnxModel(spec.slice(5), registry), o.say);
  }
  throw new UserError(`method.embedder "${spec}": use face-api, human, teaching-arcface or onnx:<registry id>`);
}

/** Raw descriptors [n, dim] of image files (aligned crops), through the cache. */
export async function cachedFaceEmbeddings(
  e: FaceEmbedder, files: string[], cacheDir: string, onProgress?: (done: number, total: number) => void, batchSize = 16,
): Promise<Float32Array> {
  const dir = join(cacheDir, 'embeddings', `face-${createHash('sha256').update(e.id).digest('hex').slice(0, 24)}`);
  return cachedRows(dir, e.dim, files, async (paths) => {
    const feats = await e.embed(await Promise.all(paths.map((p) => decodeImage(p))));
    if (feats.length !== paths.length * e.dim) throw new Error(`${e.id}: ${feats.length} values for ${paths.length} images of dim ${e.dim}`);
    feats.forEach((v, k) => {
      if (!Number.isFinite(v)) throw new UserError(`${e.description}: non-finite descriptor for ${paths[Math.floor(k / e.dim)]}`);
    });
    return feats;
  }, onProgress, batchSize);
}
