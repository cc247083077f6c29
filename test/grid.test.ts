/**
 * Ablation grids: expansion (list × product, prompt sets), shards that partition the runs exactly,
 * resumption that skips finished runs, and a summary whose every number is the per-run metrics.json
 * it came from (and mean ± sd of them over the seed axis).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseCsv } from '../lib/eval/predictions.ts';
import { aggregate, loadPolars } from '../lib/grid/frame.ts';
import { locateRun } from '../lib/grid/locate.ts';
import { runGrid } from '../lib/grid/runner.ts';
import { loadGrid, parseShard, shardRuns } from '../lib/grid/spec.ts';
import { metricsRow, VALUES, writeSummary } from '../lib/grid/summary.ts';
import { repoRoot } from '../lib/util/paths.ts';
import { readRunStatus } from '../lib/report/run-status.ts';
import { goldenModelFiles, skipWithout } from './helpers/golden.ts';
import { copyFileSync } from 'node:fs';
import { UserError } from '../lib/util/errors.ts';

const work = mkdtempSync(join(tmpdir(), 'clipface-grid-'));
const base = join(work, 'base.json');
writeFileSync(base, JSON.stringify({
  name: 'g', seed: 0,
  dataset: { path: join(work, 'data'), synth: { seed: 5, identities: 3, unknown: 1, perIdentity: 6, size: 64 } },
  preprocess: { detector: 'none', cacheDir: join(work, 'cache') },
  model: { random: true, randomInit: { arch: 'tiny-rn' } }, evaluation: { bootstrap: 0 },
}));
const gridFile = (name: string, spec: Record<string, unknown>) => {
  const f = join(work, `${name}.grid.json`);
  writeFileSync(f, JSON.stringify({ name, base: 'base.json', resultsDir: join(work, name), ...spec }));
  return f;
};

test('expansion: list × product in order, prompt sets expand, ids unique; shards partition the runs exactly', () => {
  const f = gridFile('expand', {
    set: { 'training.epochs': 2 },
    runs: [{ id: 'a', label: 'Arm A', set: { 'method.kind': 'clip-zero-shot' } }, { id: 'b' }],
    product: { 'prompt.template': { promptSet: join(repoRoot, 'experiments/prompts/paper.json') }, 'dataset.split.kShot': [1, 4], seed: [0, 1, 2] },
  });
  const g = loadGrid(f);
  assert.equal(g.runs.length, 2 * 3 * 2 * 3);
  assert.equal(new Set(g.runs.map((r) => r.id)).size, g.runs.length);
  const first = g.runs[0]!;
  assert.equal(first.id, 'a__template=paper-1-full__kShot=1__seed=0');
  assert.equal(first.label, 'Arm A, template=paper@1:full, kShot=1, seed=0');
  assert.deepEqual(first.sets, ['training.epochs=2', 'method.kind="clip-zero-shot"', 'prompt.template="This is the image of a person named {name}"', 'dataset.split.kShot=1', 'seed=0']);
  assert.equal(g.runs[1]!.axes.seed, 1, 'the last product key varies fastest');
  assert.equal(g.runs[18]!.arm, 'b');
  for (let n = 1; n <= 7; n++) {
    const parts = Array.from({ length: n }, (_, i) => shardRuns(g.runs, { i, n }).map((r) => r.index));
    assert.deepEqual(parts.flat().sort((x, y) => x - y), g.runs.map((r) => r.index), `n = ${n}: every run in exactly one shard`);
    assert.ok(Math.max(...parts.map((p) => p.length)) - Math.min(...parts.map((p) => p.length)) <= 1, 'balanced');
  }
  assert.deepEqual(parseShard('3/8'), { i: 3, n: 8 });
  for (const bad of ['8/8', '1', '-1/2', 'a/b']) assert.throws(() => parseShard(bad), UserError);
  assert.throws(() => loadGrid(gridFile('bad1', { runz: [] })), /runz: unknown key/);
  assert.throws(() => loadGrid(gridFile('bad2', { runs: [{ id: 'x' }, { id: 'x' }] })), /share the id "x"/);
});

test('a finished run records the weights it loaded; once they change, the grid runs it again instead of reusing it', { skip: skipWithout(goldenModelFiles('clip-rn-tiny').weights) }, async () => {
  const golden = goldenModelFiles('clip-rn-tiny');
  const weights = join(work, 'reship.safetensors');
  copyFileSync(golden.weights, weights);
  const f = gridFile('reship', { set: { 'model.random': false, 'model.config': golden.config, 'model.weights': weights, 'method.kind': 'clip-zero-shot' }, runs: [{ id: 'zs' }] });
  const quiet = { quiet: true, say: () => {} };
  const first = await runGrid(f, quiet);
  assert.equal(first.ran.length, 1);
  const g = loadGrid(f);
  const where = locateRun(g, g.runs[0]!);
  assert.equal(where.state, 'finished');
  const status = readRunStatus(where.state === 'finished' ? where.dir : '')!;
  assert.deepEqual(status.weights, [{ path: weights, sha256: createHash('sha256').update(readFileSync(weights)).digest('hex') }]);
  assert.deepEqual((await runGrid(f, quiet)).skipped.length, 1, 'same weights: reused');
  // new weights under the same path (a re-shipped model): one byte of a tensor changes
  const bytes = readFileSync(weights);
  bytes[bytes.length - 2] ^= 0x01;
  writeFileSync(weights, bytes);
  assert.equal(locateRun(g, g.runs[0]!).state, 'new', 'the old run is stale');
  const again = await runGrid(f, quiet);
  assert.deepEqual([again.ran.length, again.skipped.length], [1, 0]);
});

test('a grid runs, resumes by skipping finished runs, shards cleanly, and its summary equals the per-run metrics', async () => {
  const f = gridFile('small', {
    runs: [
      { id: 'zs', label: 'zero-shot', set: { 'method.kind': 'clip-zero-shot' } },
      { id: 'tip', label: 'Tip-Adapter', set: { 'method.kind': 'clip-tip-adapter', 'method.tipAdapter': { alpha: 2, beta: 3 } } },
    ],
    product: { 'dataset.split.kShot': [1, 2], seed: [0, 1] },
  });
  const quiet = { quiet: true, say: () => {} };
  const first = await runGrid(f, { ...quiet, shard: { i: 0, n: 2 } });
  assert.equal(first.ran.length, 4);
  assert.equal(first.summary.finished, 4);
  const second = await runGrid(f, { ...quiet, shard: { i: 1, n: 2 } });
  assert.deepEqual([second.ran.length, second.skipped.length], [4, 0], 'the other shard runs the other half');
  const again = await runGrid(f, quiet);
  assert.deepEqual([again.ran.length, again.skipped.length, again.failed.length], [0, 8, 0], 'resume: every finished run is skipped');
  const g = loadGrid(f);
  const victim = g.runs[5]!;
  const where = locateRun(g, victim);
  assert.equal(where.state, 'finished');
  rmSync(join(where.state === 'finished' ? where.dir : ''), { recursive: true });
  const redo = await runGrid(f, quiet);
  assert.deepEqual(redo.ran.map((r) => r.id), [victim.id], 'only the missing run runs again');

  // every summary number is the run's metrics.json number
  const s = JSON.parse(readFileSync(join(work, 'small', 'summary.json'), 'utf8'));
  assert.equal(s.runs.length, 8);
  for (const row of s.runs) {
    const m = JSON.parse(readFileSync(join(row.dir, 'metrics.json'), 'utf8'));
    assert.deepEqual(Object.fromEntries(VALUES.map((v) => [v, row[v]])), metricsRow(m), row.run);
    assert.equal(row.heldOutAccuracy, m.tableI.heldOutAccuracy);
    assert.equal(row.deploymentAccuracy, m.tableI.deploymentAccuracy);
    assert.equal(row.fpr, m.tableI.fpr);
    assert.equal(row.fnr, m.tableI.fnr);
    assert.equal(row.kind, m.method.kind);
  }
  // groups: every axis but the seed; mean and sample sd of the runs in the group
  assert.equal(s.groups.length, 4);
  for (const grp of s.groups) {
    const members = s.runs.filter((r: any) => r.group === grp.group);
    assert.equal(grp.n, 2);
    for (const v of VALUES) {
      const xs = members.map((r: any) => r[v]).filter((x: unknown) => typeof x === 'number') as number[];
      if (!xs.length) { assert.equal(grp[`${v}_mean`], null); continue; }
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : null;
      assert.equal(grp[`${v}_mean`], Number(mean.toFixed(6)), `${grp.group} ${v}`);
      assert.equal(grp[`${v}_sd`], sd === null ? null : Number(sd.toFixed(6)), `${grp.group} ${v} sd`);
    }
  }
  // the CSVs carry the same numbers
  const csv = parseCsv(readFileSync(join(work, 'small', 'summary.csv'), 'utf8')).map((r) => r.cells);
  const col = (name: string) => csv[0]!.indexOf(name);
  s.groups.forEach((grp: any, i: number) => assert.equal(Number(csv[i + 1]![col('heldOutAccuracy_mean')]), grp.heldOutAccuracy_mean));
  const runsCsv = parseCsv(readFileSync(join(work, 'small', 'runs.csv'), 'utf8')).map((r) => r.cells);
  s.runs.forEach((r: any, i: number) => assert.equal(Number(runsCsv[i + 1]![runsCsv[0]!.indexOf('fpr')]), r.fpr));
  for (const file of ['summary.md', 'table1.md', 'table1.csv', 'table1.html', 'kshot-accuracy.html', 'kshot.csv']) assert.ok(existsSync(join(work, 'small', file)), file);
  assert.match(readFileSync(join(work, 'small', 'table1.md'), 'utf8'), /\| Tip-Adapter, kShot=2 \| .* ± .* \| 2 \|/);

  // the typescript and nodejs-polars engines agree (when the polars binding is installed)
  const ts = await writeSummary(g, { engine: 'typescript' });
  assert.deepEqual(ts.groups, s.groups);
  if (await loadPolars()) {
    const pl = await aggregate(s.runs, ['group', 'arm', 'dataset.split.kShot'], VALUES);
    assert.equal(pl.engine, 'nodejs-polars');
    assert.deepEqual(pl.rows, s.groups.map((x: any) => Object.fromEntries(Object.entries(x))));
  }
});
