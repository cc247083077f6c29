/**
 * An ablation grid: one JSON file expanded into experiment runs (`clipface grid <file>`).
 *
 *   {"name": "kshot", "base": "demo.json",                     base experiment, relative to this file
 *    "set": {"training.epochs": 5},                            overrides for every run (key path → JSON value)
 *    "runs": [{"id": "clip", "label": "CLIP", "set": {...}}],  a list of arms (optional)
 *    "product": {"dataset.split.kShot": [1, 2, 4], "seed": [0, 1, 2],
 *                "prompt.template": {"promptSet": "prompts/paper.json"}},   cartesian product (optional)
 *    "resultsDir": "results/grids/kshot"}                      default results/grids/<name>
 *
 * Runs = list × product (list order, then product keys with the last varying fastest). Each run is
 * the base experiment with `set`, its list entry's `set` and its product values applied, in that
 * order, and gets its own results folder `<resultsDir>/runs/<run id>/`. Sharding takes every n-th
 * run (round robin), so `--shard i/n` for i = 0..n−1 partitions the grid exactly.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { configHash, loadExperiment, type ExperimentConfig } from '../experiment/config.ts';
import { repoRoot } from '../util/paths.ts';
import { UserError } from '../util/errors.ts';
import { checkUserJson } from '../util/json.ts';
import { loadPromptSet } from './prompts.ts';

type Json = unknown;
export interface GridListEntry { id: string; label?: string; set?: Record<string, Json> }
export interface GridSpec {
  name: string;
  description?: string;
  base: string;
  set?: Record<string, Json>;
  runs?: GridListEntry[];
  product?: Record<string, Json[] | { promptSet: string }>;
  resultsDir?: string;
}

export interface GridRun {
  /** 0-based position in the expanded grid */
  index: number;
  /** unique, filesystem-safe: list id and product values, e.g. "clip__kShot=4__seed=1" */
  id: string;
  /** for tables: the list entry's label plus the product values */
  label: string;
  /** the list entry's id ('' without a list) */
  arm: string;
  /** product key → the value as shown in tables (a prompt's set/template id, else the value) */
  axes: Record<string, string | number | boolean | null>;
  /** `key=JSON` overrides, applied in order to the base experiment */
  sets: string[];
}

