/**
 * Zero-shot identification from one prompt per person, the way the paper's model decides (CLIP's
 * softmax over exp(logit_scale) · cosine, a photo "unrecognized" below 0.8 confidence), measured
 * on people the model never saw. With the teaching CLIP, a prompt that describes the person picks
 * them out; a prompt that names them cannot, since no name occurred in pretraining.
 * Pure: features and text embeddings in, numbers out.
 */
import { dotMatrix } from '../util/rows.ts';

export interface PromptIdentification {
  /** top-1 accuracy over photos */
  accuracy: number;
  /** 1 / people */
  chance: number;
  /** mean softmax probability of the top prompt */
  meanTopProbability: number;
  /** fraction of photos whose top probability reaches `threshold` (the paper's 0.8) */
  accepted: number;
  threshold: number;
  /** photo × prompt cosines */
  cosines: number[][];
}

/**
 * @param feats unit image features [photos × d]
 * @param labels the person of each photo (index into the prompts)
 * @param text unit prompt features [people × d]
 * @param scale exp(logit_scale) of the model
 */
export function identifyWithPrompts(feats: Float32Array, labels: ArrayLike<number>, text: Float32Array, d: number, scale: number, threshold = 0.8): PromptIdentification {
  const cosines = dotMatrix(feats, text, d);
  let right = 0, top = 0, accepted = 0;
  cosines.forEach((row, i) => {
    const m = Math.max(...row);
    const z = row.reduce((s, c) => s + Math.exp(scale * (c - m)), 0);
    const p = 1 / z; // softmax of the top prompt
    if (row.indexOf(m) === labels[i]) right++;
    top += p;
    if (p >= threshold) accepted++;
  });
  const n = cosines.length;
  return { accuracy: right / n, chance: 1 / (text.length / d), meanTopProbability: top / n, accepted: accepted / n, threshold, cosines };
}
