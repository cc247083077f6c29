/**
 * `clipface run`: one experiment end to end, the paper's study in one call.
 * dataset → split → aligned crops → frozen image embeddings (cached) → text-tower finetune
 * (checkpointed, resumable) → closed-set, deployment and open-set evaluation → results/<run>/.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { initTf, tf } from '../runtime/tf.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { l2normalize } from '../clip/model.ts';
import { finetuneTextTower } from '../train/finetune.ts';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.ts';
import type { ImageEntry } from '../data/types.ts';
import { configHash, loadExperiment, repoRoot, type ExperimentConfig } from './config.ts';
import { environment } from './env.ts';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { cachedImageEmbeddings, normalizeRows, scoreImages } from './embeddings.ts';
import { evaluate, splitAccuracy, type ScoredImage } from './evaluate.ts';
import { loadExperimentModel, RANDOM_STAMP } from './model-source.ts';
import { progress, type Progress } from './progress.ts';
import { cacheRoot, loadOrSynth, prepareCrops, splitFor } from './stages.ts';
import { writeReportMd } from './report-md.ts';
import { writeReportHtml } from '../report/report-html.ts';
import { toCsv } from './csv.ts';

export interface RunOptions {
  sets?: string[];
  /** true: the latest unfinished run of this config; a string: that run folder */
  resume?: boolean | string;
  quiet?: boolean;
}

type Status = 'running' | 'finished' | 'interrupted' | 'failed';

function resultsDirOf(cfg: ExperimentConfig): string {
  return isAbsolute(cfg.output.resultsDir) ? cfg.output.resultsDir : join(repoRoot, cfg.output.resultsDir);
}

