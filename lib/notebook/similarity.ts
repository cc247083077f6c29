/**
 * Notebook 7 (paper §VI-B): how similar CLIP's features are, before and after the text-tower
 * finetune of a finished run.
 *
 * - image × image: the run's held-out image embeddings (features.json). The image tower is frozen,
 *   so this matrix is the same before and after finetuning; only the text side moves.
 * - prompt × prompt: the class prompts' text embeddings from the initial text tower (the run's
 *   model before training) and from the finetuned one (checkpoint/text.safetensors).
 * - image × prompt: the held-out images against every class prompt, before and after: the
 *   diagonal blocks are what the finetune is meant to raise.
 * - for a synthetic set, the same two matrices with each person described in words instead of
 *   named (lib/pretrain/describe.ts), from the zero-shot text tower: what the pretrained towers
 *   already know without a finetune, the reference the name prompts start far from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { tf, initTf } from '../runtime/tf.ts';
import { l2normalize } from '../clip/model.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { loadTextTower } from '../services/checkpoint.ts';
import type { ExperimentConfig } from '../experiment/config.ts';
import { repoRoot } from '../util/paths.ts';
import { loadExperimentModel } from '../services/model-source.ts';
import { readRunMetrics } from '../report/read-metrics.ts';
import { cosineMatrix, crossSimilarityFigure, crossSimilarityStats, similarityBlocks, similarityHeatmapFigure } from '../figures/similarity.ts';
import { sideBySideHeatmaps } from '../figures/side-by-side.ts';
import { datasetPath } from '../services/stages.ts';
import { describable, identityDescriptions } from '../pretrain/describe.ts';
import type { Manifest } from '../data/types.ts';
import type { Figure } from '../figures/types.ts';

export interface RunSimilarity {
  /** class ids, in class order */
  classes: string[];
  /** the class prompts as trained */
  prompts: string[];
  /** identity of each held-out image */
  imageLabels: string[];
  /** image × image cosines (frozen tower: unchanged by the finetune) */
  imageImage: number[][];
  promptPrompt: { before: number[][]; after: number[][] };
  imagePrompt: { before: number[][]; after: number[][] };
  /** false when the run has no checkpoint (epochs = 0): `after` equals `before` */
  finetuned: boolean;
  /** each class described in words in the run's template, zero-shot text tower; null unless the dataset is synthetic */
  described: null | { prompts: string[]; promptPrompt: number[][]; imagePrompt: number[][] };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };

/** rows(a) · rows(b)ᵀ for unit rows. */
function crossCosines(a: number[][], b: number[][]): number[][] {
  return a.map((x) => b.map((y) => dot(x, y)));
}

