/**
 * The paper's objective for the text tower (frozen image tower): logits = exp(logit_scale) ×
 * cos(image, prompt of every enrolled person), cross-entropy against the true person, mean over
 * the mini-batch; then one AdamW step. Knows nothing of files or datasets: features, tokens and
 * labels in, loss and gradient norms out.
 *
 * Exact savings (PERF-NOTES Q2/Q3): the prompts' shared prefix is encoded once (text-layout.ts),
 * and when the rows of one backward pass would exceed `maxRowsPerPass` (the wasm32 heap holds
 * ~800–1100 rows of a CLIP-size backward), the step becomes a "gradient cache": encode every
 * prompt without a tape, take g = dLoss/dFeatures, then re-encode chunk by chunk with a tape and
 * accumulate the gradients of Σ features·g — the same gradient, for one extra forward pass.
 */
import { tf } from '../runtime/tf.ts';
import type { ClipModel } from '../clip/model.ts';
import { l2normalize } from '../clip/model.ts';
import type { T2 } from '../clip/nn.ts';
import { chunkByRows, planTextLayout, type LayoutOptions } from '../clip/text-layout.ts';
import type { AdamW } from './adamw.ts';

/** Mean softmax cross-entropy of `logits` [B, C] against integer `labels`. */
export function crossEntropy(logits: T2, labels: Int32Array): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), onehot), 1))) as tf.Scalar;
  });
}

/** exp(logit_scale) · img @ normalise(text)ᵀ, with `img` already normalised. */
function scaledLogits(model: ClipModel, imageFeaturesNormed: T2, text: T2): T2 {
  return tf.mul(tf.matMul(imageFeaturesNormed, l2normalize(text), false, true), Math.exp(model.logitScale)) as T2;
}

/** CLIP logits of (already L2-normalised) image features against every class prompt. */
export function classLogits(model: ClipModel, imageFeaturesNormed: T2, classTokens: Int32Array[], layout: LayoutOptions = {}): T2 {
  return tf.tidy(() => scaledLogits(model, imageFeaturesNormed, model.encodeText(classTokens, layout)));
}

export interface TextStepOptions {
  /** encode the prompts' common prefix once (exact; default true) */
  sharedPrefix?: boolean;
  /** drop rows after each EOT (exact; default true; false = the 77-token computation, for benchmarks) */
  cut?: boolean;
  /**
   * most layout rows in one backward pass; above it the exact gradient-cache step runs.
   * Default 768 (PERF-NOTES Q2: ~3–4.5 MB of wasm heap per row at CLIP size). Infinity: never chunk.
   */
  maxRowsPerPass?: number;
  /**
   * APPROXIMATION, off by default (PERF-NOTES "beyond-memory scale"): the step's softmax runs over
   * the batch's own classes plus this many other classes drawn uniformly without replacement, and
   * only those prompts are encoded, so a step costs (batch classes + negatives) prompts instead of
   * every class. A sampled softmax without logQ correction: its gradient is biased, classes not
   * drawn get no push away from this batch. Accuracy cost measured by `clipface bench --only negatives`.
   */
  sampledNegatives?: number;
  /** random source for sampledNegatives (e.g. streamRng(seed, 'negatives', step)) */
  rng?: () => number;
}

export interface StepResult {
  loss: number;
  /** L2 norm of each trainable tensor's gradient (token table: its trained rows, the rest are 0) */
  gradNorms: Map<string, number>;
  /** the batch's logits before the update (for accuracy logging) */
  logits: number[][];
}

export interface TextGradients {
  loss: number;
  logits: number[][];
  /** gradient per trainable tensor name (caller disposes) */
  grads: Map<string, tf.Tensor>;
  /** backward passes taken (1 unless the gradient cache ran) */
  passes: number;
  /** with sampledNegatives: the classes this step used (logits of the others are -Infinity) */
  sampledClasses?: number[];
}

/** The batch's classes plus `k` others drawn without replacement (sorted). */
export function sampleClasses(numClasses: number, labels: Int32Array, k: number, rng: () => number): number[] {
  const pos = new Set(labels);
  const others = Array.from({ length: numClasses }, (_, i) => i).filter((i) => !pos.has(i));
  const n = Math.min(k, others.length);
  for (let i = 0; i < n; i++) { // partial Fisher–Yates
    const j = i + Math.floor(rng() * (others.length - i));
    [others[i], others[j]] = [others[j]!, others[i]!];
  }
  return [...pos, ...others.slice(0, n)].sort((a, b) => a - b);
}

