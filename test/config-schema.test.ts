/**
 * The experiment config is described in three places; data-spec/experiment.schema.json is the
 * source (it validates every run and fills its defaults), and the other two are checked against it:
 * - `ExperimentConfig` (lib/services/experiment-config.ts): same keys, optionality, kinds and enums
 *   (test/helpers/schema-vs-type.ts);
 * - the defaults lib/methods/options.ts applies to keys the schema leaves absent (so older configs
 *   keep their hash): each is the schema's `x-default` annotation, and an absent key behaves
 *   exactly as that value would.
 * Each check is also run on a drifted copy of the schema, to show that it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { repoRoot } from '../lib/util/paths.ts';
import { applyOverrides, experimentSchemaPath, resolveConfig, type ExperimentConfig } from '../lib/experiment/config.ts';
import { classNames, lossOptions, methodOptions } from '../lib/methods/options.ts';
import type { Identity } from '../lib/data/types.ts';
import { compareShapes, schemaShape, typeShape } from './helpers/schema-vs-type.ts';

type Json = Record<string, any>;
const SCHEMA: Json = JSON.parse(readFileSync(experimentSchemaPath, 'utf8'));
const TYPE = typeShape(join(repoRoot, 'lib', 'services', 'experiment-config.ts'), 'ExperimentConfig', repoRoot);

function drift(schema: Json): string[] {
  const problems: string[] = [];
  const shape = schemaShape(schema, problems);
  return [...problems, ...compareShapes(TYPE, shape)];
}

/** The schema node of a config key path ('method.head.epochs'), looking through `type` unions. */
function node(schema: Json, path: string): Json {
  return path.split('.').reduce((n, k) => n.properties[k], schema);
}

test('ExperimentConfig and experiment.schema.json have the same keys, optionality, kinds and enums', () => {
  assert.deepEqual(drift(SCHEMA), []);
});

test('the type/schema comparison fails on drift', () => {
  const cases: [string, (s: Json) => void, RegExp][] = [
    ['a key only in the schema', (s) => { node(s, 'training').properties.momentum = { type: 'number', default: 0.9 }; }, /^training\.momentum: in the schema, not in the type$/],
    ['a key only in the type', (s) => { delete node(s, 'evaluation').properties.bootstrap; }, /^evaluation\.bootstrap: in the type, not in the schema$/],
    ['a default the type does not trust', (s) => { node(s, 'method.gallery').default = 'mean'; }, /^method\.gallery: optional in the type, but the schema requires it or gives it a default$/],
    ['a default removed', (s) => { delete node(s, 'training.lr').default; }, /^training\.lr: required in the type, but the schema neither/],
    ['an enum value', (s) => { node(s, 'evaluation.aggregation').enum.push('median'); }, /^evaluation\.aggregation: the type's values are "majority", "mean-prob", the schema's enum "majority", "mean-prob", "median"$/],
    ['a kind', (s) => { node(s, 'model.id').type = 'string'; }, /^model\.id: the type allows "null", "string", the schema "string"$/],
    ['a default inside oneOf', (s) => {
      const synth = node(s, 'dataset.synth');
      const { properties, additionalProperties } = synth;
      delete synth.properties; delete synth.additionalProperties;
      synth.type = undefined;
      synth.oneOf = [{ type: 'null' }, { type: 'object', additionalProperties, properties }];
    }, /^dataset\.synth\.seed: a default inside oneOf\/anyOf, which ajv never applies/],
  ];
  for (const [what, edit, expected] of cases) {
    const s = structuredClone(SCHEMA);
    edit(s);
    const found = drift(s);
    assert.ok(found.some((p) => expected.test(p)), `${what}: expected ${expected}, got ${JSON.stringify(found)}`);
  }
});

test('dataset.synth: a partial object gets the schema defaults (they were inside a oneOf, where ajv ignores them)', () => {
  const cfg = resolveConfig({ name: 'x', dataset: { path: 'd', synth: { seed: 3 } } }, 'x.json');
  assert.deepEqual(cfg.dataset.synth, { seed: 3, identities: 10, unknown: 2, perIdentity: 30, size: 256 });
  assert.equal(resolveConfig({ name: 'x', dataset: { path: 'd' } }, 'x.json').dataset.synth, null);
  assert.throws(() => resolveConfig({ name: 'x', dataset: { path: 'd', synth: { seeds: 3 } } }, 'x.json'), /dataset\.synth\.seeds: unknown key/);
});

// ---------------------------------------------------------------- x-default ↔ lib/methods/options.ts

const BASE = { name: 'x', dataset: { path: 'd' } };
const PEOPLE: Identity[] = [{ id: 'ann', name: 'Ann', role: 'known' }, { id: 'bo', name: 'Bo', role: 'known' }];

/**
 * The code that applies each x-default: `root` is a config key path, `effective` what the code
 * makes of the config there; `mirrored` when its result has the keys of the config below `root`
 * (then every leaf it defaults must have an x-default); `bases` are --set lists to check it under.
 */
const APPLIERS: { root: string; effective: (c: ExperimentConfig) => unknown; mirrored: boolean; bases: string[][] }[] = [
  { root: 'method', effective: methodOptions, mirrored: true, bases: [[], ['training.batchSize=7']] },
  { root: 'training.loss', effective: lossOptions, mirrored: true, bases: [[], ...['ce', 'arcface', 'triplet'].map((k) => [`training.loss={"kind":"${k}"}`])] },
  { root: 'prompt.names', effective: (c) => classNames(c, PEOPLE), mirrored: false, bases: [[]] },
];

