/**
 * Which CLIP a run uses: a registry id in the cache, a local open_clip folder, or explicit
 * config + weights; when none is given, the shipped teaching CLIP (models/teaching-clip/, a small
 * CLIP pretrained by `clipface pretrain` on synthetic captioned faces), loaded through the same
 * path as real open_clip weights. `model.random: true` asks for a seeded random-init CLIP of a
 * named architecture (a pipeline check), which is also the fallback when weights are missing and
 * `allowRandom` holds. Both stand-ins are loud: every output carries their stamp.
 */
import { noteWeightsFile } from '../util/weights-used.ts';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { loadClipConfig } from '../clip/config.ts';
import { ClipModel } from '../clip/model.ts';
import { randomClipStateDict, RANDOM_INIT_VERSION } from '../clip/random-init.ts';
import { resolveArchConfig, resolveLocalModel } from '../models/registry.ts';
import { UserError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import type { ExperimentConfig } from './experiment-config.ts';
import { RANDOM_STAMP, TEACHING_STAMP } from '../models/stamp.ts';

/** The registry id of the shipped teaching CLIP: the offline default. */
export const TEACHING_CLIP_ID = 'clipface/teaching-clip';

export interface LoadedModel {
  model: ClipModel;
  /** what was loaded, for env.json and the report */
  description: string;
  /** content id of the weights: keys the image-embedding cache */
  weightsId: string;
  random: boolean;
  /** the line every output carries (random init, or the teaching CLIP); absent for real weights */
  stamp?: string;
  /** why the random fallback was used */
  fallbackReason?: string;
}

/** A preset in models/configs/ or a path to an open_clip model config (models/registry.ts). */
export function archConfigPath(arch: string, baseDir: string): string {
  return resolveArchConfig(arch, baseDir, 'model.randomInit.arch');
}

export async function loadExperimentModel(cfg: ExperimentConfig, baseDir: string): Promise<LoadedModel> {
  const m = cfg.model;
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  let files: { configPath: string; weightsPath: string } | undefined;
  let fallbackReason: string | undefined;
  try {
    if (m.random) {
      fallbackReason = 'model.random is true';
    } else if (m.config || m.weights) {
      if (!m.config || !m.weights) throw new UserError('model.config and model.weights go together');
      files = { configPath: rel(m.config), weightsPath: rel(m.weights) };
      if (!existsSync(files.weightsPath)) throw new UserError(`${files.weightsPath}: weights file not found`);
    } else if (m.dir) {
      files = resolveLocalModel(rel(m.dir));
    } else {
      files = resolveLocalModel(m.id ?? TEACHING_CLIP_ID);
    }
  } catch (e) {
    if (!(e instanceof UserError) || !m.allowRandom) throw e;
    fallbackReason = e.message;
  }
  if (files) {
    const model = ClipModel.load(files.configPath, files.weightsPath);
    const teaching = !m.config && !m.weights && !m.dir && (m.id ?? TEACHING_CLIP_ID) === TEACHING_CLIP_ID;
    const description = teaching ? `${TEACHING_CLIP_ID} (${TEACHING_STAMP})` : `${m.id ?? m.dir ?? files.weightsPath}`;
    const weightsId = await sha256File(files.weightsPath);
    noteWeightsFile(files.weightsPath, weightsId);
    return { model, description, weightsId, random: false, ...(teaching ? { stamp: TEACHING_STAMP } : {}) };
  }
  if (!m.allowRandom && !m.random) throw new UserError(`no weights (${fallbackReason}) and model.allowRandom is false`);
  const configPath = archConfigPath(m.randomInit.arch, baseDir);
  const clipCfg = loadClipConfig(configPath);
  const seed = m.randomInit.seed ?? cfg.seed;
  const model = new ClipModel(clipCfg, randomClipStateDict(clipCfg, seed), { config: configPath, weights: `random-init(${m.randomInit.arch}, seed ${seed})` });
  const weightsId = createHash('sha256').update(JSON.stringify({ random: clipCfg, seed, init: RANDOM_INIT_VERSION })).digest('hex');
  return { model, description: `random-init ${m.randomInit.arch} (seed ${seed}): ${RANDOM_STAMP}`, weightsId, random: true, stamp: RANDOM_STAMP, fallbackReason };
}
