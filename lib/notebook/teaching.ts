/**
 * Notebook 9: the teaching CLIP itself. Its pretraining as recorded (pretrain-report.json, and a
 * run's train-log.csv when one is at hand), what it knows zero-shot about people it never saw
 * (attributes from text prompts; who is who from a description, and not from a name), and, through
 * notebook 7's helpers, what the paper's finetune changes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initTf, tf } from '../runtime/tf.ts';
import { encodePng } from '../runtime/image.ts';
import { l2normalize, type ClipModel } from '../clip/model.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { loadExperiment } from '../experiment/config.ts';
import { loadExperimentModel } from '../services/model-source.ts';
import { ATTRIBUTE_PROBES } from '../pretrain/captions.ts';
import { attributeAccuracy, encodeImages, probeClassifier, type AttributeResult } from '../pretrain/evaluate.ts';
import { identifyWithPrompts, type PromptIdentification } from '../pretrain/identify.ts';
import { makeUnseenPeople, unseenPixels, type UnseenPeople } from '../pretrain/unseen.ts';
import { neutralToken } from '../methods/options.ts';
import { crossSimilarityFigure } from '../figures/similarity.ts';
import { sideBySideHeatmaps } from '../figures/side-by-side.ts';
import { parsePretrainLog, pretrainEpochsFigure, pretrainStepsFigure, type PretrainEpoch } from '../figures/pretrain-curves.ts';
import type { BarGroup } from '../figures/bars.ts';
import type { ImagePanel } from '../figures/image-panels.ts';
import type { Figure } from '../figures/types.ts';
import { UserError } from '../util/errors.ts';
import { normalizeRows } from '../util/rows.ts';
import { repoPath } from './runs.ts';

/** The parts of pretrain-report.json notebook 9 reads (lib/cli/commands/pretrain.ts writes it). */
export interface PretrainReport {
  name: string;
  steps: number;
  trainSeconds: number;
  pairsPerSecMedian: number;
  loss: { first: number; last: number };
  logitScale: number;
  corpus: { photos: number; identities: number };
  config: { training: { epochs: number; batchPairs: number; lr: number } };
  epochs: PretrainEpoch[];
}

