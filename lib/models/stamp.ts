/**
 * The line every output of a run on seeded random-init CLIP weights carries (metrics.json,
 * report.md, report.html): the demo proves the pipeline, not CLIP.
 */
export const RANDOM_STAMP = 'random weights: pipeline check, not a result';
