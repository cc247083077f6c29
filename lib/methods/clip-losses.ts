/**
 * The paper's future work as `training.loss` of the finetune arm (arXiv 2411.12319 §VI: "triplet
 * loss or ArcFace"), on the text-side logits: the image features are fixed, the text tower trains.
 * c = cos(image, prompt of every class) [B, C].
 * - arcface (Deng et al., arXiv 1801.07698; insightface recognition/arcface_torch/losses.py):
 *   CE over s·cos(θ_y + m) for the true class and s·cos θ_c for the others, with insightface's
 *   fallback cos θ − m·sin m when θ_y + m would pass π (the "th/mm" trick); s = exp(logit_scale)
 *   unless training.loss.scale is set. Scoring at test time is plain CLIP (no margin), as ArcFace.
 * - triplet (Schroff et al., FaceNet): anchor = the image, positive = its own prompt, negative =
 *   the hardest other prompt; on unit vectors ‖a − p‖² = 2 − 2·cos, so
 *   loss = mean(max(0, 2·c_neg − 2·c_pos + α)), α = 0.2.
 * The step plugs into lib/train/finetune.ts's loop (same batch plan, AdamW, schedule, checkpoints,
 * resume) in place of CE; it takes one backward pass per step (no gradient cache), so it is meant
 * for paper-scale class counts.
 */
import { tf } from '../runtime/tf.ts';
import { l2normalize, type ClipModel } from '../clip/model.ts';
import type { T2 } from '../clip/nn.ts';
import { finetuneTextTower, type FinetuneConfig, type FinetuneHooks, type FinetuneResult, type TrainState, type TrainStep } from '../train/finetune.ts';
import { crossEntropy } from '../train/text-step.ts';
import type { LossOptions } from './options.ts';

/** The loss on cosines [B, C] of unit image features with unit prompt features. */
export function marginLoss(o: LossOptions, cos: T2, labels: Int32Array, clipScale: number): tf.Scalar {
  return tf.tidy(() => {
    const C = cos.shape[1];
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), C), 'float32');
    if (o.kind === 'ce') return crossEntropy(tf.mul(cos, clipScale) as T2, labels);
    if (o.kind === 'arcface') {
      const m = o.margin, s = o.scale ?? clipScale;
      const sin = tf.sqrt(tf.clipByValue(tf.sub(1, tf.square(cos)), 1e-7, 1));
      let phi = tf.sub(tf.mul(cos, Math.cos(m)), tf.mul(sin, Math.sin(m)));
      // the branch is chosen on values, off the tape (tfjs has no gradient for Greater)
      const th = Math.cos(Math.PI - m);
      const keep = tf.tensor2d(Float32Array.from(cos.dataSync(), (v) => (v > th ? 1 : 0)), cos.shape);
      phi = tf.add(tf.mul(keep, phi), tf.mul(tf.sub(1, keep), tf.sub(cos, Math.sin(Math.PI - m) * m)));
      const logits = tf.mul(tf.add(tf.mul(onehot, phi), tf.mul(tf.sub(1, onehot), cos)), s) as T2;
      return crossEntropy(logits, labels);
    }
    const pos = tf.sum(tf.mul(onehot, cos), 1);
    const neg = tf.max(tf.sub(cos, tf.mul(onehot, 4)), 1); // cosines ≥ −1: −4 removes the positive
    return tf.mean(tf.relu(tf.add(tf.mul(tf.sub(neg, pos), 2), o.margin))) as tf.Scalar;
  });
}

/** One AdamW step on `loss` (a TrainStep for lib/train/finetune.ts's loop). */
export function marginStep(loss: LossOptions): TrainStep {
  return (model, opt, feats, classTokens, y, lr) => {
    const vars = model.text.trainableVariables();
    const clipScale = Math.exp(model.logitScale);
    let logits: number[][] = [];
    const { value, grads } = tf.variableGrads(() => {
      const cos = tf.matMul(feats, l2normalize(model.encodeText(classTokens)), false, true) as T2;
      logits = cos.arraySync();
      return marginLoss(loss, cos, y, clipScale);
    }, [...vars.values()]);
    const l = value.dataSync()[0]!;
    const named = new Map<string, tf.Tensor>();
    for (const [name, v] of vars) if (grads[v.name]) named.set(name, grads[v.name]!);
    if (Number.isFinite(l)) {
      opt.apply(vars, named, lr);
      model.text.decayUntouchedRows(1 - lr * opt.weightDecay);
    }
    tf.dispose([value, ...Object.values(grads)]);
    return { loss: l, logits };
  };
}

/** finetuneTextTower (lib/train/finetune.ts) with `loss` as the objective; same signature and state. */
export function finetuneWithLoss(loss: LossOptions) {
  return (model: ClipModel, features: Float32Array, labels: Int32Array, classTokens: Int32Array[],
    cfg: FinetuneConfig, hooks: FinetuneHooks = {}, resume?: TrainState): Promise<FinetuneResult> =>
    finetuneTextTower(model, features, labels, classTokens, cfg, hooks, resume, marginStep(loss));
}
