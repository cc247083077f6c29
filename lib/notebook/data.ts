/**
 * Notebook 2's steps (data and preprocessing) as functions: dataset and split summaries as table
 * rows, images with their ground-truth and detected keypoints as figure panels, a preprocessing
 * pass on a subset with its contact sheet and failures.
 */
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { resolveImagePath } from '../data/dataset.ts';
import { VIEWS, type Dataset, type ImageEntry } from '../data/types.ts';
import type { Split } from '../data/split.ts';
import { loadExperiment, type ExperimentConfig } from '../experiment/config.ts';
import { repoRoot } from '../util/paths.ts';
import { loadOrSynth, splitFor } from '../services/stages.ts';
import { createDetector, pickFace } from '../preprocess/detector.ts';
import { prepareDataset, type PrepareReport } from '../preprocess/prepare.ts';
import type { DetectionEval } from '../preprocess/evaluate-detection.ts';
import { itemsFromDataset } from '../preprocess/prepare-items.ts';
import { decodeImage } from '../runtime/image.ts';
import type { ImagePanel } from '../figures/image-panels.ts';
import { repoPath } from './runs.ts';

type Row = Record<string, string | number | boolean | null>;

/** An experiment's dataset (generated first when the config says so and it is missing) and its split. */
export async function experimentDataset(file: string): Promise<{ cfg: ExperimentConfig; ds: Dataset; split: Split }> {
  const { config, baseDir } = loadExperiment(repoPath(file));
  const ds = await loadOrSynth(config, baseDir, (s) => process.stdout.write(`${s}\n`));
  return { cfg: config, ds, split: splitFor(config, ds) };
}

/** One row per identity: role, images per view, deployment frames. */
export function identityRows(ds: Dataset): Row[] {
  const frames = new Set((ds.manifest.deployment ?? []).flatMap((d) => d.frames));
  return ds.manifest.identities.map((p) => {
    const mine = ds.manifest.images.filter((im) => im.identity === p.id);
    const photos = mine.filter((im) => !frames.has(im.path));
    const views = Object.fromEntries(VIEWS.map((v) => [v, photos.filter((im) => im.view === v).length]).filter(([, n]) => n));
    return { id: p.id, name: p.name, role: p.role, images: photos.length, ...views, deploymentFrames: mine.length - photos.length };
  });
}

/** Totals: identities by role, images, deployment sessions, loader problems. */
export function datasetTotals(ds: Dataset): Row[] {
  const m = ds.manifest;
  const dep = m.deployment ?? [];
  const rows: Row[] = [
    { measure: 'dataset', value: `${m.name} (${ds.source})` },
    { measure: 'enrolled (known) identities', value: m.identities.filter((p) => p.role === 'known').length },
    { measure: 'unknown identities (never trained on)', value: m.identities.filter((p) => p.role === 'unknown').length },
    { measure: 'images (deployment frames included)', value: m.images.length },
    { measure: 'images with ground-truth keypoints', value: m.images.filter((im) => im.keypoints).length },
    { measure: 'deployment subjects (known / unknown)', value: `${dep.length} (${dep.filter((d) => d.known).length} / ${dep.filter((d) => !d.known).length})` },
    { measure: 'loader problems (errors / warnings)', value: `${ds.problems.filter((p) => p.severity === 'error').length} / ${ds.problems.filter((p) => p.severity === 'warning').length}` },
  ];
  if (m.generator) rows.push({ measure: 'generator', value: `${m.generator.name} v${m.generator.version}${m.generator.seed === undefined ? '' : `, seed ${m.generator.seed}`}` });
  return rows;
}

/** Per identity: images in train / test / unknown-probe / deployment. */
export function splitRows(ds: Dataset, split: Split): Row[] {
  const count = (list: ImageEntry[], id: string) => list.filter((e) => e.identity === id).length;
  return ds.manifest.identities.map((p) => ({
    id: p.id, role: p.role, train: count(split.train, p.id), test: count(split.test, p.id),
    unknownProbes: count(split.unknown, p.id), deployment: count(split.deployment, p.id),
  }));
}

/** An image file as a data: URI (JPEG and PNG kept as they are). */
export function dataUri(path: string): string {
  const ext = extname(path).toLowerCase();
  const mime = ext === '.png' ? 'image/png' : ext === '.webp' ? 'image/webp' : 'image/jpeg';
  return `data:${mime};base64,${readFileSync(path).toString('base64')}`;
}

/** `count` images spread over the dataset: every view of the first identities, in manifest order. */
export function sampleEntries(ds: Dataset, count: number): ImageEntry[] {
  const frames = new Set((ds.manifest.deployment ?? []).flatMap((d) => d.frames));
  const out: ImageEntry[] = [];
  const seen = new Set<string>();
  for (const im of ds.manifest.images) {
    const key = `${im.identity}/${im.view}`;
    if (frames.has(im.path) || seen.has(key)) continue;
    seen.add(key);
    out.push(im);
    if (out.length >= count) break;
  }
  return out;
}

