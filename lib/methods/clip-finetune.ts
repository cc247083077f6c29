/**
 * The paper's arm: CLIP with the image tower frozen (features computed once, cached) and the text
 * tower finetuned on CE over one prompt per enrolled person ("single shot": epochs = 1).
 * `training.epochs = 0` gives zero-shot CLIP with the same prompts.
 */
import { basename, join } from 'node:path';
import { tf } from '../runtime/tf.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { l2normalize } from '../clip/model.ts';
import { finetuneTextTower } from '../train/finetune.ts';
import { UserError } from '../util/errors.ts';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../experiment/checkpoint.ts';
import { cachedImageEmbeddings, normalizeRows, scoreImages } from '../experiment/embeddings.ts';
import { loadExperimentModel, RANDOM_STAMP } from '../experiment/model-source.ts';
import { progress, type Progress } from '../experiment/progress.ts';
import { cacheRoot } from '../experiment/stages.ts';
import { writeTrainLog } from '../experiment/outputs.ts';
import { argmax } from '../eval/closed-set.ts';
import { Interrupted, type Method } from './types.ts';
import { finetuneWithLoss } from './clip-losses.ts';
import { classPrompts, lossOptions } from './options.ts';

export const clipFinetune: Method = {
  name: 'clip-text-finetune',
  async run(ctx) {
    const { cfg } = ctx;
    const loaded = await loadExperimentModel(cfg, ctx.baseDir);
    const { model } = loaded;
    if (loaded.random) ctx.say(`MODEL: ${loaded.description}${loaded.fallbackReason ? ` (${loaded.fallbackReason})` : ''}`);
    try {
      const crops = await ctx.crops(model.cfg.vision.imageSize);
      const scored = ctx.images.filter((i) => crops.file.has(i.entry.path));
      const classIndex = new Map(ctx.classes.map((c, i) => [c.id, i]));
      const prompts = classPrompts(cfg, ctx.classes); // prompt.names: real names or the neutral control
      const tokens = ClipTokenizer.load().tokenize(prompts, model.cfg.text.contextLength).tokens;

      const dim = model.cfg.embedDim;
      const bar = progress('embed images', scored.length);
      const raw = await cachedImageEmbeddings(model, loaded.weightsId, scored.map((i) => crops.file.get(i.entry.path)!), cacheRoot(cfg), (d) => bar.update(d));
      bar.stop();
      const feats = normalizeRows(raw, dim);
      const trainRows = scored.map((u, i) => (u.kind === 'train' ? i : -1)).filter((i) => i >= 0);
      if (!trainRows.length) throw new UserError('no usable training images after preprocessing');
      const trainFeats = new Float32Array(trainRows.length * dim);
      trainRows.forEach((r, j) => trainFeats.set(feats.subarray(r * dim, (r + 1) * dim), j * dim));
      const labels = Int32Array.from(trainRows, (r) => classIndex.get(scored[r]!.entry.identity)!);
      const textFeatures = () => tf.tidy(() => l2normalize(model.encodeText(tokens)).dataSync() as Float32Array);
      const zeroShot = scoreImages(feats, textFeatures(), dim, model.logitScale);

      const ckptDir = join(ctx.dir, 'checkpoint');
      const resume = ctx.resumed && hasCheckpoint(ckptDir) ? loadCheckpoint(ckptDir) : undefined;
      let tbar: Progress | undefined;
      let steps = resume?.step ?? 0;
      const meta = { model: loaded.description, run: basename(ctx.dir) };
      const t = cfg.training;
      const loss = lossOptions(cfg); // training.loss: the paper's CE, or its future-work margin losses (clip-losses.ts)
      const train = loss.kind === 'ce' ? finetuneTextTower : finetuneWithLoss(loss);
      const result = t.epochs === 0 ? { log: [], stopped: undefined } : await train(model, trainFeats, labels, tokens, {
        epochs: t.epochs, batchSize: t.batchSize, weightDecay: t.weightDecay, betas: t.betas, eps: t.eps, seed: t.seed ?? cfg.seed,
        schedule: { kind: t.schedule, lr: t.lr, minLr: t.minLr, warmupSteps: t.warmupSteps },
      }, {
        checkpointEvery: t.checkpointEvery,
        shouldStop: () => ctx.shouldStop(steps),
        onStep: (l, total) => {
          steps = l.step;
          tbar ??= progress('finetune', total);
          tbar.update(l.step, `loss ${l.loss.toFixed(4)}`);
        },
        onCheckpoint: (state) => {
          saveCheckpoint(ckptDir, state, meta);
          writeTrainLog(ctx.dir, state.log);
        },
      }, resume);
      tbar?.stop();
      if (result.stopped === 'interrupted') throw new Interrupted();
      if (result.stopped) throw new UserError(`training stopped: ${result.stopped}; the last good checkpoint is in ${ckptDir}`);

      const after = scoreImages(feats, textFeatures(), dim, model.logitScale);
      const zsTest = scored.map((s, i) => (s.kind === 'test' ? i : -1)).filter((i) => i >= 0);
      const zsAcc = zsTest.filter((i) => argmax(zeroShot.probs[i]!) === classIndex.get(scored[i]!.entry.identity)).length / (zsTest.length || 1);
      return {
        scored, probs: after.probs, cosines: after.cosines, log: result.log, features: { dim, data: feats }, prompts,
        description: loaded.description, ...(loaded.random ? { stamp: RANDOM_STAMP } : {}),
        extra: {
          zeroShotTestAccuracy: Number(zsAcc.toFixed(6)), prompt: cfg.prompt.template,
          ...(cfg.prompt.names || cfg.training.loss ? { names: cfg.prompt.names ?? 'real', loss } : {}),
        },
      };
    } finally {
      model.dispose();
    }
  },
};
