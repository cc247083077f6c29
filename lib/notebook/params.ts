/**
 * The parameters cell of a notebook, with papermill's idea for TypeScript: the cell holds one
 * literal of defaults, and a headless run overrides them from the environment without editing the
 * notebook.
 *
 *   const P = nb.params({ experiment: 'experiments/demo.json', smoke: true, epochs: 20 });
 *
 * Overrides, later wins:
 *   1. CLIPFACE_NB_PARAMS   a JSON object, e.g. '{"smoke": false, "epochs": 5}'
 *   2. CLIPFACE_NB_<KEY>    one value per key, KEY = the camelCase name in SCREAMING_SNAKE_CASE
 *                           (identityCounts → CLIPFACE_NB_IDENTITY_COUNTS)
 * A value takes the type of its default (nanoGPT's configurator habit): booleans accept
 * 1/0/true/false/yes/no, numbers must be finite, strings are taken as written, arrays, objects and
 * null defaults parse JSON. A bad value is an error that names the variable. Keys that this
 * notebook does not have are ignored (one environment drives all eight notebooks) and listed.
 */
import { UserError } from '../util/errors.ts';
import { checkUserJson } from '../util/json.ts';

export type ParamValue = string | number | boolean | null | ParamValue[] | { [k: string]: ParamValue };
export type Params = Record<string, ParamValue>;

export const ENV_PREFIX = 'CLIPFACE_NB_';
export const ENV_JSON = `${ENV_PREFIX}PARAMS`;

/** identityCounts → IDENTITY_COUNTS */
export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Coerce `raw` to the type of `def`; `where` names the source in errors. Text (an environment
 * variable) is parsed; a JSON value (`fromJson`) already has a type, which must match.
 */
export function coerce(def: ParamValue, raw: unknown, where: string, fromJson = false): ParamValue {
  const want = kindOf(def);
  if (!fromJson && typeof raw === 'string' && want !== 'string') {
    const s = raw.trim();
    if (want === 'boolean') {
      if (/^(1|true|yes|y|on)$/i.test(s)) return true;
      if (/^(0|false|no|n|off|)$/i.test(s)) return false;
      throw new UserError(`${where}: "${raw}" is not a boolean (1/0/true/false/yes/no)`);
    }
    if (want === 'number') {
      const n = Number(s);
      if (s === '' || !Number.isFinite(n)) throw new UserError(`${where}: "${raw}" is not a number`);
      return n;
    }
    try {
      raw = JSON.parse(s);
    } catch {
      throw new UserError(`${where}: "${raw}" is not JSON (the default is ${want === 'null' ? 'null' : `an ${want}`})`);
    }
    checkUserJson(raw, where);
  }
  if (want === 'null') return raw as ParamValue;
  if (kindOf(raw) !== want) throw new UserError(`${where}: expected ${want === 'array' || want === 'object' ? `an ${want}` : `a ${want}`}, got ${kindOf(raw)} ${JSON.stringify(raw)}`);
  return raw as ParamValue;
}

export interface ResolvedParams<T extends Params> {
  values: Readonly<T>;
  /** key → where its value came from */
  sources: Record<keyof T, 'default' | typeof ENV_JSON | string>;
  /** keys in CLIPFACE_NB_PARAMS that this notebook does not have */
  ignored: string[];
}

/** Resolve `defaults` against an environment (pure; `params` is the notebook-facing wrapper). */
export function resolveParams<T extends Params>(defaults: T, env: Record<string, string | undefined> = process.env): ResolvedParams<T> {
  const values: Params = structuredClone(defaults);
  const sources = Object.fromEntries(Object.keys(defaults).map((k) => [k, 'default'])) as ResolvedParams<T>['sources'];
  const ignored: string[] = [];
  const json = env[ENV_JSON];
  if (json !== undefined && json.trim() !== '') {
    let obj: unknown;
    try {
      obj = JSON.parse(json);
    } catch (e) {
      throw new UserError(`${ENV_JSON}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
    if (kindOf(obj) !== 'object') throw new UserError(`${ENV_JSON}: expected a JSON object, got ${kindOf(obj)}`);
    checkUserJson(obj, ENV_JSON);
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (!Object.hasOwn(defaults, k)) { ignored.push(k); continue; }
      values[k] = coerce(defaults[k]!, v, `${ENV_JSON}.${k}`, true);
      (sources as Record<string, string>)[k] = ENV_JSON;
    }
  }
  for (const k of Object.keys(defaults)) {
    const name = envName(k);
    const raw = env[name];
    if (raw === undefined) continue;
    values[k] = coerce(defaults[k]!, raw, name);
    (sources as Record<string, string>)[k] = name;
  }
  return { values: Object.freeze(values) as Readonly<T>, sources, ignored };
}

/**
 * The notebook's parameters: `defaults` with the environment's overrides applied. Prints one line
 * naming each override (and ignored keys), so an executed notebook records how it was run.
 */
export function params<T extends Params>(defaults: T, env: Record<string, string | undefined> = process.env): Readonly<T> {
  const r = resolveParams(defaults, env);
  const changed = Object.entries(r.sources).filter(([, s]) => s !== 'default').map(([k, s]) => `${k}=${JSON.stringify(r.values[k])} (${s})`);
  if (changed.length) process.stdout.write(`parameters from the environment: ${changed.join(', ')}\n`);
  if (r.ignored.length) process.stdout.write(`${ENV_JSON}: not parameters of this notebook, ignored: ${r.ignored.join(', ')}\n`);
  return r.values;
}
