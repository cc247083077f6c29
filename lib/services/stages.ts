/**
 * The data-side stages of a run: the dataset (generated when the config says so), its split, the
 * images to score, and aligned face crops for each of them (methods ask for crops at their input
 * size through RunContext.crops). Images that fail are skipped with a reason, never silently
 * dropped, and never stop the run.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadDataset } from '../data/dataset.ts';
import { splitDataset, type Split } from '../data/split.ts';
import { synthDataset, synthNeeded } from '../data/synth.ts';
import type { Dataset, ImageEntry } from '../data/types.ts';
import { createDetector } from '../preprocess/detector.ts';
import { prepareDataset, type PrepareItem, type PrepareReport } from '../preprocess/prepare.ts';
import { decodeImage } from '../runtime/image.ts';
import { UserError } from '../util/errors.ts';
import type { ExperimentConfig } from './experiment-config.ts';
import { repoRoot } from '../util/paths.ts';

export function datasetPath(cfg: ExperimentConfig, baseDir: string): string {
  return isAbsolute(cfg.dataset.path) ? cfg.dataset.path : resolve(baseDir, cfg.dataset.path);
}

export function cacheRoot(cfg: ExperimentConfig): string {
  return isAbsolute(cfg.preprocess.cacheDir) ? cfg.preprocess.cacheDir : join(repoRoot, cfg.preprocess.cacheDir);
}

/** Load the dataset, generating the synthetic one first when asked and absent or made for other options. */
export async function loadOrSynth(cfg: ExperimentConfig, baseDir: string, log: (s: string) => void): Promise<Dataset> {
  const dir = datasetPath(cfg, baseDir);
  const s = cfg.dataset.synth;
  const opts = s && { seed: s.seed, identities: s.identities, unknown: s.unknown, perIdentity: s.perIdentity, size: s.size, ...(s.lookalikes ? { lookalikes: s.lookalikes } : {}) };
  const why = opts && synthNeeded(dir, opts);
  if (opts && why) {
    log(`generating the synthetic dataset in ${dir} (seed ${opts.seed}, ${opts.identities} known + ${opts.unknown} unknown × ${opts.perIdentity}${opts.lookalikes ? ', lookalikes' : ''}): ${why}`);
    await synthDataset(dir, opts);
  }
  if (!existsSync(dir)) {
    throw new UserError(`dataset.path: ${dir} does not exist; put your data there (a folder per person, or manifest.json; see data-spec/README.md) or set dataset.synth to generate the demo set`);
  }
  return loadDataset(dir);
}

/**
 * Manifest entries with errors are left out of the run; saying so only in metrics.json let a run
 * train on half the data with exit 0. Each one is said on stderr, and more than
 * dataset.maxProblems (default 0) stop the run before any work.
 */
export function checkProblems(cfg: ExperimentConfig, ds: Dataset, log: (s: string) => void): void {
  const errors = ds.problems.filter((p) => p.severity === 'error');
  const shown = ds.problems.slice(0, 20);
  for (const p of shown) log(`dataset ${p.severity}: ${p.path}: ${p.reason}`);
  if (ds.problems.length > shown.length) log(`... and ${ds.problems.length - shown.length} more (clipface data check ${ds.root} lists them all)`);
  const allowed = cfg.dataset.maxProblems ?? 0;
  if (errors.length > allowed) {
    throw new UserError(`${ds.root}: ${errors.length} dataset entr${errors.length === 1 ? 'y has an error' : 'ies have errors'} (first: ${errors[0]!.path}: ${errors[0]!.reason}); fix them (clipface data check ${ds.root} lists them) or set dataset.maxProblems to ${errors.length} to run without them`);
  }
  if (errors.length) log(`${errors.length} dataset entr${errors.length === 1 ? 'y' : 'ies'} with errors left out (dataset.maxProblems ${allowed})`);
}

export function splitFor(cfg: ExperimentConfig, ds: Dataset): Split {
  return splitDataset(ds.manifest, { seed: cfg.dataset.split.seed ?? cfg.seed, trainFraction: cfg.dataset.split.trainFraction, kShot: cfg.dataset.split.kShot ?? undefined });
}

/** What an image is for in a run: trained on, the closed-set test, an unknown person's photo, a deployment frame. */
export type ImageKind = 'train' | 'test' | 'probe' | 'deployment';

export interface RunImage { entry: ImageEntry; kind: ImageKind }

/** Every image a run scores, in a fixed order: train, test, unknown-person photos, deployment frames. */
export function runImages(split: Split): RunImage[] {
  return [
    ...split.train.map((entry) => ({ entry, kind: 'train' as const })),
    ...split.test.map((entry) => ({ entry, kind: 'test' as const })),
    ...split.unknown.map((entry) => ({ entry, kind: 'probe' as const })),
    ...split.deployment.map((entry) => ({ entry, kind: 'deployment' as const })),
  ];
}

export interface Crops {
  /** manifest path → absolute crop file, for images that were prepared */
  file: Map<string, string>;
  /** manifest path → why it was skipped */
  skipped: Map<string, string>;
  report: PrepareReport | null;
}

/** Align and crop every image (the paper's SCRFD + 5-point step); `none` uses the images as they are. */
export async function prepareCrops(cfg: ExperimentConfig, ds: Dataset, images: ImageEntry[], outDir: string, size: number): Promise<Crops> {
  const file = new Map<string, string>();
  const skipped = new Map<string, string>();
  if (cfg.preprocess.detector === 'none') {
    // the images are the crops: decode each once here, so one bad file is skipped with its reason
    // like any other preprocessing failure instead of aborting the embedding stage
    for (const im of images) {
      const abs = join(ds.root, im.path);
      try {
        await decodeImage(abs);
        file.set(im.path, abs);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        skipped.set(im.path, e.message.startsWith(abs + ': ') ? e.message.slice(abs.length + 2) : e.message);
      }
    }
    return { file, skipped, report: null };
  }
  const deploymentPaths = new Set(ds.manifest.deployment?.flatMap((d) => d.frames) ?? []);
  const items: PrepareItem[] = images.map((im) => ({
    path: im.path, identity: im.identity, kind: deploymentPaths.has(im.path) ? 'deployment' : 'image',
    ...(im.keypoints ? { keypoints: im.keypoints } : {}),
  }));
  const detector = cfg.preprocess.detector;
  const report = await prepareDataset({
    root: ds.root, items, out: outDir, size, margin: cfg.preprocess.margin, policy: cfg.preprocess.facePolicy,
    detector: await createDetector(detector), cacheDir: join(cacheRoot(cfg), 'crops'),
  });
  for (const e of report.images) {
    if (e.status === 'ok' && e.crop) file.set(e.path, join(outDir, e.crop));
    else skipped.set(e.path, e.reason ?? e.code ?? 'skipped');
  }
  return { file, skipped, report };
}
