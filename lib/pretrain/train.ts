/**
 * Pretraining on the synthetic captioned-face corpus, one loop for two objectives (`objective`):
 * - clip: contrastive pretraining of a small CLIP (the teaching CLIP); both towers train from a
 *   seeded random init (clip/random-init.ts, CLIP's own init rules);
 * - arcface: the same image tower, same photos, same batches, trained alone on identity labels
 *   with an additive angular margin over a class-weight matrix (arcface-step.ts: the like-for-like
 *   face-recognition baseline of issue 11). The text tower stays at its random init, untrained.
 *
 * Recipe (open_clip_train/main.py + scheduler.py, scaled down): AdamW with decoupled weight decay
 * on matrices only (gains, biases, 1-D embeddings and the logit scale are not decayed, open_clip's
 * `exclude` rule), linear warm-up then cosine to minLr, global gradient-norm clipping, a learnable
 * logit scale initialised at ln(1/0.07) and clamped at ln(100) after every step (CLIP).
 * The loss is loss.ts's multi-positive CLIP loss over the batch of batches.ts, plus what the recipe
 * weighs: the same-person photo term and the facial-hair head (both loss.ts).
 *
 * Same seed on the same machine and library builds → the same weights: batches, captions and
 * shifts are functions of (seed, step), and a resumed run restores weights, moments and step
 * exactly (checkpoint.ts). Knows nothing of the CLI: progress, stopping and messages are hooks.
 */
import { createHash } from 'node:crypto';
import type { ClipConfig } from '../clip/config.ts';
import { ClipModel, l2normalize } from '../clip/model.ts';
import { randomClipStateDict } from '../clip/random-init.ts';
import { EOT, SOT, type ClipTokenizer } from '../clip/tokenizer.ts';
import { VisionTransformer } from '../clip/vit.ts';
import { tf } from '../runtime/tf.ts';
import { AdamW } from '../train/adamw.ts';
import { learningRate } from '../train/schedule.ts';
import { UserError } from '../util/errors.ts';
import { gauss, streamRng } from '../util/rng.ts';
import { epochBatches, makeBatch, stepsPerEpoch } from './batches.ts';
import { ATTRIBUTE_PROBES, identityClauses } from './captions.ts';
import { cleanStaleCheckpoints, loadCheckpoint, saveCheckpoint, type Tensors } from './checkpoint.ts';
import type { PretrainConfig } from './config.ts';
import type { Corpus } from './corpus.ts';
import { evaluateTowers, type TowerEval } from './heldout.ts';
import { facialHairHeadLoss, multiPositiveClipLoss, photoContrastLoss } from './loss.ts';
import { arcFaceStep, classWeightVariable, identityClasses } from './arcface-step.ts';
import { marginAt } from './arcface.ts';
import { applyGradients } from './step-update.ts';

/** logitScale: exp(logit_scale) (clip) or ArcFace's s; margin: ArcFace's m at that step */
export interface StepLog { step: number; epoch: number; lr: number; loss: number; logitScale: number; margin?: number; gradNorm: number; seconds: number; pairsPerSec: number }
export interface EpochEval extends TowerEval { epoch: number; step: number }

export interface PretrainHooks {
  say?: (line: string) => void;
  shouldStop?: () => boolean;
  onStep?: (log: StepLog, total: number) => void;
}

export interface PretrainResult {
  status: 'done' | 'stopped';
  steps: number;
  total: number;
  log: StepLog[];
  evals: EpochEval[];
  /** seconds spent in steps and evaluations, summed over resumed parts */
  trainSeconds: number;
  model: ClipModel;
  logitScale: number;
}

/** Every token a caption or a zero-shot probe can use: the rows of the token table that train. */
function captionVocabulary(corpus: Corpus, tok: ClipTokenizer): Int32Array[] {
  const words = new Set<string>(['a man', 'a woman', 'a person', ',', 'wearing glasses', 'without glasses', 'wearing a hat', 'wearing a headband', 'without a hat',
    'with a neutral expression', 'smiling', 'grinning', 'with an open mouth', 'frowning', 'with closed lips', 'with eyes closed',
    'seen from the front', 'seen from above', 'seen from below', 'turned to the left', 'turned to the right', 'at an angle']);
  for (const id of corpus.manifest.identities) for (const c of identityClauses(id.traits)) words.add(c);
  for (const p of ATTRIBUTE_PROBES) for (const list of Object.values(p.prompts)) for (const s of list) words.add(s);
  return [...words].map((w) => Int32Array.from([SOT, ...tok.encode(w), EOT]));
}

