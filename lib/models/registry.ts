/**
 * The model registry: `models/registry.json` (validated against data-spec/registry.schema.json)
 * maps ids such as `timm/resnet50_clip.openai` to files, sha256, licence and preprocessing, in the
 * spirit of open_clip's pretrained.py (preprocessing belongs to the checkpoint). Downloaded files
 * live in `cacheDir()/<owner>--<name>/`, with a small hash record written by fetch / verify.
 * Nothing here touches the network.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';
import { checkUserJson } from '../util/json.ts';
import { sha256FileSync } from '../util/hash.ts';
import { repoRoot } from '../util/paths.ts';

export interface ModelFile {
  name: string;
  url?: string;
  /** lowercase hex, or null when not pinned yet */
  sha256: string | null;
  bytes?: number;
}

export interface Preprocessing {
  image_size: number;
  mean: [number, number, number];
  std: [number, number, number];
  input_range: [number, number];
  channel_order: 'RGB' | 'BGR';
  interpolation: 'bicubic' | 'bilinear' | 'nearest' | 'area';
  resize_mode: 'shortest' | 'longest' | 'squash' | 'aligned';
  note?: string;
}

export interface ModelEntry {
  id: string;
  architecture: string;
  family: 'clip' | 'arcface' | 'vggface';
  /** shipped: committed under models/<name>/ (the teaching CLIP) */
  source: 'huggingface' | 'user-supplied' | 'shipped';
  format: 'open_clip' | 'onnx';
  files: ModelFile[];
  licence: { name: string; url: string; note?: string };
  preprocessing: Preprocessing;
  embedDim: number;
  paper: { title: string; authors: string; year: number; venue?: string; url: string };
  howToGet?: string;
  note?: string;
}

export const registryPath = join(repoRoot, 'models', 'registry.json');
export const schemaPath = join(repoRoot, 'data-spec', 'registry.schema.json');

/** The HF open_clip layout: the native model folder format. */
export const OPEN_CLIP_CONFIG = 'open_clip_config.json';
export const OPEN_CLIP_WEIGHTS = 'open_clip_model.safetensors';

let loaded: ModelEntry[] | undefined;

