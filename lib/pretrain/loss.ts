/**
 * The pretraining objective: CLIP's symmetric cross-entropy over scaled cosines (Radford et al.
 * 2021; open_clip loss.py ClipLoss) with a multi-positive target. A batch holds two photos of each
 * person, each with its own caption; with CLIP's one-hot target the other photo's caption would be
 * a false negative that pushes one person's pictures apart. Here every (photo, caption) pair marked
 * positive counts, and the target spreads evenly over a row's (or a column's) positives, as
 * multi-positive contrastive losses do (SupCon, arXiv 2004.11362). With one positive per row and
 * column it is exactly ClipLoss (tested). Which pairs are positive is the batch's business
 * (batches.ts: same person, and the caption's claims about glasses, view, … agree with the photo).
 * SigLIP's sigmoid loss was the alternative; MODEL_CARD.md says why it was not used.
 */
import { tf } from '../runtime/tf.ts';
import type { T2 } from '../clip/nn.ts';

/** positives as a [rows, cols] 0/1 mask from identity labels (every pair of the same identity). */
export function sameIdentityMask(rowIds: ArrayLike<number>, colIds: ArrayLike<number>): Float32Array {
  const r = rowIds.length, c = colIds.length;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) if (rowIds[i] === colIds[j]) out[i * c + j] = 1;
  return out;
}

/** Each row of a 0/1 mask divided by its sum (the soft target); a row without a positive is an error. */
export function rowTargets(mask: Float32Array, rows: number, cols: number, transpose = false): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let k = 0;
    for (let j = 0; j < cols; j++) k += transpose ? mask[j * rows + i]! : mask[i * cols + j]!;
    if (k === 0) throw new RangeError(`multi-positive loss: ${transpose ? 'caption' : 'image'} ${i} has no positive`);
    for (let j = 0; j < cols; j++) out[i * cols + j] = (transpose ? mask[j * rows + i]! : mask[i * cols + j]!) / k;
  }
  return out;
}

/**
 * ½ (CE(image → texts) + CE(caption → images)) with soft multi-positive targets.
 * `logits` [nImg, nTxt] = scale · cos; `positives` the [nImg, nTxt] 0/1 mask. The first `captions`
 * columns are the photos' captions; any after them are hard negatives (batches.ts), which join the
 * image → text softmax only, as NegCLIP's do (arXiv 2210.01936): they have no photo of their own.
 */
export function multiPositiveClipLoss(logits: T2, positives: Float32Array, captions = logits.shape[1]): tf.Scalar {
  const [ni, nt] = logits.shape;
  const tI = rowTargets(positives, ni, nt);
  const capMask = captions === nt ? positives : subColumns(positives, ni, nt, captions);
  const tT = rowTargets(capMask, captions, ni, true);
  return tf.tidy(() => {
    const i2t = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits, 1), tf.tensor2d(tI, [ni, nt])), 1)));
    const capLogits = captions === nt ? logits : tf.slice(logits, [0, 0], [ni, captions]);
    const t2i = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.transpose(capLogits), 1), tf.tensor2d(tT, [captions, ni])), 1)));
    return tf.mul(tf.add(i2t, t2i), 0.5) as tf.Scalar;
  });
}

/** The first `keep` columns of a [rows, cols] mask. */
function subColumns(mask: Float32Array, rows: number, cols: number, keep: number): Float32Array {
  const out = new Float32Array(rows * keep);
  for (let i = 0; i < rows; i++) out.set(mask.subarray(i * cols, i * cols + keep), i * keep);
  return out;
}

/**
 * The photo term (SLIP-style, arXiv 2112.12750, with two photos of one person as the two "views"):
 * multi-positive InfoNCE among the batch's normalised image features, each photo against all the
 * others (itself excluded), positives = the other photos of the same person, at a fixed scale
 * (SimCLR's τ = 0.1 → 10). It teaches the image tower who is who directly, where captions only
 * teach it what people look like; `training.photoPairWeight` weighs it (0 = pure CLIP).
 */
export function photoContrastLoss(imgN: T2, ids: ArrayLike<number>, scale = 10): tf.Scalar {
  const n = imgN.shape[0];
  const mask = sameIdentityMask(ids, ids);
  for (let i = 0; i < n; i++) mask[i * n + i] = 0;
  const targets = rowTargets(mask, n, n);
  return tf.tidy(() => {
    const eye = tf.mul(tf.eye(n), -1e9);
    const logits = tf.add(tf.mul(tf.matMul(imgN, imgN, false, true), scale), eye);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits, 1), tf.tensor2d(targets, [n, n])), 1))) as tf.Scalar;
  });
}

/**
 * The facial-hair head (`training.facialHairHead`): a cosine classifier on the normalised image
 * embedding, logit = scale · cos(image, w), binary cross-entropy against whether the man in the
 * photo has facial hair, averaged over the men of the batch (women are masked out; a batch without
 * men gives 0). Why: the contrastive loss alone left the image tower blind to styles that change a
 * few dozen pixels of a 64 px crop (goatees, mustaches; MODEL_CARD.md gate 1), while the same tower
 * trained on this label alone learns them on unseen people. The label is what the captions say.
 */
export function facialHairHeadLoss(imgN: T2, head: tf.Tensor2D, labels: Float32Array, mask: Float32Array, scale = 10): tf.Scalar {
  const men = mask.reduce((a, x) => a + x, 0);
  if (!men) return tf.scalar(0);
  return tf.tidy(() => {
    const w = tf.div(head, tf.norm(head));
    const z = tf.mul(tf.reshape(tf.matMul(imgN, w), [imgN.shape[0]]), scale);
    const y = tf.tensor1d(labels);
    // log(1 + e^z) − y·z, stably: relu(z) − y·z + log(1 + e^−|z|)
    const bce = tf.add(tf.sub(tf.relu(z), tf.mul(y, z)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
    return tf.div(tf.sum(tf.mul(bce, tf.tensor1d(mask))), men) as tf.Scalar;
  });
}