export function configHash(cfg: PretrainConfig): string {
  const { output: _o, description: _d, ...rest } = cfg;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

/** open_clip's rule: no weight decay for tensors of rank < 2, LayerNorm gains/biases, biases and the logit scale. */
const decays = (name: string, v: tf.Variable) => v.rank >= 2 && !/(^|\.)ln_|bias$|logit_scale/.test(name);

/** The towers, the learnable logit scale (or ArcFace's class weights) and the optimiser state of one pretraining. */
export interface Trainer {
  objective: PretrainConfig['objective'];
  model: ClipModel;
  vis: VisionTransformer;
  /** clip: trains; arcface: unused */
  logitScale: tf.Variable;
  /** arcface: one row per training identity [classes, embed] (`arcface.weight` in checkpoints) */
  classWeight?: tf.Variable;
  /** clip with training.facialHairHead: the head's direction [embed, 1] (`facial_hair_head.weight`; trained, not shipped) */
  facialHairHead?: tf.Variable;
  vars: Map<string, tf.Variable>;
  groups: { decay: Map<string, tf.Variable>; plain: Map<string, tf.Variable> };
  opt: { decay: AdamW; plain: AdamW };
  training: PretrainConfig['training'];
}

/**
 * A seeded random-init CLIP ready to train; `vocab` = every token sequence it will see (its rows
 * train). With `arcface`, only the image tower and a class-weight matrix of `classes` rows train.
 */
export function createTrainer(clipCfg: ClipConfig, seed: number, vocab: Int32Array[], training: PretrainConfig['training'], name = 'pretrain', arcface?: { classes: number; weightStd: number }): Trainer {
  if (typeof clipCfg.vision.layers !== 'number') throw new UserError('pretraining runs ViT image towers (ModifiedResNet\'s BatchNorm is inference-only here); use a ViT config such as teaching-vit');
  const model = new ClipModel(clipCfg, randomClipStateDict(clipCfg, seed), { weights: `pretrain(${name})` });
  const vis = model.visual as VisionTransformer;
  const scope = `${name}-${++trainers}`;
  const logitScale = tf.variable(tf.scalar(Math.log(1 / 0.07)), true, `${scope}-logit_scale`);
  const vars = new Map<string, tf.Variable>();
  for (const [n, v] of vis.t) vars.set(`visual.${n}`, v);
  let classWeight: tf.Variable | undefined;
  if (arcface) {
    classWeight = classWeightVariable(arcface.classes, clipCfg.embedDim, arcface.weightStd, seed, `${scope}-arcface.weight`);
    vars.set('arcface.weight', classWeight);
  } else {
    model.text.beginTraining(vocab);
    for (const [n, v] of model.text.trainableVariables()) vars.set(`text.${n}`, v);
    vars.set('logit_scale', logitScale);
  }
  let facialHairHead: tf.Variable | undefined;
  if (!arcface && training.facialHairHead) {
    const rng = streamRng(seed, 'facial-hair-head'), d = clipCfg.embedDim;
    facialHairHead = tf.variable(tf.tensor2d(Float32Array.from({ length: d }, () => gauss(rng) / Math.sqrt(d)), [d, 1]), true, `${scope}-facial_hair_head.weight`);
    vars.set('facial_hair_head.weight', facialHairHead);
  }
  const groups = { decay: new Map<string, tf.Variable>(), plain: new Map<string, tf.Variable>() };
  for (const [n, v] of vars) (decays(n, v) ? groups.decay : groups.plain).set(n, v);
  const t = training;
  const opt = { decay: new AdamW({ beta1: t.betas[0], beta2: t.betas[1], eps: t.eps, weightDecay: t.weightDecay }), plain: new AdamW({ beta1: t.betas[0], beta2: t.betas[1], eps: t.eps, weightDecay: 0 }) };
  return { objective: arcface ? 'arcface' : 'clip', model, vis, logitScale, classWeight, facialHairHead, vars, groups, opt, training };
}
let trainers = 0;

/** What a step may add to the photos, captions and mask (batches.ts): all optional. */
export interface StepExtras {
  /** corpus identity of each photo: the photo term's positives */
  ids?: ArrayLike<number>;
  /** how many of `tokens` are the photos' captions (the rest are hard negatives); default all */
  captions?: number;
  /** the facial-hair head's targets: 1 = facial hair, and which photos are of men */
  facialHair?: { labels: Float32Array; mask: Float32Array };
}

/**
 * One step: multi-positive CLIP loss of `pixels` (NCHW, one image per row of `positives`) against
 * `tokens`, plus the photo term and the facial-hair head when the recipe weighs them; gradients of
 * both towers and the logit scale, global-norm clipping, AdamW (two groups), the clamp. Returns
 * NaN loss without updating anything when the loss or a gradient is not finite.
 */
export function trainStep(tr: Trainer, pixels: Float32Array, tokens: Int32Array[], positives: Float32Array, lr: number, extras: StepExtras = {}): { loss: number; gradNorm: number } {
  const t = tr.training, n = positives.length / tokens.length;
  const { ids, facialHair } = extras;
  const { value, grads } = tf.variableGrads(() => {
    const img = l2normalize(tr.vis.encode(pixels, n));
    const txt = l2normalize(tr.model.text.encode(tokens, { cut: true, sharedPrefix: false }));
    let loss = multiPositiveClipLoss(tf.mul(tf.matMul(img, txt, false, true), tf.exp(tr.logitScale)) as tf.Tensor2D, positives, extras.captions ?? tokens.length);
    if (t.photoPairWeight && ids) loss = tf.add(loss, tf.mul(photoContrastLoss(img, ids), t.photoPairWeight)) as tf.Scalar;
    if (t.facialHairHead && tr.facialHairHead && facialHair) loss = tf.add(loss, tf.mul(facialHairHeadLoss(img, tr.facialHairHead as tf.Tensor2D, facialHair.labels, facialHair.mask), t.facialHairHead)) as tf.Scalar;
    return loss;
  }, [...tr.vars.values()]);
  return applyGradients(tr, value, grads, lr);
}

/** Per photo: does the man have facial hair (1/0), and is it a man (the head's mask)? From the identity's traits, which the captions put in words. */
export function facialHairTargets(corpus: Corpus, ids: number[]): { labels: Float32Array; mask: Float32Array } {
  const traits = ids.map((id) => corpus.manifest.identities[id]!.traits);
  return { labels: Float32Array.from(traits, (t) => (t.facialHair ? 1 : 0)), mask: Float32Array.from(traits, (t) => (t.gender === 'man' ? 1 : 0)) };
}

export async function pretrainClip(cfg: PretrainConfig, clipCfg: ClipConfig, corpus: Corpus, tok: ClipTokenizer, outDir: string, hooks: PretrainHooks = {}, opts: { resume?: boolean } = {}): Promise<PretrainResult> {
  const t = cfg.training;
  if (clipCfg.vision.imageSize !== corpus.manifest.options.cropSize) throw new UserError(`corpus.cropSize ${corpus.manifest.options.cropSize} differs from the model's image_size ${clipCfg.vision.imageSize}; make them equal`);
  const say = hooks.say ?? (() => {});
  const arc = cfg.objective === 'arcface' ? { ...identityClasses(corpus), options: cfg.arcface! } : undefined;
  if (arc && !cfg.arcface) throw new UserError('objective arcface needs its options (resolvePretrainConfig fills them)');
  const tr = arc
    ? createTrainer(clipCfg, cfg.seed, [], t, cfg.name, { classes: arc.classes, weightStd: arc.options.weightStd })
    : createTrainer(clipCfg, cfg.seed, captionVocabulary(corpus, tok), t, cfg.name);
  const { model, logitScale, vars, groups, opt } = tr;
  const spe = stepsPerEpoch(corpus, t.batchPairs);
  if (spe < 1) throw new UserError(`corpus too small for training.batchPairs ${t.batchPairs}: fewer pairs than one batch; lower batchPairs or add identities`);
  const total = spe * t.epochs;
  const hash = configHash(cfg);
  let step = 0, trainSeconds = 0;
  let log: StepLog[] = [];
  let evals: EpochEval[] = [];
  cleanStaleCheckpoints(outDir);
  if (opts.resume) {
    const ck = loadCheckpoint(outDir);
    if (!ck) throw new UserError(`${outDir}: no checkpoint to resume from; run without --resume`);
    if (ck.state.configHash !== hash) throw new UserError(`${outDir}: its checkpoint belongs to another config (hash ${ck.state.configHash}, now ${hash}); resume with the same config or start over without --resume`);
    for (const [n, v] of vars) {
      const w = ck.weights.get(n);
      if (!w || w.data.length !== v.size) throw new UserError(`${outDir}/checkpoint: tensor ${n} missing or mis-shaped; start over without --resume`);
      tf.tidy(() => v.assign(tf.tensor(w.data, v.shape)));
    }
    model.text.untouchedScale = ck.state.untouchedScale;
    for (const g of ['decay', 'plain'] as const) {
      const pick = (kind: 'm' | 'v') => new Map([...groups[g].keys()].filter((n) => ck.moments.has(`${g}/${kind}/${n}`)).map((n) => [n, ck.moments.get(`${g}/${kind}/${n}`)!.data]));
      opt[g].load({ step: ck.state.step, m: pick('m'), v: pick('v') }, groups[g]);
    }
    step = ck.state.step;
    ({ log, evals, trainSeconds } = ck.state.extra as { log: StepLog[]; evals: EpochEval[]; trainSeconds: number });
    say(`resumed at step ${step}/${total}`);
  }

  const checkpoint = () => {
    const weights: Tensors = new Map([...vars].map(([n, v]) => [n, { shape: [...v.shape], data: v.dataSync() as Float32Array }]));
    const moments: Tensors = new Map();
    for (const g of ['decay', 'plain'] as const) {
      const s = opt[g].state();
      for (const kind of ['m', 'v'] as const) for (const [n, d] of s[kind]) moments.set(`${g}/${kind}/${n}`, { shape: [d.length], data: d });
    }
    saveCheckpoint(outDir, weights, moments, { step, configHash: hash, untouchedScale: model.text.untouchedScale, extra: { log, evals, trainSeconds } });
  };

  const pre = clipCfg.preprocess;
  let epochPlan: { epoch: number; batches: [number, number][][] } | undefined;
  while (step < total) {
    const epoch = Math.floor(step / spe);
    if (epochPlan?.epoch !== epoch) epochPlan = { epoch, batches: epochBatches(corpus, cfg.seed, epoch, t.batchPairs) };
    await new Promise((r) => setImmediate(r)); // let SIGINT/SIGTERM handlers run between steps
    const t0 = performance.now();
    const b = makeBatch(corpus, tok, epochPlan.batches[step % spe]!, step, { seed: cfg.seed, maxTokens: t.maxTokens, shiftPx: t.shiftPx, mean: pre.mean, std: pre.std, contextLength: clipCfg.text.contextLength, captions: !arc, facialHairNegatives: t.facialHairNegatives });
    const n = b.images.length;
    const lr = learningRate({ kind: 'cosine', lr: t.lr, minLr: t.minLr, warmupSteps: t.warmupSteps }, step, total);
    const margin = arc ? marginAt(arc.options.margin, arc.options.marginWarmupSteps, step) : undefined;
    const { loss, gradNorm } = arc
      ? arcFaceStep(tr, b.pixels, Int32Array.from(b.ids, (id) => arc.classOf[id]!), lr, { scale: arc.options.scale, margin: margin! })
      : trainStep(tr, b.pixels, b.tokens, b.positives, lr, { ids: b.ids, captions: b.captions.length, ...(t.facialHairHead ? { facialHair: facialHairTargets(corpus, b.ids) } : {}) });
    if (!Number.isFinite(loss)) {
      checkpoint();
      throw new UserError(`pretraining diverged at step ${step} (loss ${loss}, gradient norm ${gradNorm}); lower training.lr or raise warmupSteps, then resume or start over`);
    }
    step++;
    const seconds = (performance.now() - t0) / 1000;
    trainSeconds += seconds;
    const entry: StepLog = { step, epoch: epoch + 1, lr, loss, logitScale: arc ? arc.options.scale : Math.exp(logitScale.dataSync()[0]!), ...(arc ? { margin } : {}), gradNorm, seconds, pairsPerSec: n / seconds };
    log.push(entry);
    hooks.onStep?.(entry, total);
    const epochEnd = step % spe === 0;
    if (epochEnd) {
      const e0 = performance.now();
      const ev = evaluateTowers(model, arc ? null : tok, corpus);
      trainSeconds += (performance.now() - e0) / 1000;
      evals.push({ epoch: epoch + 1, step, ...ev });
      const zeroShot = ev.attributes.length ? `; zero-shot ${ev.attributes.map((a) => `${a.name} ${(100 * a.accuracy).toFixed(1)}%`).join(', ')}` : '';
      say(`epoch ${epoch + 1}/${t.epochs}: held-out verification AUC ${ev.heldout.auc.toFixed(4)}, near-twin TAR@FAR1e-2 ${ev.hard.tar[0]!.tar.toFixed(3)}${zeroShot}`);
    }
    const stop = hooks.shouldStop?.() ?? false;
    if (epochEnd || step % t.checkpointEvery === 0 || stop || step === total) checkpoint();
    if (stop && step < total) {
      say(`stopped at step ${step}/${total}; checkpoint written. Resume with the same command and --resume`);
      return { status: 'stopped', steps: step, total, log, evals, trainSeconds, model, logitScale: Math.exp(logitScale.dataSync()[0]!) };
    }
  }
  if (!arc) model.text.endTraining();
  return { status: 'done', steps: step, total, log, evals, trainSeconds, model, logitScale: Math.exp(logitScale.dataSync()[0]!) };
}