export function loadPretrainReport(modelDir: string): PretrainReport {
  const file = join(repoPath(modelDir), 'pretrain-report.json');
  if (!existsSync(file)) throw new UserError(`${file}: not found; pass the folder of a pretrained model (models/teaching-clip, or a run's results/pretrain/<name>/model)`);
  return JSON.parse(readFileSync(file, 'utf8')) as PretrainReport;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** What the report says about the pretraining itself, as table rows. */
export function pretrainRows(r: PretrainReport): { measure: string; value: string }[] {
  const last = r.epochs.at(-1);
  return [
    { measure: 'corpus', value: `${r.corpus.photos.toLocaleString('en')} captioned photos of ${r.corpus.identities.toLocaleString('en')} synthetic people (train, held-out and near-twin sets)` },
    { measure: 'training', value: `${r.steps} steps = ${r.config.training.epochs} epochs of ${r.config.training.batchPairs} photo pairs, lr ${r.config.training.lr}` },
    { measure: 'time', value: `${(r.trainSeconds / 60).toFixed(1)} min, median ${r.pairsPerSecMedian.toFixed(0)} pairs/s` },
    { measure: 'loss, first → last step', value: `${r.loss.first.toFixed(3)} → ${r.loss.last.toFixed(3)}` },
    { measure: 'logit scale at the end', value: r.logitScale.toFixed(2) },
    ...(last ? [
      { measure: 'held-out people: verification AUC', value: last.heldout.auc.toFixed(4) },
      { measure: 'near twins against each other: AUC', value: `${last.hard.twinsOnly.auc.toFixed(4)} (0.5 = cannot tell them apart)` },
    ] : []),
  ];
}

/** The per-epoch figure, and the per-step one when `trainLog` (a run's train-log.csv) exists. */
export function pretrainFigures(r: PretrainReport, trainLog?: string): { epochs: Figure; steps: Figure | null; stepsNote: string } {
  const file = trainLog ? repoPath(trainLog) : '';
  const log = file && existsSync(file) ? parsePretrainLog(readFileSync(file, 'utf8')) : null;
  return {
    epochs: pretrainEpochsFigure(r.epochs),
    steps: log?.length ? pretrainStepsFigure(log) : null,
    stepsNote: log?.length ? '' : `no per-step log at ${file || '(none given)'}: the shipped model keeps only the per-epoch report; \`clipface pretrain\` writes train-log.csv beside its model`,
  };
}

export interface UnseenStudy {
  people: UnseenPeople;
  attributes: AttributeResult[];
  /** by what each prompt says: real names, neutral labels, the person's description */
  identification: Record<'names' | 'neutral' | 'description', PromptIdentification & { prompts: string[] }>;
  model: string;
}

const IDENTIFY_PROMPTS = {
  names: (p: UnseenPeople['people'][number]) => `This is the image of a person named ${p.name}`,
  neutral: (_: unknown, i: number) => `This is the image of a person named person ${neutralToken(i)}`,
  description: (p: UnseenPeople['people'][number]) => p.description,
};

function textFeatures(model: ClipModel, tok: ClipTokenizer, prompts: string[]): Float32Array {
  return tf.tidy(() => l2normalize(model.encodeText(tok.tokenize(prompts, model.cfg.text.contextLength).tokens)).dataSync() as Float32Array);
}

/**
 * People the experiment's model never saw (lib/pretrain/unseen.ts), photographed and encoded; the
 * zero-shot attribute probes of pretraining (captions.ts) on them; and who is who from one prompt
 * per person: their name in the paper's template, a neutral label, or their description.
 */
export async function unseenStudy(o: { experiment: string; seed: number; people: number; photos: number }): Promise<UnseenStudy> {
  await initTf({ quiet: true });
  const { config, baseDir } = loadExperiment(repoPath(o.experiment), []);
  const loaded = await loadExperimentModel(config, baseDir);
  const { model } = loaded;
  try {
    // photographed at the model's input size, with the experiment's crop margin (the demo set's alignment)
    const people = await makeUnseenPeople({ seed: o.seed, people: o.people, photos: o.photos, cropSize: model.cfg.vision.imageSize, margin: config.preprocess.margin });
    const d = model.cfg.embedDim, pre = model.cfg.preprocess;
    const feats = normalizeRows(encodeImages(model, unseenPixels(people, pre.mean, pre.std), people.photos.length), d);
    const tok = ClipTokenizer.load();
    const truth = people.photos.map((p) => ({ traits: people.people[p.person]!.traits, facts: p.facts }));
    const attributes = ATTRIBUTE_PROBES.map((probe) => attributeAccuracy(feats, d, truth, probe, probeClassifier(model, tok, probe)));
    const labels = people.photos.map((p) => p.person);
    const scale = Math.exp(model.logitScale);
    const identify = (mode: keyof typeof IDENTIFY_PROMPTS) => {
      const prompts = people.people.map((p, i) => IDENTIFY_PROMPTS[mode](p, i));
      return { ...identifyWithPrompts(feats, labels, textFeatures(model, tok, prompts), d, scale), prompts };
    };
    return { people, attributes, identification: { names: identify('names'), neutral: identify('neutral'), description: identify('description') }, model: loaded.description };
  } finally {
    model.dispose();
  }
}

/** A few of the unseen people (first photo each), captioned with their name and description. */
export async function unseenPanels(s: UnseenStudy, count = 6): Promise<ImagePanel[]> {
  const { people: u } = s;
  const size = u.cropSize, per = size * size * 3;
  const first = u.people.slice(0, count).map((_, person) => u.photos.findIndex((p) => p.person === person));
  return Promise.all(first.map(async (k, person) => {
    const png = await encodePng({ width: size, height: size, data: u.crops.subarray(k * per, (k + 1) * per), source: `unseen ${person}` });
    const p = u.people[person]!;
    return { src: `data:image/png;base64,${png.toString('base64')}`, width: size, height: size, caption: `${p.name}: ${p.description}` };
  }));
}

/** Zero-shot attribute accuracy beside chance and the majority class, as table rows and bars. */
export function attributeRows(s: UnseenStudy): Record<string, string | number>[] {
  return s.attributes.map((a) => ({ attribute: a.name, photos: a.n, accuracy: pct(a.accuracy), chance: pct(a.chance), 'majority class': pct(a.majority), labels: a.labels.join(' / ') }));
}

export function attributeBars(s: UnseenStudy): BarGroup[] {
  return s.attributes.map((a) => ({ name: a.name, values: { 'zero-shot accuracy': a.accuracy, chance: a.chance, 'majority class': a.majority } }));
}

/** Who is who from one prompt per person: accuracy against chance, and the paper's 0.8 confidence test. */
export function identificationRows(s: UnseenStudy): Record<string, string>[] {
  const what = { names: 'name, in the paper\'s template', neutral: 'neutral label ("person A", …)', description: 'description, no name' };
  return (Object.keys(what) as (keyof typeof what)[]).map((k) => {
    const r = s.identification[k];
    return {
      prompt: what[k], example: r.prompts[0]!, 'top-1 accuracy': pct(r.accuracy), chance: pct(r.chance),
      'mean top probability': r.meanTopProbability.toFixed(3), [`photos at ≥ ${r.threshold}`]: pct(r.accepted),
    };
  });
}

/** Photo × prompt cosines of the unseen people, by name and by description, on one colour scale. */
export function identificationFigure(s: UnseenStudy): Figure {
  const ids = s.people.people.map((p) => p.id);
  const rows = s.people.photos.map((p) => ids[p.person]!);
  const panel = (k: 'names' | 'description', title: string) => crossSimilarityFigure({ rowLabels: rows, colLabels: ids, matrix: s.identification[k].cosines }, { title, colTitle: 'prompt of person' });
  return sideBySideHeatmaps([panel('names', 'named, zero-shot'), panel('description', 'described, zero-shot')], { title: `People never seen: photo × prompt cosine (${ids.length} people)` });
}
