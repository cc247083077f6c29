/**
 * Reliability, config side (issue 13 items 5, 6, 11): keys that reach Object.prototype, numbers
 * that are not finite or not bounded, and cross-field values that cannot make sense are refused
 * with one line naming the file, wherever user JSON or `--set` is read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides, loadExperiment, resolveConfig } from '../../lib/experiment/config.ts';
import { loadGrid } from '../../lib/grid/spec.ts';
import { loadPromptSet } from '../../lib/grid/prompts.ts';
import { inspectDataset } from '../../lib/data/dataset.ts';
import { loadRegistry } from '../../lib/models/registry.ts';
import { resolveParams } from '../../lib/notebook/params.ts';
import { UserError } from '../../lib/util/errors.ts';
import { repoRoot } from '../helpers/golden.ts';
import { assertUserError, clipface } from './cli.ts';

const work = mkdtempSync(join(tmpdir(), 'clipface-rel-config-'));
const base = { name: 'x', dataset: { path: 'd' } };
const userError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);
const clean = () => assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');

function file(name: string, text: string): string {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
}

for (const key of ['__proto__', 'constructor', 'prototype']) {
  test(`--set ${key}.polluted=1 is refused and pollutes nothing`, () => {
    assert.throws(() => applyOverrides(structuredClone(base), [`${key}.polluted=1`]), userError(new RegExp(`--set "${key}\\.polluted=1": the key "${key}"`)));
    assert.throws(() => applyOverrides(structuredClone(base), [`training.${key}.polluted=1`]), userError(/is not allowed/));
    clean();
  });
}

test('--set with a forbidden key inside its JSON value, or an empty path segment', () => {
  assert.throws(() => applyOverrides(structuredClone(base), ['training={"__proto__":{"polluted":1}}']), userError(/training=.*"__proto__"/));
  assert.throws(() => applyOverrides(structuredClone(base), ['training..epochs=1']), userError(/empty key/));
  clean();
});

test('an experiment file with a __proto__ key names the file', () => {
  const p = file('proto.json', '{"name": "x", "dataset": {"path": "d"}, "training": {"__proto__": {"epochs": 2}}}');
  assert.throws(() => loadExperiment(p), userError(/proto\.json: the key "__proto__" \(in "training\.__proto__"\)/));
  clean();
});

test('a grid whose set, runs or product use a forbidden key path is refused', () => {
  const exp = file('base.json', JSON.stringify(base));
  for (const [i, body] of [
    { set: { '__proto__.polluted': 1 } },
    { runs: [{ id: 'a', set: { 'constructor.prototype.polluted': 1 } }] },
    { product: { 'prototype.x': [1, 2] } },
  ].entries()) {
    const g = file(`grid-${i}.json`, JSON.stringify({ name: 'g', base: exp, ...body }));
    assert.throws(() => loadGrid(g), userError(new RegExp(`grid-${i}\\.json: .* is not allowed`)));
  }
  clean();
});

test('prompt sets, registries, dataset manifests and notebook parameters refuse __proto__ too', () => {
  const ps = file('ps.json', '{"id": "p", "version": 1, "templates": [{"id": "a", "template": "{name}", "__proto__": {}}]}');
  assert.throws(() => loadPromptSet(ps), userError(/ps\.json: the key "__proto__"/));
  const reg = file('reg.json', '{"models": [], "__proto__": {"polluted": 1}}');
  assert.throws(() => loadRegistry(reg), userError(/reg\.json: the key "__proto__"/));
  const ds = mkdtempSync(join(work, 'ds-'));
  writeFileSync(join(ds, 'manifest.json'), '{"version": 1, "name": "d", "identities": [], "images": [], "__proto__": {"x": 1}}');
  const problems = inspectDataset(ds).problems;
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.reason, /the key "__proto__"/);
  assert.throws(() => resolveParams({ a: 1 }, { CLIPFACE_NB_PARAMS: '{"__proto__": {"polluted": 1}}' }), userError(/CLIPFACE_NB_PARAMS: the key "__proto__"/));
  // an inherited name is not a parameter of the notebook: ignored, not assigned
  assert.deepEqual(resolveParams({ a: 1 }, { CLIPFACE_NB_PARAMS: '{"toString": 2}' }).ignored, ['toString']);
  clean();
});

test('1e400 (Infinity) is refused in --set and in files, where an integer check would pass it', () => {
  for (const s of ['training.epochs=1e400', 'evaluation.bootstrap=1e400', 'training.lr=-1e400', 'training.betas=[0.9,1e400]']) {
    assert.throws(() => applyOverrides(structuredClone(base), [s]), userError(/Infinity .* use a finite number/), s);
  }
  const p = file('inf.json', '{"name": "x", "dataset": {"path": "d"}, "training": {"epochs": 1e400}}');
  assert.throws(() => loadExperiment(p), userError(/inf\.json: training\.epochs is Infinity/));
});

test('counts that could never finish are out of the schema\'s bounds', () => {
  for (const [path, value] of [
    ['training.epochs', 100000000], ['evaluation.bootstrap', 1e9], ['training.batchSize', 1e7], ['seed', 2 ** 40],
    ['dataset.synth', { identities: 1e6 }], ['method.head', { epochs: 1e9 }], ['training.checkpointEvery', 1e12],
  ] as const) {
    assert.throws(() => resolveConfig(applyOverrides(structuredClone(base), [`${path}=${JSON.stringify(value)}`]), 'x.json'),
      userError(/x\.json: invalid experiment config: .*must be <=/), path);
  }
});

test('training.minLr above training.lr is refused', () => {
  assert.throws(() => resolveConfig({ ...base, training: { lr: 1e-4, minLr: 1e-3 } }, 'x.json'), userError(/x\.json: training\.minLr 0\.001 is above training\.lr 0\.0001/));
  assert.equal(resolveConfig({ ...base, training: { lr: 1e-3, minLr: 1e-3 } }, 'x.json').training.minLr, 1e-3);
});

test('the shipped experiments and grids are inside the new bounds', () => {
  // *.pretrain.json files are `clipface pretrain` configs, another schema
  for (const f of readdirSync(join(repoRoot, 'experiments')).filter((f) => f.endsWith('.json') && !f.endsWith('.pretrain.json'))) {
    const p = join(repoRoot, 'experiments', f);
    if (f.endsWith('.grid.json')) loadGrid(p); else loadExperiment(p);
  }
});

test('CLI: --set __proto__.polluted=1 and epochs=1e400 end in one line, exit 2, no stack', () => {
  const exp = file('cli.json', JSON.stringify({ ...base, output: { resultsDir: join(work, 'results') } }));
  assertUserError(clipface(['run', exp, '--set', '__proto__.polluted=1']), /--set "__proto__\.polluted=1": the key "__proto__"/);
  assertUserError(clipface(['run', exp, '--set', 'training.epochs=1e400']), /training\.epochs=1e400.*Infinity/);
  const g = file('cli-grid.json', JSON.stringify({ name: 'g', base: exp, set: { '__proto__.polluted': 1 } }));
  assertUserError(clipface(['grid', g, '--list']), /cli-grid\.json: .*"__proto__"/);
});
