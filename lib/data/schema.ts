/**
 * Validation of a manifest against `data-spec/dataset.schema.json` with ajv (all errors, each
 * reported with its JSON pointer, e.g. `manifest.json#/images/3/view`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsNs from 'ajv-formats';
import { repoRoot } from '../util/paths.ts';
import type { Manifest } from './types.ts';

export const datasetSchemaPath = join(repoRoot, 'data-spec', 'dataset.schema.json');

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictTuples: false });
    addFormatsNs.default(ajv);
    compiled = ajv.compile(JSON.parse(readFileSync(datasetSchemaPath, 'utf8')));
  }
  return compiled;
}

/** One readable line per ajv error. */
function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': return `unknown key "${String(p.additionalProperty)}" (allowed keys are in data-spec/dataset.schema.json)`;
    case 'enum': return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'required': return `missing required key "${String(p.missingProperty)}"`;
    case 'const': return `must be ${JSON.stringify(p.allowedValue)}`;
    default: return e.message ?? e.keyword;
  }
}

export interface SchemaError {
  /** JSON pointer into the manifest ('' = the root) */
  pointer: string;
  message: string;
}

/** Every schema violation of `data` (an empty list when it is a valid manifest). */
export function schemaErrors(data: unknown): SchemaError[] {
  const validate = validator();
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => ({ pointer: e.instancePath, message: describe(e) }));
}

export function isManifest(data: unknown): data is Manifest {
  return schemaErrors(data).length === 0;
}