/** Reads and validates a registry file (unknown keys, bad hashes and duplicate ids are errors). */
export function loadRegistry(path = registryPath): ModelEntry[] {
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path}: ${(e as Error).message}`);
  }
  checkUserJson(data, path);
  if (!validate(data)) {
    const first = validate.errors!.map((e) => `${e.instancePath || '/'} ${e.message}`).slice(0, 3);
    throw new UserError(`${path} does not match ${schemaPath}: ${first.join('; ')}`);
  }
  const models = (data as { models: ModelEntry[] }).models;
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.id)) throw new UserError(`${path}: duplicate model id "${m.id}"`);
    seen.add(m.id);
  }
  return models;
}

export function listModels(): ModelEntry[] {
  loaded ??= loadRegistry();
  return loaded;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The ids nearest to `id` (substring matches first, then by edit distance). */
export function closeIds(id: string, ids: string[], n = 3): string[] {
  const q = id.toLowerCase();
  const score = (x: string) => (x.toLowerCase().includes(q) ? -1 : distance(q, x.toLowerCase()));
  return [...ids].sort((a, b) => score(a) - score(b)).slice(0, n);
}

export function getModel(id: string): ModelEntry {
  const models = listModels();
  const m = models.find((x) => x.id === id);
  if (m) return m;
  const near = closeIds(id, models.map((x) => x.id));
  throw new UserError(`unknown model "${id}"; closest ids: ${near.join(', ')} (see "clipface models list")`);
}

/** Where downloaded weights live: $CLIPFACE_CACHE, else <repo>/models/cache (git-ignored). */
export function cacheDir(): string {
  const env = process.env.CLIPFACE_CACHE;
  return env ? resolve(env) : join(repoRoot, 'models', 'cache');
}

/**
 * The folder of one model: `timm/resnet50_clip.openai` -> `<cache>/timm--resnet50_clip.openai`;
 * a shipped model (`clipface/teaching-clip`) lives in the repository, `models/teaching-clip/`.
 */
export function modelDir(id: string): string {
  const entry = listModels().find((m) => m.id === id);
  if (entry?.source === 'shipped') return join(repoRoot, 'models', id.slice(id.indexOf('/') + 1));
  return join(cacheDir(), id.replaceAll('/', '--'));
}

export interface LocalModel {
  dir: string;
  configPath: string;
  weightsPath: string;
  /** the registry entry, when resolved from an id */
  entry?: ModelEntry;
}

function openClipFiles(dir: string): LocalModel {
  return { dir, configPath: join(dir, OPEN_CLIP_CONFIG), weightsPath: join(dir, OPEN_CLIP_WEIGHTS) };
}

/**
 * A registry id present in the cache, or a local folder in the HF open_clip layout, to its
 * config and weights paths. Folders win over ids when both could match.
 */
export function resolveLocalModel(idOrDir: string): LocalModel {
  if (existsSync(idOrDir) && statSync(idOrDir).isDirectory()) {
    const local = openClipFiles(resolve(idOrDir));
    const missing = [local.configPath, local.weightsPath].filter((p) => !existsSync(p));
    if (missing.length) {
      throw new UserError(`${local.dir} is not an open_clip model folder: missing ${missing.map((p) => p.slice(local.dir.length + 1)).join(' and ')}`);
    }
    return local;
  }
  const entry = getModel(idOrDir);
  if (entry.format !== 'open_clip') {
    throw new UserError(`${entry.id} is an ${entry.format} baseline, not an open_clip model; ${entry.howToGet ?? ''}`.trim());
  }
  const local = { ...openClipFiles(modelDir(entry.id)), entry };
  if (!existsSync(local.configPath) || !existsSync(local.weightsPath)) {
    throw new UserError(`${entry.id} is not in the cache (${local.dir}): run "clipface models fetch ${entry.id}", or pass --config/--weights`);
  }
  return local;
}

/** What fetch / verify last computed for each file, keyed by file name. */
export type HashRecord = Record<string, { sha256: string; bytes: number; mtimeMs: number }>;
const RECORD = '.clipface-hashes.json';

export function readHashRecord(dir: string): HashRecord {
  try {
    return JSON.parse(readFileSync(join(dir, RECORD), 'utf8')) as HashRecord;
  } catch {
    return {};
  }
}

/** Remembers `sha256` for `dir/name` together with its size and mtime (so edits invalidate it). */
export function recordHash(dir: string, name: string, sha256: string): void {
  const st = statSync(join(dir, name));
  const rec = readHashRecord(dir);
  rec[name] = { sha256, bytes: st.size, mtimeMs: st.mtimeMs };
  writeJsonAtomic(join(dir, RECORD), rec);
}

export type FileState = 'missing' | 'verified' | 'unpinned' | 'mismatch' | 'unchecked';

/** The state of one cached file from the hash record alone (no hashing: cheap enough for `list`). */
export function fileState(dir: string, file: ModelFile): FileState {
  const path = join(dir, file.name);
  if (!existsSync(path)) return 'missing';
  const st = statSync(path);
  const r = readHashRecord(dir)[file.name];
  if (!r || r.bytes !== st.size || r.mtimeMs !== st.mtimeMs) return 'unchecked';
  if (!file.sha256) return 'unpinned';
  return r.sha256 === file.sha256 ? 'verified' : 'mismatch';
}

/** Architecture presets: every open_clip model config in models/configs/ (open_clip's list_models()). */
export function listArchitectures(): string[] {
  return readdirSync(join(repoRoot, 'models', 'configs')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/** A preset name (models/configs/<arch>.json) or a path (relative to `baseDir`) to an open_clip model config. */
export function resolveArchConfig(arch: string, baseDir: string, what = 'arch'): string {
  const preset = join(repoRoot, 'models', 'configs', `${arch}.json`);
  if (listArchitectures().includes(arch)) return preset;
  const p = isAbsolute(arch) ? arch : resolve(baseDir, arch);
  if (existsSync(p)) return p;
  throw new UserError(`${what} "${arch}": neither a preset (${listArchitectures().join(', ')}) nor a config file`);
}

/**
 * Pin a model this project ships (models/<name>/, an open_clip folder) in models/registry.json:
 * its config and weights' sha256 and sizes, and the registry fields every shipped entry has
 * (preprocessing from its open_clip_config.json). Replaces the entry with the same id. Used by
 * scripts/ship-teaching-*.ts.
 */
export function pinShippedModel(dir: string, entry: { id: string; family: string; architecture: string; licenceNote: string; preprocessNote: string; paper: Record<string, unknown>; note: string }, path = registryPath): { name: string; sha256: string; bytes: number }[] {
  const registry = JSON.parse(readFileSync(path, 'utf8')) as { models: Record<string, unknown>[] };
  const files = [OPEN_CLIP_CONFIG, OPEN_CLIP_WEIGHTS].map((f) => ({ name: f, sha256: sha256FileSync(join(dir, f)), bytes: statSync(join(dir, f)).size }));
  const cfg = JSON.parse(readFileSync(join(dir, OPEN_CLIP_CONFIG), 'utf8'));
  const row = {
    id: entry.id, architecture: entry.architecture, family: entry.family, source: 'shipped', format: 'open_clip', files,
    licence: { name: 'MIT', url: 'https://opensource.org/license/mit', note: entry.licenceNote },
    preprocessing: {
      image_size: cfg.model_cfg.vision_cfg.image_size, mean: cfg.preprocess_cfg.mean, std: cfg.preprocess_cfg.std, input_range: [0, 1],
      channel_order: 'RGB', interpolation: 'bicubic', resize_mode: 'shortest', note: entry.preprocessNote,
    },
    embedDim: cfg.model_cfg.embed_dim, paper: entry.paper, note: entry.note,
  };
  const i = registry.models.findIndex((m) => m.id === entry.id);
  if (i >= 0) registry.models[i] = row; else registry.models.push(row);
  writeJsonAtomic(path, registry);
  return files;
}
