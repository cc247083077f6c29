/**
 * The "(c)" set-up of Table I and the linear probe: a softmax head (one linear layer, nn.Linear's
 * init) trained on frozen, L2-normalised embeddings with cross-entropy and Adam, as the paper
 * trained its baselines ("Adam, 100 epochs, same batch size"). Plain TypeScript in float64: the
 * head is tiny (dim × classes), so this is deterministic to the bit and faster than a tfjs round
 * trip per step. Shuffles come from lib/train's seeded batch plan.
 */
import { batchPlan, type StepLog } from '../train/finetune.ts';
import { streamRng } from '../util/rng.ts';

export interface HeadOptions {
  epochs: number;
  lr: number;
  batchSize: number;
  /** L2 penalty added to the gradient (torch.optim.Adam's weight_decay, not AdamW's) */
  weightDecay: number;
  seed: number;
  betas?: [number, number];
  eps?: number;
}

export interface SoftmaxHead {
  dim: number;
  classes: number;
  /** [dim, classes] row-major */
  w: Float64Array;
  b: Float64Array;
}

/** logits = x·W + b, [n][classes]. */
export function headLogits(h: SoftmaxHead, x: Float32Array): number[][] {
  const n = x.length / h.dim;
  return Array.from({ length: n }, (_, i) => {
    const z = Array.from(h.b);
    for (let j = 0; j < h.dim; j++) {
      const v = x[i * h.dim + j]!;
      if (v === 0) continue;
      for (let c = 0; c < h.classes; c++) z[c]! += v * h.w[j * h.classes + c]!;
    }
    return z;
  });
}

/** Numerically stable softmax of each row. */
export function softmaxRows(z: readonly number[][]): number[][] {
  return z.map((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

/** Cosine of each row of x (unit rows) with each class's weight column: the head's class directions. */
export function headCosines(h: SoftmaxHead, x: Float32Array): number[][] {
  const norms = Array.from({ length: h.classes }, (_, c) => {
    let s = 0;
    for (let j = 0; j < h.dim; j++) s += h.w[j * h.classes + c]! ** 2;
    return Math.sqrt(s) || 1;
  });
  const zero: SoftmaxHead = { ...h, b: new Float64Array(h.classes) };
  return headLogits(zero, x).map((r) => r.map((v, c) => v / norms[c]!));
}

/**
 * Train on rows x [n, dim] with integer labels. nn.Linear init: W, b ~ U(−1/√dim, 1/√dim).
 * Returns the head and one log entry per step.
 */
export function trainSoftmaxHead(x: Float32Array, labels: Int32Array, classes: number, o: HeadOptions): { head: SoftmaxHead; log: StepLog[] } {
  const n = labels.length;
  const dim = x.length / n;
  const rng = streamRng(o.seed, 'softmax-head-init');
  const bound = 1 / Math.sqrt(dim);
  const w = Float64Array.from({ length: dim * classes }, () => (2 * rng() - 1) * bound);
  const b = Float64Array.from({ length: classes }, () => (2 * rng() - 1) * bound);
  const head: SoftmaxHead = { dim, classes, w, b };
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  const eps = o.eps ?? 1e-8;
  const params = [w, b];
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  const plan = batchPlan(n, { epochs: o.epochs, batchSize: o.batchSize, seed: o.seed });
  const perEpoch = Math.ceil(n / o.batchSize);
  const log: StepLog[] = [];
  plan.forEach((idx, s) => {
    const t0 = performance.now();
    const xb = new Float32Array(idx.length * dim);
    idx.forEach((r, i) => xb.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
    const p = softmaxRows(headLogits(head, xb));
    let loss = 0, correct = 0;
    const gw = new Float64Array(w.length), gb = new Float64Array(b.length);
    p.forEach((row, i) => {
      const y = labels[idx[i]!]!;
      loss -= Math.log(Math.max(row[y]!, 1e-300));
      if (row.indexOf(Math.max(...row)) === y) correct++;
      for (let c = 0; c < classes; c++) {
        const d = (row[c]! - (c === y ? 1 : 0)) / idx.length; // d(mean CE)/d logit
        gb[c]! += d;
        for (let j = 0; j < dim; j++) gw[j * classes + c]! += xb[i * dim + j]! * d;
      }
    });
    // torch.optim.Adam: g += wd·p; m, v moments; p -= lr·m̂/(√v̂ + ε)
    const step = s + 1;
    [gw, gb].forEach((g, k) => {
      const pk = params[k]!, mk = m[k]!, vk = v[k]!;
      for (let j = 0; j < g.length; j++) {
        const gj = g[j]! + o.weightDecay * pk[j]!;
        mk[j] = b1 * mk[j]! + (1 - b1) * gj;
        vk[j] = b2 * vk[j]! + (1 - b2) * gj * gj;
        const mh = mk[j]! / (1 - b1 ** step), vh = vk[j]! / (1 - b2 ** step);
        pk[j]! -= (o.lr * mh) / (Math.sqrt(vh) + eps);
      }
    });
    log.push({ step, epoch: Math.floor(s / perEpoch) + 1, lr: o.lr, loss: loss / idx.length, batchAccuracy: correct / idx.length, ms: performance.now() - t0 });
  });
  return { head, log };
}
