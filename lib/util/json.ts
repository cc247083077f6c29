/**
 * Checks on JSON a user hands us (experiment configs, `--set`, grids, prompt sets, manifests,
 * registries, notebook parameters) before any of it is used as property names or numbers.
 *
 * - `__proto__`, `constructor` and `prototype` are refused as keys: code that walks a key path
 *   (`--set __proto__.x=1`) or copies keys would otherwise reach Object.prototype, polluting every
 *   object in the process or crashing later with an internal TypeError.
 * - Non-finite numbers are refused: JSON has no Infinity, but `1e400` parses to it and then passes
 *   an "integer" schema check (Infinity % 1 is NaN, which ajv reads as "no fraction"), turning an
 *   epoch count into an endless loop.
 */
import { UserError } from './errors.ts';

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Throws a UserError when one segment of a dotted key path is a forbidden key. */
export function checkKeyPath(path: string, where: string): void {
  const bad = path.split('.').find((k) => FORBIDDEN.has(k));
  if (bad !== undefined) throw new UserError(`${where}: the key "${bad}" (in "${path}") is not allowed (it would reach Object.prototype); rename or remove it`);
}

/**
 * Walks a parsed JSON value; throws a UserError naming `where` and the offending place for the
 * first forbidden key (also as a segment of a dotted key, since grids use "a.b" keys as paths) or
 * non-finite number.
 */
export function checkUserJson(value: unknown, where: string, at = ''): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new UserError(`${where}: ${at || 'the value'} is ${value} (a number too large for a double, e.g. 1e400); use a finite number`);
    return;
  }
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) { value.forEach((v, i) => checkUserJson(v, where, `${at}[${i}]`)); return; }
  for (const [k, v] of Object.entries(value)) {
    const path = at ? `${at}.${k}` : k;
    checkKeyPath(path, where);
    checkUserJson(v, where, path);
  }
}
