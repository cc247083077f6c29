/**
 * The face-embedder contract, on its own so that embedder.ts (the factory that loads the
 * implementations on demand) and the implementations (tfjs-embedders.ts, onnx-embedder.ts) both
 * import it and not each other.
 */
import type { RgbImage } from '../runtime/image.ts';
import type { DocumentedRecipe } from './thresholds.ts';

export interface FaceEmbedder {
  /** names the model and its weights (version, file hash): the cache key */
  id: string;
  /** for reports, e.g. "face-api 1.7.15 FaceRecognitionNet (dlib ResNet-34, 128-d)" */
  description: string;
  /** side of the square aligned crop it reads */
  inputSize: number;
  dim: number;
  /** the matching recipe its authors document ((o) with documented threshold), or null */
  documented: DocumentedRecipe | null;
  /** the crop its own pipeline uses, to compare with ours (preprocess.margin) */
  cropNote: string;
  /** raw descriptors [n, dim], row-major */
  embed(images: RgbImage[]): Promise<Float32Array>;
  dispose(): Promise<void>;
}
