/**
 * The paper's arm: CLIP with the image tower frozen (features computed once, cached) and the text
 * tower finetuned on CE over one prompt per enrolled person ("single shot": epochs = 1).
 * `training.epochs = 0` gives zero-shot CLIP with the same prompts.
 */
import { basename, join } from 'node:path';
import { finetuneTextTower } from '../train/finetune.ts';
import { UserError } from '../util/errors.ts';
import { loadCheckpoint, recoverCheckpoint, saveCheckpoint } from '../services/checkpoint.ts';
import { scoreImages } from '../services/embeddings.ts';
import { progress, type Progress } from '../runtime/progress.ts';
import { writeTrainLog } from '../services/train-log.ts';
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
      const resume = ctx.resumed && recoverCheckpoint(ckptDir) ? loadCheckpoint(ckptDir) : undefined;
      let tbar: Progress | undefined;
      let steps = resume?.step ?? 0;
      const meta = { model: loaded.description, run: basename(ctx.dir) };
      const t = cfg.training;
      const loss = lossOptions(cfg); // training.loss: the paper's CE, or its future-work margin losses (clip-losses.ts)
      const train = loss.kind === 'ce' ? finetuneTextTower : finetuneWithLoss(loss);
      checkPlan(ctx, labels.length);
      const result = t.epochs === 0 ? { log: [], stopped: undefined } : await train(model, trainFeats, labels, tokens, {
        epochs: t.epochs, batchSize: t.batchSize, weightDecay: t.weightDecay, betas: t.betas, eps: t.eps, seed: t.seed ?? cfg.seed,
        schedule: { kind: t.schedule, lr: t.lr, minLr: t.minLr, warmupSteps: t.warmupSteps },
      }, {
        checkpointEvery: t.checkpointEvery,
        shouldStop: () => ctx.shouldStop(steps),
        onStep: (l, total) => {
          // one step's time says what the whole run costs: said once, before the user waits for it
          if (l.step === (resume?.step ?? 0) + 1 && total > l.step) ctx.say(`training: first step ${(l.ms / 1000).toFixed(2)} s → about ${duration(l.ms * (total - l.step))} for the remaining ${total - l.step}`);
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
        description: loaded.description, ...(loaded.stamp ? { stamp: loaded.stamp } : {}),
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

/**
 * The planned step count, said up front so a config that would train for hours is seen at once;
 * a warm-up longer than the run would never reach training.lr, so it is refused.
 */
function checkPlan(ctx: Parameters<Method['run']>[0], examples: number): void {
  const t = ctx.cfg.training;
  const perEpoch = Math.ceil(examples / t.batchSize);
  const planned = t.epochs * perEpoch;
  if (!planned) return; // zero-shot: nothing to train
  if (t.warmupSteps > planned) {
    throw new UserError(`training.warmupSteps ${t.warmupSteps} is more than the ${planned} planned steps (${t.epochs} epoch(s) × ${perEpoch} batch(es) of ${t.batchSize}), so the learning rate would never reach training.lr; lower warmupSteps or raise training.epochs`);
  }
  ctx.say(`training: ${t.epochs} epoch(s) × ${perEpoch} step(s) of batch ${t.batchSize} on ${examples} image(s) = ${planned} steps`);
}

function duration(ms: number): string {
  const s = ms / 1000;
  return s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`;
}
