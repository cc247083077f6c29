/**
 * The paper's arm: CLIP with the image tower frozen (features computed once, cached) and the text
 * tower finetuned on CE over one prompt per enrolled person ("single shot": epochs = 1).
 * `training.epochs = 0` gives zero-shot CLIP with the same prompts.
 */
import { basename, join } from 'node:path';
import { finetuneTextTower } from '../train/finetune.ts';
import { UserError } from '../util/errors.ts';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../experiment/checkpoint.ts';
import { scoreImages } from '../experiment/embeddings.ts';
import { RANDOM_STAMP } from '../experiment/model-source.ts';
import { progress, type Progress } from '../experiment/progress.ts';
import { writeTrainLog } from '../experiment/outputs.ts';
import { argmax } from '../eval/closed-set.ts';
import { Interrupted, type Method } from './types.ts';
import { clipSetup, textFeatures } from './clip-common.ts';
import { finetuneWithLoss } from './clip-losses.ts';
import { lossOptions } from './options.ts';

export const clipFinetune: Method = {
  name: 'clip-text-finetune',
  async run(ctx) {
    const { cfg } = ctx;
    const setup = await clipSetup(ctx);
    const { loaded, scored, dim, feats, trainFeats, labels, prompts, tokens } = setup;
    const { model } = loaded;
    try {
      const classIndex = new Map(ctx.classes.map((c, i) => [c.id, i]));
      const zeroShot = scoreImages(feats, textFeatures(setup), dim, model.logitScale);

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

      const after = scoreImages(feats, textFeatures(setup), dim, model.logitScale);
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