/** Each entry as a panel with its ground truth and what each detector found (largest face). */
export async function detectionPanels(ds: Dataset, entries: readonly ImageEntry[], detectors: readonly string[]): Promise<ImagePanel[]> {
  const dets = [];
  for (const spec of detectors) dets.push({ spec, det: await createDetector(spec) });
  try {
    const panels: ImagePanel[] = [];
    for (const e of entries) {
      const file = resolveImagePath(ds, e.path);
      const img = await decodeImage(file);
      const found: NonNullable<ImagePanel['detections']>[number][] = [];
      const missed: string[] = [];
      for (const { spec, det } of dets) {
        const pick = pickFace(await det.detect(img), 'largest');
        if ('reason' in pick) missed.push(spec);
        else found.push({ detector: spec, box: pick.box, keypoints5: pick.keypoints5, score: pick.score });
      }
      panels.push({
        src: dataUri(file), width: img.width, height: img.height, truth: e.keypoints, detections: found,
        caption: `${e.path}${missed.length ? ` · missed by ${missed.join(', ')}` : ''}`,
      });
    }
    return panels;
  } finally {
    for (const { det } of dets) await det.dispose?.();
  }
}

export interface PrepareSubsetOptions {
  detector: string;
  /** only the first n identities of the manifest (default: all) */
  identities?: number;
  /** then every k-th of their images (1 = all) */
  every?: number;
  /** output folder (prepare-report.json, crops, contact sheet) */
  out: string;
  size?: number;
  margin?: number;
}

/** The preprocessing stage (detect → 5 points → aligned crop) on a subset of the images, with its contact sheet. */
export async function prepareSubset(ds: Dataset, o: PrepareSubsetOptions): Promise<PrepareReport> {
  const every = Math.max(1, o.every ?? 1);
  const ids = new Set(ds.manifest.identities.slice(0, o.identities ?? ds.manifest.identities.length).map((p) => p.id));
  const items = itemsFromDataset(ds).filter((it) => it.identity !== undefined && ids.has(it.identity)).filter((_, i) => i % every === 0);
  const detector = await createDetector(o.detector);
  try {
    return await prepareDataset({
      root: ds.root, items, out: o.out, detector, size: o.size ?? 224, margin: o.margin,
      cacheDir: join(repoRoot, '.cache', 'crops'), progress: false,
    });
  } finally {
    await detector.dispose?.();
  }
}

/**
 * The contact sheet's per-identity PNG grids (crops with warped keypoints) as panels, in the order
 * of `<out>/contact-sheet.html` (the sheet just written; older PNGs in the folder are ignored).
 */
export async function contactSheetPanels(out: string, limit = 4): Promise<ImagePanel[]> {
  const html = readFileSync(join(out, 'contact-sheet.html'), 'utf8');
  const files = [...html.matchAll(/<img src="(contact-sheet\/[^"]+\.png)"/g)].map((m) => m[1]!).slice(0, limit);
  const panels: ImagePanel[] = [];
  for (const f of files) {
    const img = await decodeImage(join(out, f));
    panels.push({ src: dataUri(join(out, f)), width: img.width, height: img.height, caption: f.replace(/^contact-sheet\/|\.png$/g, '') });
  }
  return panels;
}

/** Preprocessing summary and one row per skipped image (the failures to look at). */
export function prepareRows(report: PrepareReport): { summary: Row[]; skipped: Row[] } {
  const s = report.summary;
  const skipped = report.images.filter((e) => e.status !== 'ok').map((e) => ({ path: e.path, identity: e.identity ?? '', code: e.code ?? '', reason: e.reason ?? '' }));
  return {
    summary: [
      { measure: 'detector', value: report.detector },
      { measure: 'images', value: s.total },
      { measure: 'aligned crops', value: s.ok },
      { measure: 'skipped', value: s.skipped },
      { measure: 'skipped by reason', value: Object.entries(s.byCode).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none' },
      { measure: 'from the crop cache', value: s.cached },
      { measure: 'images / s', value: s.imagesPerSecond },
    ],
    skipped: skipped.length ? skipped : [{ path: '(none)', identity: '', code: '', reason: 'every image was aligned' }],
  };
}

/** evaluateDetection's result, one row per detector. */
export function detectionRows(r: DetectionEval): Row[] {
  const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : 'n/a');
  return r.results.map((e) => ({
    detector: e.detector, images: e.images, detected: `${pct(e.detectionRate)} (${e.detected})`, 'right face': pct(e.rightFaceRate),
    'NME median': e.nme.median, 'NME mean': e.nme.mean, 'NME < 0.1': pct(e.nme.under10),
    'eyes / nose / mouth medians': e.nme.perPointMedian.map((v) => v.toFixed(3)).join(' / '), 'images / s': e.imagesPerSecond,
  }));
}
