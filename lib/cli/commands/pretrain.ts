/**
 * `clipface pretrain <config.json>`: build (or reuse) the captioned synthetic-face corpus, pretrain a
 * small CLIP on it, and write an open_clip folder that the ordinary loader reads. The run folder is
 * the last stdout line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { writeFileAtomic, writeJsonAtomic } from '../../util/fs-atomic.ts';
import { applyOverrides } from '../../experiment/config.ts';
import { environment } from '../../experiment/env.ts';
import { loadClipConfig } from '../../clip/config.ts';
import { ClipModel } from '../../clip/model.ts';
import { ClipTokenizer } from '../../clip/tokenizer.ts';
import { resolveArchConfig, resolveLocalModel } from '../../models/registry.ts';
import { initTf } from '../../runtime/tf.ts';
import { progress } from '../../runtime/progress.ts';
import { resolvePretrainConfig, type PretrainConfig } from '../../pretrain/config.ts';
import { buildCorpus, loadCorpus } from '../../pretrain/corpus.ts';
import { evaluateTowers } from '../../pretrain/heldout.ts';
import { writeOpenClipFolder } from '../../pretrain/export.ts';
import { ImageTowerModel, writeImageTowerFolder } from '../../pretrain/image-tower.ts';
import type { VisionTransformer } from '../../clip/vit.ts';
import { configHash, pretrainClip, type StepLog } from '../../pretrain/train.ts';

const help = `usage: clipface pretrain <pretrain.json> [--set key.path=value]... [--resume] [--quiet]

Pretrains a small CLIP on synthetic captioned faces (data-spec/pretrain.schema.json; unknown keys
are errors), e.g. experiments/teaching-clip.pretrain.json, the recipe of the shipped teaching CLIP.

1. corpus: renders identities never used by a demo set, aligns their photos with the generator's
   exact 5 points and caches the crops in corpus.dir (git-ignored; resumable, byte-identical per seed);
2. objective clip: trains both towers with the multi-positive CLIP loss (AdamW, warm-up + cosine,
   gradient clipping, learnable logit scale clamped at 100); objective arcface: trains the image
   tower alone on identity labels with ArcFace's margin (s 64, m 0.5), e.g.
   experiments/teaching-arcface.pretrain.json; either way evaluating on held-out people every epoch;
3. writes <output.dir>/<name>/: config.json, env.json, train-log.csv, checkpoint/, and model/
   (open_clip_config.json + open_clip_model.safetensors, fp16; the image tower only for arcface)
   with pretrain-report.json.

Ctrl-C or SIGTERM stops at the next step with a checkpoint; --resume continues it exactly.

  --set a.b=value   override a config value, e.g. --set training.epochs=1
  --resume          continue the interrupted run of this config
  --quiet           no progress on stderr`;

function csv(log: StepLog[]): string {
  const cols: (keyof StepLog)[] = ['step', 'epoch', 'lr', 'loss', 'logitScale', ...(log.some((l) => l.margin !== undefined) ? ['margin' as const] : []), 'gradNorm', 'seconds', 'pairsPerSec'];
  return [cols.join(','), ...log.map((r) => cols.map((c) => (c === 'step' || c === 'epoch' ? String(r[c]) : Number(r[c]).toPrecision(6))).join(','))].join('\n') + '\n';
}

export const pretrainCommand: Command = {
  name: 'pretrain',
  summary: 'pretrain a small CLIP on synthetic captioned faces (the teaching CLIP), or its image tower with ArcFace',
  help,
  async run(argv) {
    const { values, positionals } = parse('pretrain', argv, { set: { type: 'string', multiple: true }, resume: { type: 'boolean' }, quiet: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new UserError('pretrain: give exactly one config file, e.g. clipface pretrain experiments/teaching-clip.pretrain.json');
    const file = resolve(positionals[0]!);
    let raw: unknown;
    try { raw = JSON.parse(readFileSync(file, 'utf8')); } catch (e) {
      throw new UserError(`${file}: cannot read the pretrain config (${(e as Error).message}); pass a JSON file such as experiments/teaching-clip.pretrain.json`);
    }
    const cfg: PretrainConfig = resolvePretrainConfig(applyOverrides(raw as Record<string, unknown>, values.set ?? []), file);
    const base = dirname(file);
    const out = resolve(base, cfg.output.dir, cfg.name);
    const quiet = !!values.quiet;
    const say = (s: string) => { if (!quiet) process.stderr.write(`pretrain: ${s}\n`); };
    if (existsSync(join(out, 'pretrain-report.json')) && !values.resume) throw new UserError(`${out}: a finished pretraining run is there; choose another name (--set name=...) or output.dir`);
    if (existsSync(join(out, 'checkpoint')) && !values.resume) throw new UserError(`${out}: an unfinished run of this name is there; add --resume to continue it, or choose another name`);

    let stop = false;
    const onSignal = (sig: string) => { if (!stop) say(`${sig}: stopping after this step (a second one still waits for the checkpoint)`); stop = true; };
    const onInt = () => onSignal('SIGINT'), onTerm = () => onSignal('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    try {
      const backend = await initTf({ quiet });
      const corpusDir = resolve(base, cfg.corpus.dir);
      const { dir: _d, ...corpusOpts } = cfg.corpus;
      const bar = progress('corpus shards', 1, quiet);
      const t0 = performance.now();
      await buildCorpus(corpusDir, corpusOpts, { onStatus: say, onProgress: (d, t) => bar.update(d, `of ${t}`), shouldStop: () => stop });
      bar.stop();
      const corpus = loadCorpus(corpusDir);
      say(`corpus ${corpusDir}: ${corpus.manifest.images.length} photos of ${corpus.manifest.identities.length} identities (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      const clipCfg = loadClipConfig(resolveArchConfig(cfg.model.arch, base, 'model.arch'));
      const tok = ClipTokenizer.load();
      writeJsonAtomic(join(out, 'config.json'), cfg);
      writeJsonAtomic(join(out, 'env.json'), { ...environment(cfg.seed), backend });
      let steps: ReturnType<typeof progress> | undefined;
      const recent: number[] = [];
      const w0 = performance.now();
      const r = await pretrainClip(cfg, clipCfg, corpus, tok, out, {
        say, shouldStop: () => stop,
        onStep: (l, total) => {
          steps ??= progress('pretrain steps', total, quiet);
          steps.update(l.step, `loss ${l.loss.toFixed(3)} scale ${l.logitScale.toFixed(1)} ${l.pairsPerSec.toFixed(0)} pairs/s`);
          recent.push(l.seconds);
          if (recent.length === 6) say(`${total} steps planned (${cfg.training.epochs} epochs × ${total / cfg.training.epochs}); steps 2–6 took ${median(recent.slice(1)).toFixed(2)} s each → about ${Math.ceil(((total - l.step) * median(recent.slice(1))) / 60)} min to go, plus an evaluation per epoch`);
        },
      }, { resume: !!values.resume });
      steps?.stop();
      writeFileAtomic(join(out, 'train-log.csv'), csv(r.log));
      if (r.status === 'stopped') return 130;
      const modelDir = join(out, 'model');
      const arc = cfg.objective === 'arcface';
      const recipe = { recipe: `clipface pretrain ${cfg.name} (config ${configHash(cfg)})`, objective: cfg.objective };
      const w = arc ? writeImageTowerFolder(modelDir, clipCfg, r.model.visual as VisionTransformer, recipe) : writeOpenClipFolder(modelDir, clipCfg, r.model, r.logitScale, recipe);
      r.model.dispose();
      // the shipped file, read back by the loader real open_clip weights (or a shipped image tower) go through
      const files = resolveLocalModel(modelDir);
      const shipped = arc ? ImageTowerModel.load(files.configPath, files.weightsPath) : ClipModel.load(files.configPath, files.weightsPath);
      const final = evaluateTowers(shipped, arc ? null : tok, corpus);
      shipped.dispose();
      writeJsonAtomic(join(modelDir, 'pretrain-report.json'), {
        name: cfg.name, objective: cfg.objective, ...(arc ? { arcface: cfg.arcface, trained: 'image tower and class weights; the text tower is neither trained nor shipped' } : {}),
        configHash: configHash(cfg), config: cfg,
        corpus: { dir: cfg.corpus.dir, photos: corpus.manifest.images.length, identities: corpus.manifest.identities.length, distinctness: corpus.manifest.distinctness },
        steps: r.steps, trainSeconds: r.trainSeconds, wallSecondsThisInvocation: (performance.now() - w0) / 1000,
        pairsPerSecMedian: median(r.log.map((l) => l.pairsPerSec)),
        loss: { first: r.log[0]?.loss, last: r.log.at(-1)?.loss },
        ...(arc ? {} : { logitScale: r.logitScale }), weights: { file: 'open_clip_model.safetensors', dtype: 'F16', sha256: w.sha256, bytes: w.bytes },
        epochs: r.evals, final, env: { ...environment(cfg.seed), backend },
      });
      writeJsonAtomic(join(out, 'pretrain-report.json'), { model: 'model/', sha256: w.sha256 });
      say(`done in ${(r.trainSeconds / 60).toFixed(1)} min of training: held-out AUC ${final.heldout.auc.toFixed(4)}; model in ${modelDir}`);
      process.stdout.write(out + '\n');
      return 0;
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    }
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}
