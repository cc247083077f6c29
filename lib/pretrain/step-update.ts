/**
 * The update half of a pretraining step, shared by both objectives: global gradient-norm clipping
 * (open_clip_train's `clip_grad_norm_`), AdamW on the two groups (decayed matrices, plain rest),
 * the text tower's owed row decay and the logit-scale clamp when the text tower trains. A loss or a
 * gradient that is not finite updates nothing and reports NaN.
 */
import { tf } from '../runtime/tf.ts';
import type { Trainer } from './train.ts';

export function applyGradients(tr: Trainer, value: tf.Scalar, grads: tf.NamedTensorMap, lr: number): { loss: number; gradNorm: number } {
  const t = tr.training;
  const loss = value.dataSync()[0]!;
  const byVar = new Map<string, tf.Tensor>();
  for (const [nm, v] of tr.vars) if (grads[v.name]) byVar.set(nm, grads[v.name]!);
  const gradNorm = Math.sqrt(tf.tidy(() => tf.addN([...byVar.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
    tf.dispose([value, ...Object.values(grads)]);
    return { loss: NaN, gradNorm };
  }
  const scale = Math.min(1, t.gradClip / (gradNorm + 1e-6));
  const clipped = new Map<string, tf.Tensor>();
  for (const [nm, g] of byVar) clipped.set(nm, scale < 1 ? tf.mul(g, scale) : g);
  for (const g of ['decay', 'plain'] as const) tr.opt[g].apply(tr.groups[g], clipped, lr);
  if (tr.objective === 'clip') {
    tr.model.text.decayUntouchedRows(1 - lr * t.weightDecay);
    const maxLs = Math.log(t.logitScaleMax);
    if (tr.logitScale.dataSync()[0]! > maxLs) tf.tidy(() => tr.logitScale.assign(tf.scalar(maxLs)));
  }
  tf.dispose([value, ...Object.values(grads), ...(scale < 1 ? clipped.values() : [])]);
  return { loss, gradNorm };
}