function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new Error(`${path}: not found (is this a finished run folder?)`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Every similarity notebook 7 shows, computed from a finished run folder. */
export async function runSimilarity(runDir: string): Promise<RunSimilarity> {
  const cfg = readJson<ExperimentConfig>(join(runDir, 'config.json'));
  const env = readJson<{ experimentFile?: string }>(join(runDir, 'env.json'));
  const { metrics, problem } = readRunMetrics(runDir);
  if (!metrics) throw new Error(problem);
  const prompts = metrics.classes.flatMap((c) => (c.prompt === null ? [] : [c.prompt]));
  if (prompts.length !== metrics.classes.length) throw new Error(`${runDir}: method ${metrics.method.kind} has no prompts; the image × prompt similarity needs a CLIP run`);
  const feats = readJson<{ labels: string[]; dim: number; features: number[] }>(join(runDir, 'features.json'));
  const file = env.experimentFile ?? join(repoRoot, 'experiments', 'x.json');
  const baseDir = dirname(isAbsolute(file) ? file : resolve(repoRoot, file));

  const root = datasetPath(cfg, baseDir);
  // a folder-per-person dataset has no manifest, and only a synthetic one can describe its people
  const manifest = existsSync(join(root, 'manifest.json')) ? readJson<Manifest>(join(root, 'manifest.json')) : null;
  const words = manifest && describable(manifest) ? identityDescriptions(manifest, root) : null;
  const describedPrompts = words ? metrics.classes.map((c) => cfg.prompt.template.replaceAll('{name}', words.get(c.id) ?? c.id)) : null;

  await initTf({ quiet: true });
  const { model } = await loadExperimentModel(cfg, baseDir);
  try {
    const tok = ClipTokenizer.load();
    const encode = (texts: string[]) => tf.tidy(() => l2normalize(model.encodeText(tok.tokenize(texts, model.cfg.text.contextLength).tokens)).arraySync() as number[][]);
    const before = encode(prompts);
    const zeroShotWords = describedPrompts ? encode(describedPrompts) : null;
    const ckpt = join(runDir, 'checkpoint');
    const finetuned = existsSync(join(ckpt, 'text.safetensors'));
    if (finetuned) model.text.loadStateDict(loadTextTower(ckpt));
    const after = finetuned ? encode(prompts) : before;
    const { dim } = feats;
    const images = feats.labels.map((_, i) => {
      const v = feats.features.slice(i * dim, (i + 1) * dim);
      const n = Math.sqrt(dot(v, v)) || 1;
      return v.map((x) => x / n);
    });
    return {
      classes: metrics.classes.map((c) => c.id), prompts, imageLabels: feats.labels,
      imageImage: cosineMatrix(feats.features, dim),
      promptPrompt: { before: crossCosines(before, before), after: crossCosines(after, after) },
      imagePrompt: { before: crossCosines(images, before), after: crossCosines(images, after) },
      finetuned,
      described: describedPrompts && zeroShotWords
        ? { prompts: describedPrompts, promptPrompt: crossCosines(zeroShotWords, zeroShotWords), imagePrompt: crossCosines(images, zeroShotWords) }
        : null,
    };
  } finally {
    model.dispose();
  }
}

/** The headline numbers of `runSimilarity` as table rows (and the described prompts, zero-shot, when there are some). */
export function similaritySummary(s: RunSimilarity): Record<string, string>[] {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const blocks = similarityBlocks({ labels: s.imageLabels, matrix: s.imageImage });
  const offDiag = (m: number[][]) => { let t = 0, n = 0; m.forEach((r, i) => r.forEach((v, j) => { if (i !== j) { t += v; n++; } })); return n ? t / n : NaN; };
  const ip = (m: number[][]) => crossSimilarityStats({ rowLabels: s.imageLabels, colLabels: s.classes, matrix: m });
  const b = ip(s.imagePrompt.before), a = ip(s.imagePrompt.after);
  const w = s.described ? ip(s.described.imagePrompt) : null;
  const top1 = (m: number[][]) => m.filter((r, i) => s.classes[r.indexOf(Math.max(...r))] === s.imageLabels[i]).length / m.length;
  const words = (x: () => number): Record<string, string> => (s.described ? { 'described, zero-shot': f(x()) } : {});
  return [
    { measure: 'image × image, same identity (mean cosine)', before: f(blocks.within), after: f(blocks.within), ...words(() => blocks.within), note: 'image tower frozen: unchanged' },
    { measure: 'image × image, different identities', before: f(blocks.across), after: f(blocks.across), ...words(() => blocks.across), note: 'paper §VI-B: ~0.8 for real CLIP on faces' },
    { measure: 'prompt × prompt, different people', before: f(offDiag(s.promptPrompt.before)), after: f(offDiag(s.promptPrompt.after)), ...words(() => offDiag(s.described!.promptPrompt)), note: 'the finetune pushes the prompts apart' },
    { measure: 'image × own prompt', before: f(b.matched), after: f(a.matched), ...words(() => w!.matched), note: '' },
    { measure: 'image × other prompts', before: f(b.other), after: f(a.other), ...words(() => w!.other), note: '' },
    { measure: 'margin (own − other)', before: f(b.matched - b.other), after: f(a.matched - a.other), ...words(() => w!.matched - w!.other), note: s.finetuned ? '' : 'no checkpoint: the run did not train' },
    { measure: 'photos whose closest prompt is their own', before: f(top1(s.imagePrompt.before)), after: f(top1(s.imagePrompt.after)), ...words(() => top1(s.described!.imagePrompt)), note: `zero-shot before; chance ${f(1 / s.classes.length)}` },
  ];
}

/**
 * Three figures: image × image; prompt × prompt and image × prompt, each before and after the
 * finetune side by side on one colour scale (and the described prompts, zero-shot, as a third panel).
 */
export function similarityFigures(s: RunSimilarity): Record<'imageImage' | 'promptPrompt' | 'imagePrompt', Figure> {
  const after = s.finetuned ? 'after finetuning' : 'after (no finetune in this run)';
  const prompts = (matrix: number[][], when: string) => crossSimilarityFigure({ rowLabels: s.classes, colLabels: s.classes, matrix }, { title: when, rowTitle: 'class prompt' });
  const images = (matrix: number[][], when: string) => crossSimilarityFigure({ rowLabels: s.imageLabels, colLabels: s.classes, matrix }, { title: when });
  const zs = 'described in words, zero-shot';
  return {
    imageImage: similarityHeatmapFigure({ labels: s.imageLabels, matrix: s.imageImage }, { title: 'Image × image cosine (frozen tower: the same before and after)' }),
    promptPrompt: sideBySideHeatmaps([
      prompts(s.promptPrompt.before, 'named, before finetuning'), prompts(s.promptPrompt.after, `named, ${after}`),
      ...(s.described ? [prompts(s.described.promptPrompt, zs)] : []),
    ], { title: 'Prompt × prompt cosine', panelWidth: 420 }),
    imagePrompt: sideBySideHeatmaps([
      images(s.imagePrompt.before, 'named, before finetuning'), images(s.imagePrompt.after, `named, ${after}`),
      ...(s.described ? [images(s.described.imagePrompt, zs)] : []),
    ], { title: 'Held-out image × class prompt cosine' }),
  };
}
