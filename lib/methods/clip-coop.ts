/**
 * `clip-coop`: learned prompt context (CoOp, Zhou et al., arXiv 2109.01134; KaiyangZhou/CoOp
 * trainers/coop.py): the prompt of class c is [SOT][V1]…[VM][name_c][.][EOT]; the M context vectors
 * V are shared by all classes and are the only thing trained; the whole text tower, class-name
 * tokens included, stays frozen; loss = CE over CLIP's scaled cosines.
 *
 * How the V live in our text tower without editing it (lib/clip/text.ts is being optimised
 * elsewhere): each Vi is the token-table row of a reserved token id, one that no class prompt uses,
 * taken from the top of the BPE vocabulary (below SOT/EOT, so the EOT is still the argmax). While
 * training, TextTower keeps the rows a batch of prompts uses in a trainable sub-table
 * (beginTraining/trainableVariables); we overwrite the reserved rows with the initial context
 * (N(0, 0.02²) as CoOp, or the embeddings of init words such as "a photo of a"), take gradients with
 * respect to that sub-table only, zero every row but the context's, and after each AdamW step
 * restore the frozen rows (undoing the decoupled decay). endTraining() writes the learned rows
 * back, so encodeText() of the same token ids then reads the learned context. The model object is
 * this run's own and is disposed at the end. Steps are not checkpointed: an interrupted CoOp run
 * starts over when resumed.
 */
