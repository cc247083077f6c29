/**
 * The effective options of every arm: `method.*`, `training.loss` and `prompt.names` have no schema
 * defaults (configs written before they existed keep their hash, so `--resume` and grid skipping
 * keep working); they are applied here, and every run records what it used in metrics.json under
 * `method.options`. Each value is the schema's `x-default` annotation for that key
 * (data-spec/experiment.schema.json); test/config-schema.test.ts fails when the two differ, or when
 * a default here has no annotation.
 */
import type { Dataset, Identity } from '../data/types.ts';
import type { ExperimentConfig } from '../services/experiment-config.ts';
import { identityDescriptions } from '../pretrain/describe.ts';
import { UserError } from '../util/errors.ts';

export interface MethodOptions {
  embedder: string;
  registry: string | null;
  gallery: 'mean' | 'nn';
  threshold: 'documented' | 'calibrated' | number;
  head: { epochs: number; lr: number; batchSize: number; weightDecay: number };
  tipAdapter: { alpha: number; beta: number };
  coop: { contextTokens: number; init: string; lr: number; weightDecay: number };
}

export function methodOptions(cfg: ExperimentConfig): MethodOptions {
  const m = cfg.method;
  return {
    embedder: m.embedder ?? 'face-api',
    registry: m.registry ?? null,
    gallery: m.gallery ?? 'mean',
    threshold: m.threshold ?? 'documented',
    // the paper's baselines: "Adam, 100 epochs, same batch size"; torch.optim.Adam's lr 1e-3
    head: { epochs: m.head?.epochs ?? 100, lr: m.head?.lr ?? 1e-3, batchSize: m.head?.batchSize ?? cfg.training.batchSize, weightDecay: m.head?.weightDecay ?? 0 },
    // Tip-Adapter configs/imagenet.yaml init_alpha / init_beta (arXiv 2111.03930; no validation search here)
    tipAdapter: { alpha: m.tipAdapter?.alpha ?? 1.17, beta: m.tipAdapter?.beta ?? 1 },
    // CoOp (arXiv 2109.01134) trainers/coop.py: n_ctx 16, N(0, 0.02) init; configs/trainers/CoOp/rn50.yaml: lr 2e-3, wd 5e-4
    coop: { contextTokens: m.coop?.contextTokens ?? 16, init: m.coop?.init ?? 'random', lr: m.coop?.lr ?? 2e-3, weightDecay: m.coop?.weightDecay ?? 5e-4 },
  };
}

export interface LossOptions { kind: 'ce' | 'arcface' | 'triplet'; margin: number; scale: number | null }

/** training.loss with its defaults: ArcFace m = 0.5 (arXiv 1801.07698), FaceNet's triplet α = 0.2. */
export function lossOptions(cfg: ExperimentConfig): LossOptions {
  const l = cfg.training.loss;
  const kind = l?.kind ?? 'ce';
  return { kind, margin: l?.margin ?? (kind === 'triplet' ? 0.2 : kind === 'arcface' ? 0.5 : 0), scale: l?.scale ?? null };
}

/** "A", "B", ..., "Z", "AA", "AB", ... (spreadsheet column names). */
export function neutralToken(i: number): string {
  let s = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/**
 * What fills {name} in each class's prompt: its display name; "person A", "person B", ...
 * (name-confound control); or the person's traits in words and no name (`description`, synthetic
 * sets only: lib/pretrain/describe.ts), which a CLIP that learnt those words can match zero-shot.
 */
export function classNames(cfg: ExperimentConfig, classes: readonly Identity[], ds?: Pick<Dataset, 'manifest' | 'root'>): string[] {
  const mode = cfg.prompt.names ?? 'real';
  if (mode === 'neutral') return classes.map((_, i) => `person ${neutralToken(i)}`);
  if (mode === 'description') {
    if (!ds) throw new UserError('prompt.names "description" needs the dataset the classes come from');
    const words = identityDescriptions(ds.manifest, ds.root);
    const missing = classes.find((c) => !words.has(c.id));
    if (missing) throw new UserError(`${ds.root}/manifest.json: enrolled identity ${missing.id} is not one the generator drew, so it has no description; use prompt.names "real"`);
    return classes.map((c) => words.get(c.id)!);
  }
  return classes.map((c) => c.name);
}

/** One prompt per class: `prompt.template` with {name} filled by `classNames`. */
export function classPrompts(cfg: ExperimentConfig, classes: readonly Identity[], ds?: Pick<Dataset, 'manifest' | 'root'>): string[] {
  return classNames(cfg, classes, ds).map((n) => cfg.prompt.template.replaceAll('{name}', n));
}
