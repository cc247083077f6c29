/**
 * The matching recipe each face model's authors document ("(o)" with the documented threshold).
 * Acceptance is always `similarity >= threshold`, with similarity in the units of `metric`
 * (lib/baselines/gallery.ts): cosine of L2-normalised vectors, minus the Euclidean distance of raw
 * descriptors, or Human's own similarity formula. Where a source states a distance, the rule is
 * rewritten as a similarity without changing which pairs it accepts.
 *
 * Thresholds are kept here rather than in models/registry.json because the registry schema has no
 * field for them; ids match registry ids.
 */
import type { SimilarityMetric } from './gallery.ts';

export interface DocumentedRecipe {
  metric: SimilarityMetric;
  /** accept when similarity >= threshold (metric units) */
  threshold: number;
  /** the rule as its source words it */
  stated: string;
  source: string;
}

/**
 * face-api.js FaceMatcher(…, distanceThreshold = 0.6): a descriptor matches when its Euclidean
 * distance is < 0.6 (dlib's value for this ResNet-34, dnn_face_recognition_ex.cpp). FaceMatcher
 * compares with the mean distance to a label's descriptors; we keep our gallery modes (mean
 * template / nearest neighbour) and only borrow the metric and threshold.
 */
export const FACE_API_RECIPE: DocumentedRecipe = {
  metric: 'euclidean', threshold: -0.6, stated: 'Euclidean distance of raw 128-d descriptors < 0.6',
  source: '@vladmandic/face-api FaceMatcher (distanceThreshold 0.6, from dlib dnn_face_recognition_ex.cpp)',
};

/**
 * Human src/face/match.ts: similarity = clamp((1 − √(multiplier·Σ(d1−d2)²)/100 − min)/(max − min)),
 * "multiplier … default is 20 which normalizes results to similarity above 0.5 can be considered a
 * match", min 0.2, max 0.8. (The code's default multiplier is 25 and the project wiki names 0.55
 * "best guess" and 0.65 "good match": we take the docstring's stated pair, multiplier 20 and 0.5.)
 */
export const HUMAN_RECIPE: DocumentedRecipe = {
  metric: 'human', threshold: 0.5, stated: 'human.match similarity (order 2, multiplier 20, range 0.2–0.8) ≥ 0.5',
  source: '@vladmandic/human src/face/match.ts docstring',
};

/**
 * User-supplied ONNX recognisers, by registry id. insightface publishes no threshold for
 * buffalo_l; deepface's tuned cosine-distance thresholds (modules/verification.py) are the
 * published values for the same checkpoints: Buffalo_L 0.55, VGG-Face (4096-d) 0.68.
 */
export const ONNX_RECIPES: Record<string, DocumentedRecipe> = {
  'insightface/buffalo_l-w600k_r50': {
    metric: 'cosine', threshold: 0.45, stated: 'cosine distance ≤ 0.55 (deepface "Buffalo_L")',
    source: 'serengil/deepface modules/verification.py (find_threshold, Buffalo_L cosine)',
  },
  'oxford-vgg/vgg-face': {
    metric: 'cosine', threshold: 0.32, stated: 'cosine distance ≤ 0.68 (deepface "VGG-Face", tuned on LFW)',
    source: 'serengil/deepface modules/verification.py (find_threshold, VGG-Face cosine)',
  },
};
