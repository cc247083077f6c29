/**
 * The paper's "single-shot" finetuning loop: the frozen image tower's features are given (computed
 * once), only the text tower trains, on CE over every enrolled person's prompt, AdamW + cosine
 * schedule, deterministic shuffles. Generic over files: checkpoints and logs leave through
 * callbacks (minGPT's trainer habit), so the experiment runner decides where they go.
 */
import { tf } from '../runtime/tf.ts';
import type { ClipModel } from '../clip/model.ts';
import { AdamW, type AdamWState } from './adamw.ts';
import { learningRate, type ScheduleConfig } from './schedule.ts';
import { textTrainStep } from './text-step.ts';
import { shuffled, streamRng } from '../util/rng.ts';

export interface FinetuneConfig {
  epochs: number;
  batchSize: number;
  schedule: ScheduleConfig;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  seed: number;
}

export interface StepLog {
  step: number;
  epoch: number;
  lr: number;
  loss: number;
  /** accuracy of the batch's argmax before the update */
  batchAccuracy: number;
  ms: number;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainState {
  /** steps completed */
  step: number;
  totalSteps: number;
  optimizer: AdamWState;
  /** text tower in PyTorch names/layout */
  text: Map<string, { shape: number[]; data: Float32Array }>;
  log: StepLog[];
}

/**
 * One optimiser step on a batch: the paper's CE (textTrainStep) by default; other objectives
 * (lib/methods/clip-losses.ts) plug in here and share the loop, schedule and checkpoints.
 */
export type TrainStep = (model: ClipModel, opt: AdamW, feats: tf.Tensor2D, classTokens: Int32Array[], labels: Int32Array, lr: number) => { loss: number; logits: number[][] };

export interface FinetuneHooks {
  onStep?(log: StepLog, totalSteps: number): void;
  /** called every `checkpointEvery` steps and at the end, with a consistent state */
  onCheckpoint?(state: TrainState): void | Promise<void>;
  checkpointEvery?: number;
  /** polled between steps (Ctrl-C): true stops after saving a checkpoint */
  shouldStop?(): boolean;
}

export interface FinetuneResult {
  log: StepLog[];
  /** why training ended early: 'interrupted' or a NaN/Inf message */
  stopped?: string;
}

/** The order of training examples for every step of every epoch (seeded, replayable). */
export function batchPlan(n: number, cfg: Pick<FinetuneConfig, 'epochs' | 'batchSize' | 'seed'>): number[][] {
  const plan: number[][] = [];
  const all = Array.from({ length: n }, (_, i) => i);
  for (let e = 0; e < cfg.epochs; e++) {
    const order = shuffled(streamRng(cfg.seed, 'shuffle', e), all);
    for (let i = 0; i < n; i += cfg.batchSize) plan.push(order.slice(i, i + cfg.batchSize));
  }
  return plan;
}

/**
 * Finetune `model.text` on L2-normalised image features [n, dim] (row-major), integer labels and
 * one prompt per class. `resume` continues a saved TrainState.
 */
export async function finetuneTextTower(
  model: ClipModel,
  features: Float32Array,
  labels: Int32Array,
  classTokens: Int32Array[],
  cfg: FinetuneConfig,
  hooks: FinetuneHooks = {},
  resume?: TrainState,
  step: TrainStep = textTrainStep,
): Promise<FinetuneResult> {
  const n = labels.length;
  const dim = features.length / n;
  const plan = batchPlan(n, cfg);
  const opt = new AdamW({ beta1: cfg.betas[0], beta2: cfg.betas[1], eps: cfg.eps, weightDecay: cfg.weightDecay });
  const log: StepLog[] = resume ? [...resume.log] : [];
  let start = 0;
  if (resume) {
    if (resume.totalSteps !== plan.length) throw new Error(`resume: the checkpoint has ${resume.totalSteps} planned steps, this config ${plan.length}`);
    model.text.loadStateDict(resume.text);
    start = resume.step;
  }
  model.text.beginTraining(classTokens);
  if (resume) opt.load(resume.optimizer, model.text.trainableVariables());
  // the untouched-row decay of the steps already taken lives in the saved token table

  const snapshot = (step: number): TrainState => {
    model.text.endTraining();
    const state = { step, totalSteps: plan.length, optimizer: opt.state(), text: model.text.stateDict(), log: [...log] };
    model.text.beginTraining(classTokens);
    // re-entering training rebuilt the token sub-table variable: move the moments onto it
    opt.load(state.optimizer, model.text.trainableVariables());
    return state;
  };

  let stopped: string | undefined;
  for (let s = start; s < plan.length; s++) {
    // a step is one long synchronous computation: without a turn of the event loop between steps,
    // a SIGINT/SIGTERM handler (which sets what shouldStop reads) would only run after training
    await new Promise((r) => setImmediate(r));
    if (hooks.shouldStop?.()) { stopped = 'interrupted'; break; }
    const idx = plan[s]!;
    const t0 = performance.now();
    const batch = new Float32Array(idx.length * dim);
    idx.forEach((j, i) => batch.set(features.subarray(j * dim, (j + 1) * dim), i * dim));
    const y = Int32Array.from(idx, (j) => labels[j]!);
    const lr = learningRate(cfg.schedule, s, plan.length);
    const feats = tf.tensor2d(batch, [idx.length, dim]);
    const r = step(model, opt, feats, classTokens, y, lr);
    feats.dispose();
    if (!Number.isFinite(r.loss)) {
      stopped = `loss became ${r.loss} at step ${s + 1}; the parameters were not updated (lower training.lr)`;
      break;
    }
    const correct = r.logits.filter((row, i) => row.indexOf(Math.max(...row)) === y[i]).length;
    const entry: StepLog = { step: s + 1, epoch: epochOf(s, n, cfg.batchSize), lr, loss: r.loss, batchAccuracy: correct / idx.length, ms: performance.now() - t0 };
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
}

/** 1-based epoch of 0-based step s (batches never straddle epochs). */
function epochOf(s: number, n: number, batchSize: number): number {
  return Math.floor(s / Math.ceil(n / batchSize)) + 1;
}
