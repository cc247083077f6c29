/**
 * ExperimentConfig: the one input of a run, validated against data-spec/experiment.schema.json
 * (unknown keys are errors; defaults are filled in from the schema), overridable with
 * `--set a.b=value`, and saved beside the results.
 *
 * The schema is the source; services/experiment-config.ts restates it for the compiler, and
 * test/config-schema.test.ts fails when they differ.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { UserError } from '../util/errors.ts';
import { checkKeyPath, checkUserJson } from '../util/json.ts';
import { repoRoot } from '../util/paths.ts';

/** Re-exported for lib/experiment/run.ts; everything else imports it from lib/util/paths.ts. */
export { repoRoot };
export const experimentSchemaPath = join(repoRoot, 'data-spec', 'experiment.schema.json');

/** The type lives below services/ and methods/, which read it; loading and checking stay here. */
export type { ExperimentConfig } from '../services/experiment-config.ts';
import type { ExperimentConfig } from '../services/experiment-config.ts';


let validator: ReturnType<Ajv['compile']> | undefined;
function validate(data: unknown): string[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    validator = ajv.compile(JSON.parse(readFileSync(experimentSchemaPath, 'utf8')));
  }
  if (validator(data)) return [];
  return (validator.errors ?? []).map((e) => {
    const where = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
    if (e.keyword === 'additionalProperties') return `${where === '(top level)' ? '' : where + '.'}${(e.params as { additionalProperty: string }).additionalProperty}: unknown key`;
    return `${where}: ${e.message}`;
  });
}

/** Apply `a.b.c=value` overrides; the value is parsed as JSON when it can be, else kept as a string. */
export function applyOverrides(raw: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UserError(`--set "${s}": expected key.path=value, e.g. --set training.epochs=3`);
    const path = s.slice(0, eq).split('.');
    if (path.some((k) => !k)) throw new UserError(`--set "${s}": an empty key in the path; expected key.path=value, e.g. --set training.epochs=3`);
    checkKeyPath(s.slice(0, eq), `--set "${s}"`);
    const text = s.slice(eq + 1);
    let value: unknown = text;
    try { value = JSON.parse(text); } catch { /* a bare string */ }
    checkUserJson(value, `--set "${s}"`);
    let node = out as Record<string, unknown>;
    for (const key of path.slice(0, -1)) {
      if (node[key] === undefined || node[key] === null) node[key] = {};
      if (typeof node[key] !== 'object') throw new UserError(`--set ${s}: ${key} is not an object`);
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }
  return out;
}

/** Validate, fill defaults, resolve the inherited seeds. `file` names the source in errors. */
export function resolveConfig(raw: unknown, file: string): ExperimentConfig {
  checkUserJson(raw, file);
  const data = structuredClone(raw);
  const errors = validate(data);
  if (errors.length) throw new UserError(`${file}: invalid experiment config: ${errors.join('; ')}`);
  const cfg = data as ExperimentConfig;
  // cross-field rules a JSON Schema cannot state
  const t = cfg.training;
  if (t.minLr > t.lr) throw new UserError(`${file}: training.minLr ${t.minLr} is above training.lr ${t.lr}, so "annealing" would raise the rate; set minLr ≤ lr`);
  cfg.dataset.split.seed ??= cfg.seed;
  cfg.training.seed ??= cfg.seed;
  cfg.model.randomInit.seed ??= cfg.seed;
  return cfg;
}

export function loadExperiment(path: string, sets: string[] = []): { config: ExperimentConfig; baseDir: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `not valid JSON (${(e as Error).message.split('\n')[0]})`;
    throw new UserError(`${path}: ${why}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError(`${path}: an experiment config is a JSON object`);
  checkUserJson(raw, path);
  return { config: resolveConfig(applyOverrides(raw as Record<string, unknown>, sets), path), baseDir: dirname(resolve(path)) };
}

/** Short stable hash of the resolved config (key order independent). */
export function configHash(cfg: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canon(cfg))).digest('hex').slice(0, 8);
}
