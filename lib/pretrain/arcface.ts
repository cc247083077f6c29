/**
 * The ArcFace objective (Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
 * Recognition", arXiv 1801.07698): cross-entropy over s·cos(θ_y + m) for the true class and
 * s·cos θ_j for the others, θ = the angle between the normalised embedding and the normalised
 * weight row of each class (insightface recognition/arcface_torch: s = 64, m = 0.5).
 *
 * Past θ_y + m = π the cosine would rise again; insightface's classic formulation (its ArcFace
 * module with `easy_margin = False`) then uses cos θ − m·sin m instead (the "th / mm" fallback;
 * th = cos(π − m), mm = sin(π − m)·m), which keeps the target logit decreasing in θ. We
 * differentiate cos(θ + m) = cos θ·cos m − sin θ·sin m exactly; newer insightface releases
 * (CombinedMarginLoss) pass the gradient of s·cos θ straight through instead.
 *
 * tfjs-wasm has no kernel for a gather's gradient (UnsortedSegmentSum, PERF-NOTES): the target
 * cosine is picked with a one-hot product, and the branch is chosen on values, off the tape.
 */
import { tf } from '../runtime/tf.ts';
import type { T2 } from '../clip/nn.ts';

export interface ArcFaceMargin { scale: number; margin: number }

/** The margin at 0-based `step`: linear from 0 to m over `warmupSteps` (0 = m from the start). */
export function marginAt(margin: number, warmupSteps: number, step: number): number {
  return warmupSteps > 0 ? margin * Math.min(1, (step + 1) / warmupSteps) : margin;
}

/** cos(θ + m) with insightface's fallback past θ + m = π, for one cosine (the reference the tests use). */
export function marginCosine(c: number, m: number): number {
  if (c > Math.cos(Math.PI - m)) return Math.cos(Math.acos(Math.min(1, Math.max(-1, c))) + m);
  return c - Math.sin(Math.PI - m) * m;
}

/**
 * Mean ArcFace cross-entropy of cosines `cos` [n, classes] (unit embeddings · unit class rows)
 * with integer `labels` (one per row, in 0…classes−1).
 */
export function arcFaceLoss(cos: T2, labels: Int32Array, o: ArcFaceMargin): tf.Scalar {
  const [n, k] = cos.shape;
  if (labels.length !== n) throw new RangeError(`arcFaceLoss: ${labels.length} labels for ${n} rows`);
  return tf.tidy(() => {
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), k), 'float32') as T2;
    const target = tf.sum(tf.mul(cos, onehot), 1); // [n] cos θ_y
    const { margin: m, scale: s } = o;
    let adjusted: tf.Tensor = target;
    if (m !== 0) {
      const sin = tf.sqrt(tf.clipByValue(tf.sub(1, tf.square(target)), 1e-7, 1));
      const arc = tf.sub(tf.mul(target, Math.cos(m)), tf.mul(sin, Math.sin(m)));
      const th = Math.cos(Math.PI - m);
      const keep = tf.tensor1d(Float32Array.from(target.dataSync(), (v) => (v > th ? 1 : 0)));
      adjusted = tf.add(tf.mul(keep, arc), tf.mul(tf.sub(1, keep), tf.sub(target, Math.sin(Math.PI - m) * m)));
    }
    // replace the true class's cosine by the margin one: cos + onehot·(adjusted − cos θ_y)
    const logits = tf.mul(tf.add(cos, tf.mul(onehot, tf.reshape(tf.sub(adjusted, target), [n, 1]))), s);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits, 1), onehot), 1))) as tf.Scalar;
  });
}
