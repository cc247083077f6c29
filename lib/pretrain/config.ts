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
  objective: 'clip';
  training: {
    epochs: number; batchPairs: number; lr: number; minLr: number; warmupSteps: number; weightDecay: number;
    betas: [number, number]; eps: number; gradClip: number; maxTokens: number; logitScaleMax: number; shiftPx: number; checkpointEvery: number;
    /** weight of the image–image same-person term (loss.ts photoContrastLoss); 0 = pure CLIP */
    photoPairWeight: number;
  };
  output: { dir: string };
}

export const pretrainSchemaPath = join(repoRoot, 'data-spec', 'pretrain.schema.json');
let validator: ReturnType<Ajv['compile']> | undefined;

export function resolvePretrainConfig(raw: unknown, file: string): PretrainConfig {
  checkUserJson(raw, file);
  validator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(JSON.parse(readFileSync(pretrainSchemaPath, 'utf8')));
  const data = structuredClone(raw);
  if (!validator(data)) {
    const errs = (validator.errors ?? []).map((e) => {
      const where = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
      if (e.keyword === 'additionalProperties') return `${where ? where + '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}: unknown key`;
      return `${where || '(top level)'}: ${e.message}`;
    });
    throw new UserError(`${file}: invalid pretrain config: ${errs.join('; ')}`);
  }
  const cfg = data as PretrainConfig;
  const t = cfg.training;
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
