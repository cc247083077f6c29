/**
 * The detector contract, on its own so that detector.ts (the factory that loads detectors/* on
 * demand) and the implementations in detectors/ both import it and not each other: a box, a score
 * and 5 keypoints in source pixels, in the ArcFace template order (see detector.ts).
 */
import type { Point } from './align.ts';
import type { RgbImage as DecodedImage } from '../runtime/image.ts';

/** Decoded pixels, RGB interleaved, row-major: lib/runtime/image.ts's image without its label. */
export type RgbImage = Pick<DecodedImage, 'width' | 'height' | 'data'>;

export interface Detection {
  /** [x, y, w, h] in source pixels */
  box: [number, number, number, number];
  /** detector confidence in [0, 1] (scales differ between detectors) */
  score: number;
  /** eye, eye, nose, mouth corner, mouth corner; pairs left to right in the image */
  keypoints5: [Point, Point, Point, Point, Point];
  /** which detector produced it (matters for `union`) */
  detector?: string;
}

export interface FaceDetector {
  /** stable id that names the model and its settings; part of the crop cache key */
  readonly name: string;
  detect(img: RgbImage): Promise<Detection[]>;
  /** frees models/sessions; the detector is unusable afterwards */
  dispose?(): Promise<void>;
}

export interface DetectorOptions {
  /** minimum score for the detector being created (not for union's parts; see minScores) */
  minScore?: number;
  /** minimum score per detector kind, e.g. for the two parts of `union`; minScore wins for a single detector */
  minScores?: Partial<Record<'face-api' | 'human' | 'scrfd', number>>;
  /**
   * drop faces whose box side is under this fraction of the image's shorter side (default 0.1,
   * for portrait datasets like the paper's; 0 keeps everything, e.g. for group photos). On the
   * synthetic set the low thresholds needed for cartoons also fire on small bits of clutter; this
   * removes them, and lets `union` fall back when its first detector found only such bits.
   */
  minFace?: number;
}