/** Loss, logits and gradients of the step's objective, without updating anything. */
export function textGradients(
  model: ClipModel, imageFeaturesNormed: T2, classTokens: Int32Array[], labels: Int32Array, opts: TextStepOptions = {},
): TextGradients {
  if (opts.sampledNegatives !== undefined) {
    if (!opts.rng) throw new Error('textGradients: sampledNegatives needs opts.rng');
    const subset = sampleClasses(classTokens.length, labels, opts.sampledNegatives, opts.rng);
    const local = new Map(subset.map((c, i) => [c, i]));
    const r = textGradients(model, imageFeaturesNormed, subset.map((c) => classTokens[c]!), labels.map((l) => local.get(l)!), { ...opts, sampledNegatives: undefined });
    const logits = r.logits.map((row) => {
      const full = new Array<number>(classTokens.length).fill(-Infinity);
      subset.forEach((c, i) => { full[c] = row[i]!; });
      return full;
    });
    return { ...r, logits, sampledClasses: subset };
  }
  const vars = model.text.trainableVariables();
  const varList = [...vars.values()];
  const layout: LayoutOptions = { sharedPrefix: opts.sharedPrefix ?? true, cut: opts.cut ?? true };
  const ctx = model.cfg.text.contextLength;
  const maxRows = opts.maxRowsPerPass ?? 768;
  const byName = (grads: tf.NamedTensorMap) => {
    const out = new Map<string, tf.Tensor>();
    for (const [name, v] of vars) if (grads[v.name]) out.set(name, grads[v.name]!);
    return out;
  };
  if (planTextLayout(classTokens, ctx, layout).rows <= maxRows) {
    let logits: number[][] = [];
    const { value, grads } = tf.variableGrads(() => {
      const l = classLogits(model, imageFeaturesNormed, classTokens, layout);
      logits = l.arraySync();
      return crossEntropy(l, labels);
    }, varList);
    const loss = value.dataSync()[0]!;
    value.dispose();
    return { loss, logits, grads: byName(grads), passes: 1 };
  }
  // gradient cache (PERF-NOTES Q3): 1. features of every prompt, no tape (a block's
  // activations die with it, so this pass takes bigger chunks)
  const chunks = chunkByRows(classTokens, maxRows, ctx, layout);
  const pick = (c: number[]) => c.map((i) => classTokens[i]!);
  const text = tf.tidy(() => tf.concat(chunkByRows(classTokens, 4 * maxRows, ctx, layout).map((c) => model.text.encode(pick(c), layout)), 0));
  // 2. loss and g = dLoss/dFeatures (cheap: [C, D])
  let logits: number[][] = [];
  const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => {
    const l = scaledLogits(model, imageFeaturesNormed, t as T2);
    logits = l.arraySync();
    return crossEntropy(l, labels);
  })(text);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, text]);
  // 3. per chunk: gradients of Σ features·g, accumulated
  const acc = new Map<string, tf.Tensor>();
  let first = 0;
  for (const c of chunks) {
    const g = tf.slice(grad, [first, 0], [c.length, -1]);
    first += c.length;
    const { value: s, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.text.encode(pick(c), layout), g)), varList);
    tf.dispose([s, g]);
    for (const [name, t] of byName(grads)) {
      const prev = acc.get(name);
      acc.set(name, prev ? tf.add(prev, t) : t);
      if (prev) tf.dispose([prev, t]);
    }
  }
  grad.dispose();
  return { loss, logits, grads: acc, passes: chunks.length };
}

/**
 * One finetuning step. `model.text.beginTraining(classTokens)` must have been called (it decides
 * which token rows are trainable).
 */
export function textTrainStep(
  model: ClipModel,
  opt: AdamW,
  imageFeaturesNormed: T2,
  classTokens: Int32Array[],
  labels: Int32Array,
  lr: number,
  opts: TextStepOptions = {},
): StepResult {
  const { loss, logits, grads } = textGradients(model, imageFeaturesNormed, classTokens, labels, opts);
  const gradNorms = new Map<string, number>();
  for (const [name, g] of grads) gradNorms.set(name, tf.tidy(() => tf.norm(g).dataSync()[0]!));
  if (Number.isFinite(loss)) {
    opt.apply(model.text.trainableVariables(), grads, lr);
    model.text.decayUntouchedRows(1 - lr * opt.weightDecay);
  }
  tf.dispose([...grads.values()]);
  return { loss, gradNorms, logits };
}
