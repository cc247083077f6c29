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
 * The loop mirrors lib/train/finetune.ts (same batch plan, AdamW, schedule, checkpoints, resume) with
 * this objective in place of CE; it takes one backward pass per step (no gradient cache), so it is
 * meant for paper-scale class counts.
 */
import { tf } from '../runtime/tf.ts';
import { l2normalize, type ClipModel } from '../clip/model.ts';
import type { T2 } from '../clip/nn.ts';
import { AdamW } from '../train/adamw.ts';
import { batchPlan, type FinetuneConfig, type FinetuneHooks, type FinetuneResult, type StepLog, type TrainState } from '../train/finetune.ts';
import { learningRate } from '../train/schedule.ts';
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

/** finetuneTextTower (lib/train/finetune.ts) with `loss` as the objective; same signature and state. */
export function finetuneWithLoss(loss: LossOptions) {
  return async function finetune(
    model: ClipModel, features: Float32Array, labels: Int32Array, classTokens: Int32Array[],
    cfg: FinetuneConfig, hooks: FinetuneHooks = {}, resume?: TrainState,
  ): Promise<FinetuneResult> {
    const n = labels.length;
    const dim = features.length / n;
    const plan = batchPlan(n, cfg);
    const opt = new AdamW({ beta1: cfg.betas[0], beta2: cfg.betas[1], eps: cfg.eps, weightDecay: cfg.weightDecay });
    const log: StepLog[] = resume ? [...resume.log] : [];
    const clipScale = Math.exp(model.logitScale);
    let start = 0;
    if (resume) {
      if (resume.totalSteps !== plan.length) throw new Error(`resume: the checkpoint has ${resume.totalSteps} planned steps, this config ${plan.length}`);
      model.text.loadStateDict(resume.text);
      start = resume.step;
    }
    model.text.beginTraining(classTokens);
    if (resume) opt.load(resume.optimizer, model.text.trainableVariables());
    const snapshot = (step: number): TrainState => {
      model.text.endTraining();
      const state = { step, totalSteps: plan.length, optimizer: opt.state(), text: model.text.stateDict(), log: [...log] };
      model.text.beginTraining(classTokens);
      opt.load(state.optimizer, model.text.trainableVariables());
      return state;
    };
    let stopped: string | undefined;
    const perEpoch = Math.ceil(n / cfg.batchSize);
    for (let s = start; s < plan.length; s++) {
      if (hooks.shouldStop?.()) { stopped = 'interrupted'; break; }
      const idx = plan[s]!;
      const t0 = performance.now();
      const batch = new Float32Array(idx.length * dim);
      idx.forEach((j, i) => batch.set(features.subarray(j * dim, (j + 1) * dim), i * dim));
      const y = Int32Array.from(idx, (j) => labels[j]!);
      const lr = learningRate(cfg.schedule, s, plan.length);
      const vars = model.text.trainableVariables();
      const feats = tf.tensor2d(batch, [idx.length, dim]);
      let cosRows: number[][] = [];
      const { value, grads } = tf.variableGrads(() => {
        const cos = tf.matMul(feats, l2normalize(model.encodeText(classTokens)), false, true) as T2;
        cosRows = cos.arraySync();
        return marginLoss(loss, cos, y, clipScale);
      }, [...vars.values()]);
      const l = value.dataSync()[0]!;
      const named = new Map<string, tf.Tensor>();
      for (const [name, v] of vars) if (grads[v.name]) named.set(name, grads[v.name]!);
      if (Number.isFinite(l)) {
        opt.apply(vars, named, lr);
        model.text.decayUntouchedRows(1 - lr * opt.weightDecay);
      }
      tf.dispose([value, feats, ...Object.values(grads)]);
      if (!Number.isFinite(l)) { stopped = `loss became ${l} at step ${s + 1}; the parameters were not updated (lower training.lr)`; break; }
      const correct = cosRows.filter((r, i) => r.indexOf(Math.max(...r)) === y[i]).length;
      const entry: StepLog = { step: s + 1, epoch: Math.floor(s / perEpoch) + 1, lr, loss: l, batchAccuracy: correct / idx.length, ms: performance.now() - t0 };
      log.push(entry);
      hooks.onStep?.(entry, plan.length);
      const every = hooks.checkpointEvery ?? 0;
      if (every > 0 && (s + 1) % every === 0 && s + 1 < plan.length) await hooks.onCheckpoint?.(snapshot(s + 1));
    }
    const done = log.length ? log[log.length - 1]!.step : start;
    await hooks.onCheckpoint?.(snapshot(done));
    model.text.endTraining();
    opt.dispose();
    return { log, stopped };
  };
}
