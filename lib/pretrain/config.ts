/**
 * PretrainConfig: the one input of `clipface pretrain`, validated against
 * data-spec/pretrain.schema.json (unknown keys are errors, defaults filled in from the schema) and
 * saved as config.json beside the outputs. Paths are resolved against the config file's folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { UserError } from '../util/errors.ts';
import { checkUserJson } from '../util/json.ts';
import { repoRoot } from '../util/paths.ts';
import type { CorpusOptions } from './corpus.ts';

export interface PretrainConfig {
  $schema?: string;
  name: string;
  description: string;
  seed: number;
  corpus: CorpusOptions & { dir: string };
  model: { arch: string };
  /** clip: both towers, contrastive (loss.ts); arcface: the image tower on identity labels (arcface.ts) */
  objective: 'clip' | 'arcface';
  /** objective arcface only; filled with the schema's defaults when the objective asks for it */
  arcface?: ArcFaceOptions;
  training: {
    epochs: number; batchPairs: number; lr: number; minLr: number; warmupSteps: number; weightDecay: number;
    betas: [number, number]; eps: number; gradClip: number; maxTokens: number; logitScaleMax: number; shiftPx: number; checkpointEvery: number;
    /** weight of the image–image same-person term (loss.ts photoContrastLoss); 0 = pure CLIP */
    photoPairWeight: number;
    /** chance that a caption naming a man's facial hair brings its counterfactual as a hard negative (batches.ts); absent = 0 */
    facialHairNegatives?: number;
    /** weight of the facial-hair head (loss.ts facialHairHeadLoss); absent = 0 */
    facialHairHead?: number;
  };
  output: { dir: string };
}

export interface ArcFaceOptions { scale: number; margin: number; marginWarmupSteps: number; weightStd: number }

export const pretrainSchemaPath = join(repoRoot, 'data-spec', 'pretrain.schema.json');
let validator: ReturnType<Ajv['compile']> | undefined;

export function resolvePretrainConfig(raw: unknown, file: string): PretrainConfig {
  checkUserJson(raw, file);
  validator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(JSON.parse(readFileSync(pretrainSchemaPath, 'utf8')));
  const data = structuredClone(raw) as Record<string, unknown>;
  // the arcface block has no schema default (clip configs keep their hash): fill it when asked for
  if (data.objective === 'arcface' && data.arcface === undefined) data.arcface = {};
  if (!validator(data)) {
    const errs = (validator.errors ?? []).map((e) => {
      const where = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
      if (e.keyword === 'additionalProperties') return `${where ? where + '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}: unknown key`;
      return `${where || '(top level)'}: ${e.message}`;
    });
    throw new UserError(`${file}: invalid pretrain config: ${errs.join('; ')}`);
  }
  const cfg = data as unknown as PretrainConfig;
  const t = cfg.training;
  if (cfg.arcface && cfg.objective !== 'arcface') throw new UserError(`${file}: "arcface" options are given but objective is "${cfg.objective}"; set objective "arcface" or remove the block`);
  if (t.minLr > t.lr) throw new UserError(`${file}: training.minLr ${t.minLr} is above training.lr ${t.lr}; set minLr ≤ lr`);
  return cfg;
}

export function loadPretrainConfig(path: string): PretrainConfig {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(path, 'utf8')); } catch (e) {
    throw new UserError(`${path}: cannot read the pretrain config (${(e as Error).message}); pass a JSON file such as experiments/teaching-clip.pretrain.json`);
  }
  return resolvePretrainConfig(raw, path);
}
