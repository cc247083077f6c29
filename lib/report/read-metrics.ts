/**
 * Reading a run's metrics.json as a RunMetrics: checked against data-spec/run-metrics.schema.json
 * (ajv, all errors), so every reader (the report, the grid summary, the notebooks) gets the type it
 * is written against or one line saying why not, never a half-typed object.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { repoRoot } from '../util/paths.ts';
import type { RunMetrics } from './run-metrics.ts';

export const runMetricsSchemaPath = join(repoRoot, 'data-spec', 'run-metrics.schema.json');

let validator: ValidateFunction | undefined;

/** Why `data` is not a RunMetrics, one line per schema error (JSON pointer and message); [] when it is. */
export function runMetricsProblems(data: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(runMetricsSchemaPath, 'utf8')));
  if (validator(data)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '(top level)'}: ${e.message}${e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : ''}`);
}

/**
 * Files written before the two accuracies got names that cannot be confused (issue 12) carry
 * `train.accuracy` and `tableI.trainingAccuracy`; they are read under the new names, nothing else
 * is changed.
 */
export function renameOldAccuracies(data: unknown): unknown {
  if (!data || typeof data !== 'object') return data;
  const m = data as { train?: Record<string, unknown>; tableI?: Record<string, unknown> | null };
  const rename = (o: Record<string, unknown> | null | undefined, from: string, to: string) => {
    if (o && typeof o === 'object' && from in o && !(to in o)) {
      o[to] = o[from];
      delete o[from];
    }
  };
  rename(m.train, 'accuracy', 'trainSplitAccuracy');
  rename(m.tableI, 'trainingAccuracy', 'heldOutAccuracy');
  return data;
}

export interface ReadMetrics {
  metrics: RunMetrics | null;
  /** why metrics is null: one line naming the file and what to do */
  problem?: string;
}

/** `<dir>/metrics.json` as a RunMetrics, or null with the reason (absent, not JSON, not the schema). */
export function readRunMetrics(dir: string): ReadMetrics {
  const path = join(dir, 'metrics.json');
  if (!existsSync(path)) return { metrics: null, problem: `${path}: not found (the run has not been evaluated yet)` };
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return { metrics: null, problem: `${path}: not valid JSON (${(e as Error).message.split('\n')[0]}); run the experiment again` };
  }
  const problems = runMetricsProblems(renameOldAccuracies(data));
  if (problems.length) {
    return { metrics: null, problem: `${path}: does not match data-spec/run-metrics.schema.json (${problems[0]}${problems.length > 1 ? `, and ${problems.length - 1} more` : ''}); it was written by another version of clipface: run the experiment again` };
  }
  return { metrics: data as RunMetrics };
}