import { tf } from '../runtime/tf.ts';
import type { ClipModel } from '../clip/model.ts';
import { ClipTokenizer, EOT, SOT } from '../clip/tokenizer.ts';
import { AdamW } from '../train/adamw.ts';
import { batchPlan, type FinetuneConfig, type StepLog } from '../train/finetune.ts';
import { learningRate } from '../train/schedule.ts';
import { classLogits, crossEntropy } from '../train/text-step.ts';
import { gauss, streamRng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import { softmaxRows } from '../baselines/softmax-head.ts';
import { progress } from '../runtime/progress.ts';
import { dotMatrix } from '../util/rows.ts';
import { clipResult, clipSetup, textFeatures } from './clip-common.ts';
import { classNames, methodOptions } from './options.ts';
import { Interrupted, type Method } from './types.ts';

/** CoOp prompts with `m` reserved context ids: [SOT, ctx…, name tokens, '.', EOT, 0…]. */
export function coopTokens(names: string[], m: number, vocabSize: number, contextLength: number): { tokens: Int32Array[]; ctxIds: number[] } {
  const tok = ClipTokenizer.load();
  const parts = names.map((n) => tok.encode(`${n}.`));
  const used = new Set(parts.flat());
  const ctxIds: number[] = [];
  for (let id = Math.min(SOT, vocabSize) - 1; id > 0 && ctxIds.length < m; id--) if (!used.has(id)) ctxIds.push(id);
  if (ctxIds.length < m) throw new UserError(`clip-coop: no ${m} free token ids to hold the context`);
  const tokens = parts.map((p, i) => {
    const ids = [SOT, ...ctxIds, ...p, EOT];
    if (ids.length > contextLength) throw new UserError(`clip-coop: the prompt of "${names[i]}" with ${m} context tokens exceeds ${contextLength} tokens`);
    const row = new Int32Array(contextLength);
    row.set(ids);
    return row;
  });
  return { tokens, ctxIds };
}

export const clipCoop: Method = {
  name: 'clip-coop',
  async run(ctx) {
    const { cfg } = ctx;
    const s = await clipSetup(ctx);
    const model = s.loaded.model;
    try {
      const o = methodOptions(cfg).coop;
      const t = cfg.training;
      const seed = t.seed ?? cfg.seed;
      const initIds = o.init === 'random' ? null : ClipTokenizer.load().encode(o.init);
      const m = initIds ? initIds.length : o.contextTokens;
      const W = model.cfg.text.width;
      const { tokens, ctxIds } = coopTokens(classNames(cfg, ctx.classes, ctx.ds), m, model.cfg.text.vocabSize, model.cfg.text.contextLength);
      let initRows: Float32Array;
      if (initIds) {
        const table = model.text.stateDict().get('token_embedding.weight')!.data;
        initRows = new Float32Array(m * W);
        initIds.forEach((id, i) => initRows.set(table.subarray(id * W, (id + 1) * W), i * W));
      } else {
        const rng = streamRng(seed, 'coop-context');
        initRows = Float32Array.from({ length: m * W }, () => 0.02 * gauss(rng));
      }

      const log = trainCoopContext(model, s.trainFeats, s.labels, tokens, ctxIds, initRows, {
        epochs: t.epochs, batchSize: t.batchSize, seed, betas: t.betas, eps: t.eps, weightDecay: o.weightDecay,
        schedule: { kind: t.schedule, lr: o.lr, minLr: t.minLr, warmupSteps: t.warmupSteps },
      }, (step) => ctx.shouldStop(step));

      const text = textFeatures(s, tokens);
      const cos = dotMatrix(s.feats, text, s.dim);
      const scale = Math.exp(model.logitScale);
      return clipResult(s, {
        probs: softmaxRows(cos.map((r) => r.map((c) => c * scale))), cosines: cos, log,
        prompts: classNames(cfg, ctx.classes, ctx.ds).map((n) => `[V1…V${m}] ${n}.`),
        description: `${s.loaded.description}, CoOp: ${m} learned context vectors (init ${o.init}), text tower frozen`,
        extra: {
          label: `CLIP CoOp (${m} ctx)`, options: { coop: { ...o, contextTokens: m } }, contextTokenIds: ctxIds,
          prompt: `[SOT] V1…V${m} {name}. [EOT]; prompt.template is not used`, names: cfg.prompt.names ?? 'real',
        },
      });
    } finally {
      model.dispose();
    }
  },
};

export interface CoopTrainConfig extends Omit<FinetuneConfig, 'weightDecay'> { weightDecay: number }

/**
 * Train the context rows `ctxIds` (initial values `initRows`, [M, width]) of `model`'s token table
 * on CE over the prompts `tokens`; nothing else in the model changes (see the file header).
 */
export function trainCoopContext(
  model: ClipModel, trainFeats: Float32Array, labels: Int32Array, tokens: Int32Array[], ctxIds: number[], initRows: Float32Array,
  c: CoopTrainConfig, shouldStop: (step: number) => boolean = () => false,
): StepLog[] {
  const W = model.cfg.text.width;
  const dim = trainFeats.length / labels.length;
  model.text.beginTraining(tokens);
  const log: StepLog[] = [];
  const opt = new AdamW({ beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, weightDecay: c.weightDecay });
  let mask: tf.Tensor | undefined, frozen: tf.Tensor | undefined;
  try {
    const table = model.text.trainableVariables().get('token_embedding.weight')!;
    const rowOf = new Map([...model.text.trainingRowIds()!].map((id, r) => [id, r]));
    const start = Float32Array.from(table.dataSync() as Float32Array);
    const isCtx = new Float32Array(table.shape[0]!);
    ctxIds.forEach((id, i) => { const r = rowOf.get(id)!; start.set(initRows.subarray(i * W, (i + 1) * W), r * W); isCtx[r] = 1; });
    frozen = tf.tensor2d(start, table.shape as [number, number]);
    table.assign(frozen as tf.Tensor2D);
    mask = tf.tensor2d(isCtx, [isCtx.length, 1]);
    const plan = batchPlan(labels.length, c);
    const bar = progress('CoOp context', plan.length);
    const perEpoch = Math.ceil(labels.length / c.batchSize);
    for (let step = 0; step < plan.length; step++) {
      if (shouldStop(step)) throw new Interrupted();
      const t0 = performance.now();
      const idx = plan[step]!;
      const y = Int32Array.from(idx, (j) => labels[j]!);
      const batch = new Float32Array(idx.length * dim);
      idx.forEach((j, i) => batch.set(trainFeats.subarray(j * dim, (j + 1) * dim), i * dim));
      const feats = tf.tensor2d(batch, [idx.length, dim]);
      let logits: number[][] = [];
      const { value, grads } = tf.variableGrads(() => {
        const l = classLogits(model, feats, tokens);
        logits = l.arraySync();
        return crossEntropy(l, y);
      }, [table]);
      const loss = value.dataSync()[0]!;
      const g = tf.mul(grads[table.name]!, mask);
      tf.dispose([value, feats, ...Object.values(grads)]);
      if (!Number.isFinite(loss)) { g.dispose(); throw new UserError(`clip-coop: loss became ${loss} at step ${step + 1} (lower method.coop.lr)`); }
      const lr = learningRate(c.schedule, step, plan.length);
      opt.apply(new Map([['context', table]]), new Map([['context', g]]), lr);
      g.dispose();
      // only the context rows may move: put every other row back (AdamW decayed them)
      table.assign(tf.tidy(() => tf.add(tf.mul(table, mask!), tf.mul(frozen!, tf.sub(1, mask!)))) as tf.Tensor2D);
      const correct = logits.filter((r, i) => r.indexOf(Math.max(...r)) === y[i]).length;
      log.push({ step: step + 1, epoch: Math.floor(step / perEpoch) + 1, lr, loss, batchAccuracy: correct / idx.length, ms: performance.now() - t0 });
      bar.update(step + 1, `loss ${loss.toFixed(4)}`);
    }
    bar.stop();
  } finally {
    model.text.endTraining(); // writes the learned context rows back into the full table
    opt.dispose();
    tf.dispose([mask, frozen].filter((x): x is tf.Tensor => !!x));
  }
  return log;
}
