/**
 * The ArcFace objective inside the pretraining loop (train.ts): the training identities become
 * classes 0…K−1 (in corpus order), a class-weight matrix [K, embed] initialised N(0, std²) as
 * insightface's partial_fc does, and one step = the image tower's embeddings of a batch, both
 * normalised, cosines against every class, arcface.ts's loss, then the shared update.
 */
import { l2normalize } from '../clip/model.ts';
import type { T2 } from '../clip/nn.ts';
import { tf } from '../runtime/tf.ts';
import { gauss, streamRng } from '../util/rng.ts';
import { arcFaceLoss, type ArcFaceMargin } from './arcface.ts';
import type { Corpus } from './corpus.ts';
import { applyGradients } from './step-update.ts';
import type { Trainer } from './train.ts';

/** Class of each corpus identity: training identities 0…K−1 in corpus order, −1 for the others. */
export function identityClasses(corpus: Corpus): { classOf: Int32Array; classes: number } {
  const ids = corpus.manifest.identities;
  const classOf = new Int32Array(ids.length).fill(-1);
  let k = 0;
  ids.forEach((id, i) => { if (id.set === 'train') classOf[i] = k++; });
  return { classOf, classes: k };
}

/** The seeded class-weight variable [classes, dim] (insightface partial_fc: torch.normal(0, 0.01)). */
export function classWeightVariable(classes: number, dim: number, std: number, seed: number, name: string): tf.Variable {
  const rng = streamRng(seed, 'arcface-class-weight');
  const w = Float32Array.from({ length: classes * dim }, () => gauss(rng) * std);
  return tf.variable(tf.tensor2d(w, [classes, dim]), true, name);
}

/** One ArcFace step on `pixels` (NCHW, one class label per image) at margin `o.margin`. */
export function arcFaceStep(tr: Trainer, pixels: Float32Array, labels: Int32Array, lr: number, o: ArcFaceMargin): { loss: number; gradNorm: number } {
  const w = tr.classWeight;
  if (!w) throw new Error('arcFaceStep: the trainer has no class weights (objective clip)');
  const { value, grads } = tf.variableGrads(() => {
    const emb = l2normalize(tr.vis.encode(pixels, labels.length));
    const cos = tf.matMul(emb, l2normalize(w as tf.Tensor as T2), false, true) as T2;
    return arcFaceLoss(cos, labels, o);
  }, [...tr.vars.values()]);
  return applyGradients(tr, value, grads, lr);
}