function statusOf(dir: string): Status | undefined {
  try { return JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')).state; } catch { return undefined; }
}

/** A new folder `<date>-<name>-<hash>[-k]`; a finished run is never overwritten. */
function chooseRunDir(cfg: ExperimentConfig, hash: string, resume: RunOptions['resume']): { dir: string; resumed: boolean } {
  const root = resultsDirOf(cfg);
  if (typeof resume === 'string') {
    if (!existsSync(join(resume, 'config.json'))) throw new UserError(`--resume ${resume}: not a run folder (no config.json)`);
    const saved = JSON.parse(readFileSync(join(resume, 'config.json'), 'utf8'));
    if (configHash(saved) !== hash) throw new UserError(`--resume ${resume}: that run used a different config; resume with the same file and --set values`);
    if (statusOf(resume) === 'finished') throw new UserError(`--resume ${resume}: that run already finished`);
    return { dir: resume, resumed: true };
  }
  const suffix = `-${cfg.name}-${hash}`;
  if (resume) {
    const mine = existsSync(root) ? readdirSync(root).filter((d) => d.includes(suffix) && statusOf(join(root, d)) !== 'finished').sort() : [];
    if (!mine.length) throw new UserError(`--resume: no unfinished run of ${cfg.name} (${hash}) in ${root}`);
    return { dir: join(root, mine[mine.length - 1]!), resumed: true };
  }
  const base = join(root, `${new Date().toISOString().slice(0, 10)}${suffix}`);
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  return { dir, resumed: false };
}

export async function runExperiment(file: string, opts: RunOptions = {}): Promise<string> {
  const { config: cfg, baseDir } = loadExperiment(file, opts.sets ?? []);
  const hash = configHash(cfg);
  const say = (s: string) => { if (!opts.quiet) process.stderr.write(`run: ${s}\n`); };
  const { dir, resumed } = chooseRunDir(cfg, hash, opts.resume);
  mkdirSync(dir, { recursive: true });
  const setStatus = (state: Status, extra: Record<string, unknown> = {}) => writeJsonAtomic(join(dir, 'status.json'), { state, at: new Date().toISOString(), ...extra });
  writeJsonAtomic(join(dir, 'config.json'), cfg);
  setStatus('running');
  say(`${resumed ? 'resuming' : 'results in'} ${dir}`);
  try {
    const backend = await initTf({ quiet: opts.quiet });
    writeJsonAtomic(join(dir, 'env.json'), { ...environment(cfg.seed), backend, configHash: hash, experimentFile: file });
    await execute(cfg, baseDir, dir, resumed, say);
    setStatus('finished');
    return dir;
  } catch (e) {
    const interrupted = e instanceof Interrupted;
    // a run that failed before its first checkpoint leaves nothing worth keeping
    if (!interrupted && !resumed && !hasCheckpoint(join(dir, 'checkpoint'))) rmSync(dir, { recursive: true, force: true });
    else setStatus(interrupted ? 'interrupted' : 'failed', { error: (e as Error).message.split('\n')[0] });
    if (interrupted) throw new UserError(`interrupted; the checkpoint in ${dir} resumes with: clipface run ${file} --resume ${dir}`, 130);
    throw e;
  }
}

class Interrupted extends Error {}

async function execute(cfg: ExperimentConfig, baseDir: string, dir: string, resumed: boolean, say: (s: string) => void): Promise<void> {
  const ds = await loadOrSynth(cfg, baseDir, say);
  const split = splitFor(cfg, ds);
  const loaded = await loadExperimentModel(cfg, baseDir);
  const { model } = loaded;
  if (loaded.random) say(`MODEL: ${loaded.description}${loaded.fallbackReason ? ` (${loaded.fallbackReason})` : ''}`);
  try {
    const images: { entry: ImageEntry; kind: ScoredImage['kind'] }[] = [
      ...split.train.map((entry) => ({ entry, kind: 'train' as const })),
      ...split.test.map((entry) => ({ entry, kind: 'test' as const })),
      ...split.unknown.map((entry) => ({ entry, kind: 'probe' as const })),
      ...split.deployment.map((entry) => ({ entry, kind: 'deployment' as const })),
    ];
    const crops = await prepareCrops(cfg, ds, images.map((i) => i.entry), join(dir, 'prepare'), model.cfg.vision.imageSize);
    const usable = images.filter((i) => crops.file.has(i.entry.path));
    if (crops.skipped.size) say(`${crops.skipped.size} image(s) skipped in preprocessing (see prepare/prepare-report.json)`);

    // classes: the enrolled identities that have training images, in manifest order
    const trainIds = new Set(usable.filter((i) => i.kind === 'train').map((i) => i.entry.identity));
    const classes = ds.manifest.identities.filter((p) => p.role === 'known' && trainIds.has(p.id));
    if (classes.length < 2) throw new UserError(`${ds.root}: fewer than 2 enrolled identities with usable training images`);
    const classIndex = new Map(classes.map((c, i) => [c.id, i]));
    const prompts = classes.map((c) => cfg.prompt.template.replaceAll('{name}', c.name));
    const tokens = ClipTokenizer.load().tokenize(prompts, model.cfg.text.contextLength).tokens;

    const dim = model.cfg.embedDim;
    const bar = progress('embed images', usable.length);
    const raw = await cachedImageEmbeddings(model, loaded.weightsId, usable.map((i) => crops.file.get(i.entry.path)!), cacheRoot(cfg), (d) => bar.update(d));
    bar.stop();
    const feats = normalizeRows(raw, dim);
    const trainRows = usable.map((u, i) => (u.kind === 'train' ? i : -1)).filter((i) => i >= 0);
    const trainFeats = new Float32Array(trainRows.length * dim);
    trainRows.forEach((r, j) => trainFeats.set(feats.subarray(r * dim, (r + 1) * dim), j * dim));
    const labels = Int32Array.from(trainRows, (r) => classIndex.get(usable[r]!.entry.identity)!);

    const textFeatures = () => tf.tidy(() => l2normalize(model.encodeText(tokens)).dataSync() as Float32Array);
    const zeroShot = scoreImages(feats, textFeatures(), dim, model.logitScale);

    // finetune (the paper's single-shot pass by default)
    const ckptDir = join(dir, 'checkpoint');
    const resume = resumed && hasCheckpoint(ckptDir) ? loadCheckpoint(ckptDir) : undefined;
    let stop = false;
    const onSigint = () => { stop = true; say('Ctrl-C: stopping after this step and saving a checkpoint'); };
    process.once('SIGINT', onSigint);
    let tbar: Progress | undefined;
    const logRows: string[][] = [];
    const meta = { model: loaded.description, config: basename(dir) };
    const result = cfg.training.epochs === 0 ? { log: [], stopped: undefined } : await finetuneTextTower(model, trainFeats, labels, tokens, {
      epochs: cfg.training.epochs, batchSize: cfg.training.batchSize, weightDecay: cfg.training.weightDecay,
      betas: cfg.training.betas, eps: cfg.training.eps, seed: cfg.training.seed ?? cfg.seed,
      schedule: { kind: cfg.training.schedule, lr: cfg.training.lr, minLr: cfg.training.minLr, warmupSteps: cfg.training.warmupSteps },
    }, {
      checkpointEvery: cfg.training.checkpointEvery,
      shouldStop: () => stop || process.env.CLIPFACE_STOP_AFTER_STEP === String(logRows.length),
      onStep: (l, total) => {
        tbar ??= progress('finetune', total);
        logRows.push([l.step, l.epoch, l.lr, l.loss, l.batchAccuracy].map(String));
        tbar.update(l.step, `loss ${l.loss.toFixed(4)}`);
      },
      onCheckpoint: (state) => {
        saveCheckpoint(ckptDir, state, meta);
        writeTrainLog(dir, state.log);
      },
    }, resume);
    tbar?.stop();
    process.off('SIGINT', onSigint);
    if (result.stopped === 'interrupted') throw new Interrupted();
    if (result.stopped) throw new UserError(`training stopped: ${result.stopped}; the last good checkpoint is in ${ckptDir}`);

    // evaluate with the finetuned text tower
    const scored = scoreImages(feats, textFeatures(), dim, model.logitScale);
    const all: ScoredImage[] = usable.map((u, i) => ({
      path: u.entry.path, kind: u.kind, subject: u.entry.identity, known: classIndex.has(u.entry.identity),
      truth: classIndex.get(u.entry.identity) ?? -1, probs: scored.probs[i]!, cosines: scored.cosines[i]!,
    }));
    const ev = evaluate(all, {
      classes: classes.map((c) => c.id), threshold: cfg.evaluation.threshold, aggregation: cfg.evaluation.aggregation,
      enrolledRejected: cfg.evaluation.enrolledRejected, bootstrap: cfg.evaluation.bootstrap, seed: cfg.seed,
    });
    const zsAll = all.map((a, i) => ({ ...a, probs: zeroShot.probs[i]!, cosines: zeroShot.cosines[i]! }));
    const trainAcc = splitAccuracy(all.filter((a) => a.kind === 'train'));
    const metrics = {
      ...(loaded.random ? { stamp: RANDOM_STAMP } : {}),
      experiment: cfg.name, configHash: configHash(cfg), model: loaded.description,
      classes: classes.map((c) => ({ id: c.id, name: c.name, prompt: cfg.prompt.template.replaceAll('{name}', c.name) })),
      data: {
        root: ds.root, train: split.train.length, test: split.test.length, unknownImages: split.unknown.length,
        deploymentFrames: split.deployment.length, skipped: [...crops.skipped].map(([path, reason]) => ({ path, reason })),
        problems: ds.problems.length,
      },
      train: {
        steps: result.log.length, epochs: cfg.training.epochs, losses: result.log.map((l) => l.loss),
        firstLoss: result.log[0]?.loss ?? null, finalLoss: result.log[result.log.length - 1]?.loss ?? null, accuracy: trainAcc,
      },
      zeroShot: { closedSetAccuracy: evaluate(zsAll, { classes: classes.map((c) => c.id), threshold: cfg.evaluation.threshold, aggregation: cfg.evaluation.aggregation, enrolledRejected: cfg.evaluation.enrolledRejected, bootstrap: 0, seed: cfg.seed }).closedSet.accuracy },
      // Table I's 'training accuracy': we read it as the accuracy on the 20 % held-out split of the
      // training data (the only closed-set number the paper reports); train.accuracy is the 80 % itself
      tableI: ev.deployment ? { trainingAccuracy: ev.closedSet.accuracy, deploymentAccuracy: ev.deployment.accuracy, fpr: ev.deployment.fpr, fnr: ev.deployment.fnr } : null,
      closedSet: ev.closedSet,
      deployment: ev.deployment,
      openSet: ev.openSet,
    };
    writeJsonAtomic(join(dir, 'metrics.json'), metrics);
    writeFileAtomic(join(dir, 'predictions.csv'), toCsv(['kind', 'path', 'subject', 'known', 'truth', 'prediction', 'confidence', 'accepted'], ev.rows.map((r) => [r.kind, r.path, r.subject, r.known, r.truth, r.prediction, r.confidence, r.accepted])));
    writeTrainLog(dir, result.log);
    // image embeddings of the held-out split, for the similarity heatmaps (paper §VI-B)
    const testRows = usable.map((u, i) => (u.kind === 'test' ? i : -1)).filter((i) => i >= 0);
    writeJsonAtomic(join(dir, 'features.json'), {
      labels: testRows.map((r) => usable[r]!.entry.identity), paths: testRows.map((r) => usable[r]!.entry.path), dim,
      features: testRows.flatMap((r) => Array.from(feats.subarray(r * dim, (r + 1) * dim), (x) => Math.round(x * 1e6) / 1e6)),
    });
    writeReportMd(dir, cfg, metrics);
    writeReportHtml(dir, { standaloneFigures: false });
    say(`closed-set accuracy ${(ev.closedSet.accuracy * 100).toFixed(1)} % (chance ${(100 / classes.length).toFixed(1)} %)` +
      (ev.deployment ? `; deployment acc ${(ev.deployment.accuracy * 100).toFixed(1)} %, FPR ${(ev.deployment.fpr * 100).toFixed(1)} %, FNR ${(ev.deployment.fnr * 100).toFixed(1)} %` : ''));
  } finally {
    model.dispose();
  }
}

function writeTrainLog(dir: string, log: { step: number; epoch: number; lr: number; loss: number; batchAccuracy: number; ms: number }[]): void {
  writeFileAtomic(join(dir, 'train-log.csv'), toCsv(['step', 'epoch', 'lr', 'loss', 'batch_accuracy', 'ms'], log.map((l) => [l.step, l.epoch, l.lr, l.loss, l.batchAccuracy, Math.round(l.ms)])));
}
