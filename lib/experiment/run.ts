/**
 * `clipface run`: one experiment end to end, the paper's study in one call.
 * dataset → split → aligned crops → method (the paper's: frozen image embeddings + text-tower
 * finetune, checkpointed and resumable) → `evaluate` (closed set, deployment, open set:
 * ./evaluate.ts) → `writeRunOutputs` (results/<date>-<name>-<hash>/: ./outputs.ts).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { initTf } from '../runtime/tf.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';
import { fsErrorLine } from '../util/fs-errors.ts';
import { resetWeightsUsed, weightsUsed } from '../util/weights-used.ts';
import { readRunStatus, writeRunStatus, type RunState, type RunStatus } from '../report/run-status.ts';
import { getMethod } from '../methods/index.ts';
import { Interrupted, type RunContext } from '../methods/types.ts';
import { configHash, loadExperiment, repoRoot, type ExperimentConfig } from './config.ts';
import { environment } from './env.ts';
import { hasCheckpoint } from '../services/checkpoint.ts';
import { checkProblems, loadOrSynth, prepareCrops, runImages, splitFor, type Crops } from '../services/stages.ts';
import { evaluate, scoredImages } from './evaluate.ts';
import { unknownGroupsOf } from './evaluate-thresholds.ts';
import { writeRunOutputs } from './outputs.ts';

export interface RunOptions {
  sets?: string[];
  /** true: the latest unfinished run of this config; a string: that run folder */
  resume?: boolean | string;
  quiet?: boolean;
}

/** 0.833333 → "83.3 %"; a rate undefined for this run (null, NaN) → "n/a". */
const pct = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)} %`);

function resultsDirOf(cfg: ExperimentConfig): string {
  return isAbsolute(cfg.output.resultsDir) ? cfg.output.resultsDir : join(repoRoot, cfg.output.resultsDir);
}

const statusOf = (dir: string) => readRunStatus(dir)?.state;

/** A new folder `<date>-<name>-<hash>[-k]`; a finished run is never overwritten. */
function chooseRunDir(cfg: ExperimentConfig, hash: string, resume: RunOptions['resume']): { dir: string; resumed: boolean } {
  const root = resultsDirOf(cfg);
  if (typeof resume === 'string') {
    if (!existsSync(join(resume, 'config.json'))) throw new UserError(`--resume ${resume}: not a run folder (no config.json)`);
    let saved: unknown;
    try {
      saved = JSON.parse(readFileSync(join(resume, 'config.json'), 'utf8'));
    } catch (e) {
      throw new UserError(`--resume ${resume}: its config.json is unreadable (${(e as Error).message.split('\n')[0]}); the run cannot be resumed, start it again without --resume`);
    }
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
  const method = getMethod(cfg.method.kind);
  const hash = configHash(cfg);
  const say = (s: string) => { if (!opts.quiet) process.stderr.write(`run: ${s}\n`); };
  const { dir, resumed } = chooseRunDir(cfg, hash, opts.resume);
  mkdirSync(dir, { recursive: true });
  const setStatus = (state: RunState, extra: Omit<RunStatus, 'state' | 'at'> = {}) => writeRunStatus(dir, { state, ...extra });
  writeJsonAtomic(join(dir, 'config.json'), cfg);
  setStatus('running');
  resetWeightsUsed();
  say(`${resumed ? 'resuming' : 'results in'} ${dir}`);
  // Ctrl-C and SIGTERM (a scheduler, `kill`) both stop at the next training step with a checkpoint.
  // The handlers stay installed: a terminal's Ctrl-C can arrive twice (directly and relayed by the
  // clipface bin), and a second one must not kill the run halfway through writing its checkpoint.
  let stop: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stop) process.stderr.write(`run: ${sig}: stopping after this training step and saving a checkpoint\n`);
    stop ??= sig;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const backend = await initTf({ quiet: opts.quiet });
    writeJsonAtomic(join(dir, 'env.json'), { ...environment(cfg.seed), backend, configHash: hash, experimentFile: file });
    const ds = await loadOrSynth(cfg, baseDir, say);
    checkProblems(cfg, ds, say);
    const split = splitFor(cfg, ds);
    const images = runImages(split);
    const trainIds = new Set(split.train.map((e) => e.identity));
    const classes = ds.manifest.identities.filter((p) => p.role === 'known' && trainIds.has(p.id));
    if (classes.length < 2) throw new UserError(`${ds.root}: fewer than 2 enrolled identities with training images`);
    const bySize = new Map<number, Promise<Crops>>();
    const skipped = new Map<string, string>();
    const ctx: RunContext = {
      cfg, baseDir, dir, resumed, ds, images, classes, say,
      shouldStop: (steps) => stop !== undefined || process.env.CLIPFACE_STOP_AFTER_STEP === String(steps),
      crops: (size) => {
        if (!bySize.has(size)) {
          bySize.set(size, prepareCrops(cfg, ds, images.map((i) => i.entry), join(dir, bySize.size ? `prepare-${size}` : 'prepare'), size).then((c) => {
            for (const [p, why] of c.skipped) skipped.set(p, why);
            if (c.skipped.size) say(`${c.skipped.size} image(s) skipped in preprocessing (see the prepare report in ${dir})`);
            return c;
          }));
        }
        return bySize.get(size)!;
      },
    };
    const result = await method.run(ctx);
    const score = evaluate(scoredImages(result, classes), { ...cfg.evaluation, classes: classes.map((c) => c.id), seed: cfg.seed, unknownGroups: unknownGroupsOf(ds.manifest.identities) });
    writeRunOutputs(ctx, { method: method.name, result, score, skipped });
    const d = score.deployment;
    say(`closed-set accuracy ${pct(score.closedSet.accuracy)} (chance ${pct(1 / classes.length)})` +
      (d ? `; deployment acc ${pct(d.accuracy)}, FPR ${pct(d.fpr)}, FNR ${pct(d.fnr)}` : ''));
    setStatus('finished', { weights: weightsUsed() });
    return dir;
  } catch (e) {
    const interrupted = e instanceof Interrupted;
    const checkpointed = hasCheckpoint(join(dir, 'checkpoint'));
    // a run that failed before its first checkpoint leaves nothing worth keeping
    if (!interrupted && !resumed && !checkpointed) rmSync(dir, { recursive: true, force: true });
    else {
      try {
        setStatus(interrupted ? 'interrupted' : 'failed', { error: (e as Error).message.split('\n')[0] });
      } catch {
        // the disk is still full: no status.json beats one that says "running" (--resume finds it either way)
        rmSync(join(dir, 'status.json'), { force: true });
      }
    }
    if (interrupted) throw new UserError(`interrupted; the checkpoint in ${dir} resumes with: clipface run ${file} --resume ${dir}`, 128 + constants.signals[stop ?? 'SIGINT']);
    // a full disk, a folder gone read-only: once fixed, the whole checkpoint carries the run on
    const fsLine = checkpointed ? fsErrorLine(e) : undefined;
    if (fsLine) throw new UserError(`${fsLine}; then resume with: clipface run ${file} --resume ${dir}`);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
