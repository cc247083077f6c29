/**
 * Which CLIP a run uses: a registry id in the cache, a local open_clip folder, explicit
 * config + weights, or, when none is given or found, a seeded random-init CLIP of a named
 * architecture. The random case is loud: `random` is set and every output is stamped.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadClipConfig } from '../clip/config.ts';
import { ClipModel } from '../clip/model.ts';
import { randomClipStateDict, RANDOM_INIT_VERSION } from '../clip/random-init.ts';
import { resolveLocalModel } from '../models/registry.ts';
import { UserError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import type { ExperimentConfig } from './config.ts';
import { repoRoot } from '../util/paths.ts';

export const RANDOM_STAMP = 'random weights: pipeline check, not a result';

export interface LoadedModel {
  model: ClipModel;
  /** what was loaded, for env.json and the report */
  description: string;
  /** content id of the weights: keys the image-embedding cache */
  weightsId: string;
  random: boolean;
  /** why the random fallback was used */
  fallbackReason?: string;
}

/** A preset name (models/configs/<arch>.json) or a path to an open_clip model config. */
export function archConfigPath(arch: string, baseDir: string): string {
  const preset = join(repoRoot, 'models', 'configs', `${arch}.json`);
  if (existsSync(preset)) return preset;
  const p = isAbsolute(arch) ? arch : resolve(baseDir, arch);
  if (existsSync(p)) return p;
  throw new UserError(`model.randomInit.arch "${arch}": neither a preset (tiny-rn, tiny-vit, RN50, ViT-B-32) nor a config file`);
}

export async function loadExperimentModel(cfg: ExperimentConfig, baseDir: string): Promise<LoadedModel> {
  const m = cfg.model;
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  let files: { configPath: string; weightsPath: string } | undefined;
  let fallbackReason: string | undefined;
  try {
    if (m.config || m.weights) {
      if (!m.config || !m.weights) throw new UserError('model.config and model.weights go together');
      files = { configPath: rel(m.config), weightsPath: rel(m.weights) };
      if (!existsSync(files.weightsPath)) throw new UserError(`${files.weightsPath}: weights file not found`);
    } else if (m.dir) {
      files = resolveLocalModel(rel(m.dir));
    } else if (m.id) {
      files = resolveLocalModel(m.id);
    } else {
      fallbackReason = 'no model.id, model.dir or model.weights given';
    }
  } catch (e) {
    if (!(e instanceof UserError) || !m.allowRandom) throw e;
    fallbackReason = e.message;
  }
  if (files) {
    const model = ClipModel.load(files.configPath, files.weightsPath);
    return { model, description: `${m.id ?? m.dir ?? files.weightsPath}`, weightsId: await sha256File(files.weightsPath), random: false };
  }
  if (!m.allowRandom) throw new UserError(`no weights (${fallbackReason}) and model.allowRandom is false`);
  const configPath = archConfigPath(m.randomInit.arch, baseDir);
  const clipCfg = loadClipConfig(configPath);
  const seed = m.randomInit.seed ?? cfg.seed;
  const model = new ClipModel(clipCfg, randomClipStateDict(clipCfg, seed), { config: configPath, weights: `random-init(${m.randomInit.arch}, seed ${seed})` });
  const weightsId = createHash('sha256').update(JSON.stringify({ random: clipCfg, seed, init: RANDOM_INIT_VERSION })).digest('hex');
  return { model, description: `random-init ${m.randomInit.arch} (seed ${seed}): ${RANDOM_STAMP}`, weightsId, random: true, fallbackReason };
}
