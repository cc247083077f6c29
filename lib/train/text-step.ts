/**
 * The paper's objective for the text tower (frozen image tower): logits = exp(logit_scale) ×
 * cos(image, prompt of every enrolled person), cross-entropy against the true person, mean over
 * the mini-batch; then one AdamW step. Knows nothing of files or datasets: features, tokens and
 * labels in, loss and gradient norms out.
 */
import { tf } from '../runtime/tf.ts';
import type { ClipModel } from '../clip/model.ts';
import { l2normalize } from '../clip/model.ts';
import type { T2 } from '../clip/nn.ts';
import type { AdamW } from './adamw.ts';

/** Mean softmax cross-entropy of `logits` [B, C] against integer `labels`. */
export function crossEntropy(logits: T2, labels: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), onehot), 1))) as tf.Scalar;
  });
}

/** CLIP logits of (already L2-normalised) image features against every class prompt. */
export function classLogits(model: ClipModel, imageFeaturesNormed: T2, classTokens: Int32Array[]): T2 {
  return tf.tidy(() => {
    const text = l2normalize(model.encodeText(classTokens));
    return tf.mul(tf.matMul(imageFeaturesNormed, text, false, true), Math.exp(model.logitScale)) as T2;
  });
}

export interface StepResult {
  loss: number;
  /** L2 norm of each trainable tensor's gradient (token table: its trained rows, the rest are 0) */
  gradNorms: Map<string, number>;
  /** the batch's logits before the update (for accuracy logging) */
  logits: number[][];
}

/**
 * One finetuning step. `model.text.beginTraining(classTokens)` must have been called (it decides
 * which token rows are trainable). `gradHook` sees the gradients before the update.
 */
export function textTrainStep(
  model: ClipModel,
  opt: AdamW,
  imageFeaturesNormed: T2,
  classTokens: Int32Array[],
  labels: Int32Array,
  lr: number,
): StepResult {
  const vars = model.text.trainableVariables();
  const varList = [...vars.values()];
  let logitsOut: number[][] = [];
  const { value, grads } = tf.variableGrads(() => {
    const logits = classLogits(model, imageFeaturesNormed, classTokens);
    logitsOut = logits.arraySync();
    return crossEntropy(logits, labels);
  }, varList);
  const byName = new Map<string, tf.Tensor>();
  const gradNorms = new Map<string, number>();
  for (const [name, v] of vars) {
    const g = grads[v.name];
    if (!g) continue;
    byName.set(name, g);
    gradNorms.set(name, tf.tidy(() => tf.norm(g).dataSync()[0]!));
  }
  const loss = value.dataSync()[0]!;
  if (Number.isFinite(loss)) {
    opt.apply(vars, byName, lr);
    model.text.decayUntouchedRows(1 - lr * opt.weightDecay);
  }
  value.dispose();
  tf.dispose(Object.values(grads));
  return { loss, gradNorms, logits: logitsOut };
}