export interface Grid { file: string; dir: string; spec: GridSpec; base: string; resultsDir: string; runs: GridRun[] }

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function check(cond: unknown, file: string, why: string): asserts cond {
  if (!cond) throw new UserError(`${file}: invalid grid: ${why}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const short = (key: string) => key.split('.').pop()!;
const safe = (s: string) => s.replace(/[^A-Za-z0-9._=-]+/g, '-').replace(/^-+|-+$/g, '');

export function loadGrid(file: string, extraSets: string[] = []): Grid {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `not valid JSON (${(e as Error).message.split('\n')[0]})`}`);
  }
  check(isObj(raw), file, 'expected a JSON object');
  checkUserJson(raw, file);
  for (const k of Object.keys(raw)) check(['$schema', 'name', 'description', 'base', 'set', 'runs', 'product', 'resultsDir'].includes(k), file, `${k}: unknown key`);
  const spec = raw as unknown as GridSpec;
  check(typeof spec.name === 'string' && NAME.test(spec.name), file, 'name: a short name ([A-Za-z0-9._-])');
  check(typeof spec.base === 'string', file, 'base: the experiment file the runs start from');
  check(spec.set === undefined || isObj(spec.set), file, 'set: an object of key path → value');
  check(spec.runs === undefined || (Array.isArray(spec.runs) && spec.runs.length > 0), file, 'runs: a non-empty list');
  check(spec.product === undefined || isObj(spec.product), file, 'product: an object of key path → list of values');
  const dir = dirname(resolve(file));
  const base = resolve(dir, spec.base);
  const axes = Object.entries(spec.product ?? {}).map(([key, v]) => {
    if (isObj(v) && typeof v.promptSet === 'string') {
      check(key === 'prompt.template', file, `product.${key}: a promptSet expands prompt.template only`);
      const ps = loadPromptSet(resolve(dir, v.promptSet));
      return { key, values: ps.templates.map((t) => ({ value: t.template as Json, shown: `${ps.id}@${ps.version}:${t.id}` as string | number | boolean | null })) };
    }
    check(Array.isArray(v) && v.length > 0, file, `product.${key}: a non-empty list of values, or {"promptSet": "<file>"}`);
    return { key, values: v.map((x) => ({ value: x, shown: (x === null || ['string', 'number', 'boolean'].includes(typeof x) ? x : JSON.stringify(x)) as string | number | boolean | null })) };
  });
  const list: GridListEntry[] = spec.runs ?? [{ id: '' }];
  list.forEach((r, i) => {
    check(isObj(r) && typeof r.id === 'string' && (spec.runs === undefined || NAME.test(r.id)), file, `runs[${i}].id: a short name`);
    check(r.set === undefined || isObj(r.set), file, `runs[${i}].set: an object of key path → value`);
  });
  const toSets = (o: Record<string, Json> | undefined) => Object.entries(o ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  let combos: { key: string; value: Json; shown: string | number | boolean | null }[][] = [[]];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => [...c, { key: a.key, ...v }]));
  const runs: GridRun[] = [];
  for (const r of list) {
    for (const c of combos) {
      const id = safe([r.id, ...c.map((x) => `${short(x.key)}=${x.shown}`)].filter(Boolean).join('__')) || 'base';
      const label = [r.label ?? r.id, ...c.map((x) => `${short(x.key)}=${x.shown}`)].filter(Boolean).join(', ') || spec.name;
      runs.push({
        index: runs.length, id, label, arm: r.id, axes: Object.fromEntries(c.map((x) => [x.key, x.shown])),
        sets: [...toSets(spec.set), ...toSets(r.set), ...c.map((x) => `${x.key}=${JSON.stringify(x.value)}`), ...extraSets],
      });
    }
  }
  const dup = runs.find((r, i) => runs.findIndex((q) => q.id === r.id) !== i);
  check(!dup, file, `two runs would share the id "${dup?.id}"; give the list entries distinct ids`);
  const rd = spec.resultsDir ?? `results/grids/${spec.name}`;
  return { file, dir, spec, base, resultsDir: isAbsolute(rd) ? rd : resolve(repoRoot, rd), runs };
}

/** The folder a run's results go in; repository-relative when inside it (so the config hash survives a checkout move). */
export function runResultsDir(g: Grid, run: GridRun): string {
  const abs = resolve(g.resultsDir, 'runs', run.id);
  const rel = relative(repoRoot, abs);
  return rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
}

/** Everything `runExperiment(g.base, {sets})` needs for this run: its overrides plus its own name and folder. */
export function runSets(g: Grid, run: GridRun): string[] {
  const name = safe(run.id).replaceAll('=', '-').slice(0, 64).replace(/^[^A-Za-z0-9]+/, '') || 'run';
  return [...run.sets, `name=${JSON.stringify(name)}`, `output.resultsDir=${JSON.stringify(runResultsDir(g, run))}`];
}

/** The resolved config of a run (validated), and its hash: what a finished run folder must match. */
export function runConfig(g: Grid, run: GridRun): { config: ExperimentConfig; hash: string } {
  const { config } = loadExperiment(g.base, runSets(g, run));
  return { config, hash: configHash(config) };
}

/** "i/n" → { i, n } with 0 ≤ i < n. */
export function parseShard(s: string): { i: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const i = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(i >= 0 && i < n)) throw new UserError(`--shard ${s}: expected i/n with 0 ≤ i < n, e.g. --shard 0/4 (Slurm: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)`);
  return { i, n };
}

/** The runs of shard i of n: every n-th run starting at i. */
export function shardRuns(runs: readonly GridRun[], shard?: { i: number; n: number }): GridRun[] {
  return shard ? runs.filter((r) => r.index % shard.n === shard.i) : [...runs];
}
