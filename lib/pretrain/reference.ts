/**
 * Fixed inputs whose embeddings are recorded beside shipped weights (models/teaching-clip/
 * reference-embeddings.json): seeded pixel arrays and three prompts, so a test can check that the
 * weights, the loader and the towers still give the recorded numbers, without any image file.
 */
import { streamRng } from '../util/rng.ts';

export function referenceInputs(size: number): { pixels: Float32Array; n: number; prompts: string[] } {
  const n = 2;
  const rng = streamRng('teaching-clip-reference', 0);
  const pixels = Float32Array.from({ length: n * 3 * size * size }, () => 2 * rng() - 1);
  return { pixels, n, prompts: ['a woman with black long hair', 'a man wearing glasses', 'This is the image of a person named An'] };
}