/** config key path → x-default, for every annotated property. */
function xDefaults(schema: Json, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, p] of Object.entries<Json>(schema.properties ?? {})) {
    const at = path ? `${path}.${k}` : k;
    if ('x-default' in p) out.set(at, p['x-default']);
    xDefaults(p, at, out);
  }
  return out;
}

const resolveSets = (sets: string[]) => resolveConfig(applyOverrides(structuredClone(BASE), sets), 'x.json');
const getAt = (o: unknown, path: string): unknown => path.split('.').reduce<any>((v, k) => (v && typeof v === 'object' ? v[k] : undefined), o);

function leaves(v: unknown, path = ''): [string, unknown][] {
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.entries(v).flatMap(([k, x]) => leaves(x, path ? `${path}.${k}` : k));
  return [[path, v]];
}

/** Where the x-defaults and the code that applies them disagree. */
function defaultDrift(schema: Json): string[] {
  const xd = xDefaults(schema);
  const out: string[] = [];
  const under = (p: string, root: string) => p === root || p.startsWith(`${root}.`);
  for (const p of xd.keys()) if (!APPLIERS.some((a) => under(p, a.root))) out.push(`${p}: an x-default that no code here applies; add the code that does to APPLIERS`);
  /** the x-default that covers `p`: its own, or a key of an enclosing object's */
  const covering = (p: string): { value: unknown } | undefined => {
    for (let a = p; a; a = a.includes('.') ? a.slice(0, a.lastIndexOf('.')) : '') {
      if (!xd.has(a)) continue;
      const v = a === p ? xd.get(a) : getAt(xd.get(a), p.slice(a.length + 1));
      if (v !== undefined) return { value: v };
    }
    return undefined;
  };
  for (const { root, effective, mirrored, bases } of APPLIERS) {
    for (const base of bases) {
      const given = applyOverrides(structuredClone(BASE), base);
      const absent = effective(resolveSets(base));
      for (const [p, d] of xd) {
        if (!under(p, root) || getAt(given, p) !== undefined) continue;
        // enclosing objects absent in `base` are first set to their own x-default (training.loss = {kind: ce})
        const enclosing = [...xd.keys()].filter((a) => under(a, root) && a !== p && p.startsWith(`${a}.`) && getAt(given, a) === undefined).sort((a, b) => a.length - b.length);
        let withDefault: unknown;
        try {
          withDefault = effective(resolveSets([...base, ...enclosing.map((a) => `${a}=${JSON.stringify(xd.get(a))}`), `${p}=${JSON.stringify(d)}`]));
        } catch (e) {
          out.push(`${p}: the x-default ${JSON.stringify(d)} is not a valid value (${(e as Error).message})`);
          continue;
        }
        if (!isDeepStrictEqual(absent, withDefault)) out.push(`${p}${base.length ? ` (with ${base.join(' ')})` : ''}: absent gives ${JSON.stringify(absent)}, the x-default ${JSON.stringify(d)} gives ${JSON.stringify(withDefault)}`);
      }
      if (!mirrored) continue;
      for (const [leaf, value] of leaves(absent)) {
        const p = `${root}.${leaf}`;
        const d = covering(p);
        if (!d) out.push(`${p}: lib/methods/options.ts gives it a default, the schema no x-default`);
        else if (base.length === 0 && d.value !== null && !isDeepStrictEqual(value, d.value)) out.push(`${p}: lib/methods/options.ts uses ${JSON.stringify(value)}, the schema's x-default is ${JSON.stringify(d.value)}`);
      }
    }
  }
  return out;
}

test('every x-default is what lib/methods/options.ts does when the key is absent, and every default there has one', () => {
  assert.ok(xDefaults(SCHEMA).size >= 20, 'the annotations are read');
  assert.deepEqual(defaultDrift(SCHEMA), []);
});

test('the x-default check fails on drift', () => {
  const cases: [string, (s: Json) => void, RegExp][] = [
    ['a changed value', (s) => { node(s, 'method.head.epochs')['x-default'] = 50; }, /^method\.head\.epochs: absent gives .*"epochs":100.*, the x-default 50 gives/],
    ['a missing annotation', (s) => { delete node(s, 'method.coop.lr')['x-default']; }, /^method\.coop\.lr: lib\/methods\/options\.ts gives it a default, the schema no x-default$/],
    ['an invalid value', (s) => { node(s, 'method.gallery')['x-default'] = 'median'; }, /^method\.gallery: the x-default "median" is not a valid value/],
    ['a null that is not what absent means', (s) => { node(s, 'training.loss.scale')['x-default'] = 30; }, /^training\.loss\.scale: absent gives/],
    ['an annotation nothing applies', (s) => { node(s, 'evaluation.bootstrap')['x-default'] = 10; }, /^evaluation\.bootstrap: an x-default that no code here applies/],
  ];
  for (const [what, edit, expected] of cases) {
    const s = structuredClone(SCHEMA);
    edit(s);
    const found = defaultDrift(s);
    assert.ok(found.some((p) => expected.test(p)), `${what}: expected ${expected}, got ${JSON.stringify(found)}`);
  }
});
