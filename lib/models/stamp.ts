/**
 * The lines every output of a run on stand-in weights carries (metrics.json, report.md,
 * report.html): random init proves the pipeline, not CLIP; the teaching CLIP (models/teaching-clip,
 * pretrained on synthetic cartoon faces) shows the paper's mechanism, not CLIP-RN50's numbers.
 */
export const RANDOM_STAMP = 'random weights: pipeline check, not a result';
export const TEACHING_STAMP = "teaching CLIP trained on synthetic cartoon faces: it shows the mechanism, not CLIP-RN50's numbers";
