/**
 * The notebooks without a kernel: the stored files are stripped and keep the house shape (the
 * intended-use note, one parameters cell), their code type-checks against lib/, and every
 * lib/notebook helper they call works on a small run. `npm run notebooks` then executes them for
 * real under Jupyter (CI runs it after these tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repoRoot } from '../lib/util/paths.ts';
import { UserError } from '../lib/util/errors.ts';
import { coerce, envName, resolveParams } from '../lib/notebook/params.ts';
import { LOADER_LINE, checkFiles, checkNotebook, notebookJson, stripNotebook, type Notebook } from '../scripts/notebooks/strip.ts';
import { countOutputs, listNotebooks } from '../scripts/notebooks/execute.ts';
import { typecheckNotebooks } from '../scripts/notebooks/typecheck.ts';
import { SMOKE_SETS, findFinishedRun, repoPath, runOrReuse, runSets } from '../lib/notebook/runs.ts';
import { NAME_MODE_MEASURES, gridGroupRows, gridMeasures, nameConfoundRows, nameModeMeasures, runGridFile } from '../lib/notebook/grids.ts';
import { decisionRows, defaultThresholds, openSetRows, runDeployment, sweepFigure, sweepTable, thresholdSweep } from '../lib/notebook/deployment.ts';
import { runSimilarity, similarityFigures, similaritySummary } from '../lib/notebook/similarity.ts';
import { contactSheetPanels, datasetTotals, detectionPanels, experimentDataset, identityRows, prepareRows, prepareSubset, sampleEntries, splitRows } from '../lib/notebook/data.ts';
import { crossSimilarityFigure, crossSimilarityStats, groupedBarsFigure, imagePanelsFigure, scalingFigure } from '../lib/figures/index.ts';
import { configRows, headlineRows, showPlanFigures, showTable } from '../lib/notebook/show.ts';
import { latestBenchTextSteps, scalingSeries } from '../lib/notebook/bench.ts';
import { measureScaling, measureTextStep } from '../lib/experiment/scaling.ts';
import { loadRun } from '../lib/report/load-run.ts';
import { planReport } from '../lib/report/sections.ts';
import { parsePredictionsCsv } from '../lib/eval/predictions.ts';
import { PLOTLY_MIME } from '../lib/report/display.ts';

const NOTEBOOKS = listNotebooks();

// ---------------------------------------------------------------- the stored notebooks

test('nine notebooks, stored stripped, each opening with the intended-use note and one parameters cell', () => {
  assert.deepEqual(NOTEBOOKS.map((p) => basename(p).slice(0, 3)), ['01-', '02-', '03-', '04-', '05-', '06-', '07-', '08-', '09-']);
  assert.deepEqual(checkFiles(NOTEBOOKS), []);
});

test('every notebook type-checks against lib/notebook/index.ts (the API the kernel loads)', () => {
  assert.deepEqual(typecheckNotebooks(NOTEBOOKS), []);
});

test('the check catches outputs, a missing note, a second parameters cell and a function defined in a notebook', () => {
  const nb = JSON.parse(readFileSync(NOTEBOOKS[0]!, 'utf8')) as Notebook;
  assert.deepEqual(checkNotebook(nb), []);
  const dirty = structuredClone(nb);
  const code = dirty.cells.find((c) => c.cell_type === 'code' && !c.metadata.tags?.includes('parameters'))!;
  code.outputs = [{ output_type: 'stream', name: 'stdout', text: ['x'] }];
  code.execution_count = 3;
  code.metadata.execution = { 'iopub.execute_input': 'now' };
  const p = checkNotebook(dirty);
  assert.ok(p.some((x) => /has outputs/.test(x)) && p.some((x) => /execution count/.test(x)) && p.some((x) => /execution metadata/.test(x)), p.join('\n'));
  // stripping restores the stored file byte for byte
  assert.equal(notebookJson(stripNotebook(dirty)), readFileSync(NOTEBOOKS[0]!, 'utf8'));

  const noNote = structuredClone(nb);
  noNote.cells[0]!.source = ['# A notebook'];
  assert.ok(checkNotebook(noNote).some((x) => /intended-use note/.test(x)));
  const two = structuredClone(nb);
  two.cells.push({ ...structuredClone(two.cells[1]!), id: 'again' });
  assert.ok(checkNotebook(two).some((x) => /2 cells tagged "parameters"/.test(x)));
  const logic = structuredClone(nb);
  logic.cells.push({ cell_type: 'code', id: 'helper', metadata: {}, source: ['const f = (x: number) => x + 1;'], outputs: [], execution_count: null });
  assert.ok(checkNotebook(logic).some((x) => /defines a function/.test(x)));
  const noLoader = structuredClone(nb);
  noLoader.cells[1]!.source = (noLoader.cells[1]!.source as string[]).filter((l) => !l.includes(LOADER_LINE));
  assert.ok(checkNotebook(noLoader).some((x) => /must load the library/.test(x)));
});

test('executed copies are recognised by their plotly and table outputs', () => {
  const nb = { cells: [{ outputs: [{ data: { [PLOTLY_MIME]: {}, 'text/html': '<div>' } }, { data: { 'text/html': ['<table class="data">', '</table>'] } }] }, { outputs: [] }] };
  assert.deepEqual(countOutputs(nb), { figures: 1, tables: 1 });
});

test('load.cjs gives a CommonJS caller (a tslab cell) the ESM library, once', async () => {
  const load = createRequire(import.meta.url)('../lib/notebook/load.cjs') as () => Promise<Record<string, unknown>>;
  const nb = await load();
  for (const f of ['params', 'show', 'showTable', 'runOrReuse', 'loadRun', 'planReport', 'measureScaling']) assert.equal(typeof nb[f], 'function', f);
  assert.equal(await load(), nb);
});

// ---------------------------------------------------------------- parameters

test('params: defaults, CLIPFACE_NB_PARAMS, then CLIPFACE_NB_<KEY>, each coerced to its default\'s type', () => {
  const defaults = { experiment: 'experiments/demo.json', smoke: true, epochs: 20, sets: [] as string[], identityCounts: [10, 100] };
  assert.equal(envName('identityCounts'), 'CLIPFACE_NB_IDENTITY_COUNTS');
  const none = resolveParams(defaults, {});
  assert.deepEqual(none.values, defaults);
  assert.ok(Object.isFrozen(none.values));
  const r = resolveParams(defaults, {
    CLIPFACE_NB_PARAMS: '{"epochs": 5, "sets": ["training.lr=1e-3"], "other": 1}',
    CLIPFACE_NB_SMOKE: '0', CLIPFACE_NB_EPOCHS: '7', CLIPFACE_NB_IDENTITY_COUNTS: '[3, 4]',
  });
  assert.deepEqual(r.values, { experiment: 'experiments/demo.json', smoke: false, epochs: 7, sets: ['training.lr=1e-3'], identityCounts: [3, 4] });
  assert.equal(r.sources.epochs, 'CLIPFACE_NB_EPOCHS');
  assert.equal(r.sources.sets, 'CLIPFACE_NB_PARAMS');
  assert.equal(r.sources.experiment, 'default');
  assert.deepEqual(r.ignored, ['other'], 'keys of other notebooks are ignored, and said so');
  for (const [v, want] of [['1', true], ['yes', true], ['false', false], ['off', false]] as const) assert.equal(coerce(true, v, 'X'), want);
  assert.throws(() => resolveParams(defaults, { CLIPFACE_NB_EPOCHS: 'many' }), (e: unknown) => e instanceof UserError && /CLIPFACE_NB_EPOCHS: "many" is not a number/.test(e.message));
  assert.throws(() => resolveParams(defaults, { CLIPFACE_NB_SMOKE: 'maybe' }), /not a boolean/);
  assert.throws(() => resolveParams(defaults, { CLIPFACE_NB_SETS: '"one"' }), /expected an array, got string/);
  assert.throws(() => resolveParams(defaults, { CLIPFACE_NB_PARAMS: '[1]' }), /expected a JSON object/);
  assert.throws(() => resolveParams(defaults, { CLIPFACE_NB_PARAMS: '{"epochs": "5"}' }), /CLIPFACE_NB_PARAMS\.epochs: expected a number/);
  assert.equal(resolveParams({ name: 'x' }, { CLIPFACE_NB_NAME: '[not json' }).values.name, '[not json', 'strings are taken as written');
});

// ---------------------------------------------------------------- helpers on a small run

const work = mkdtempSync(join(tmpdir(), 'clipface-nb-'));
process.env.CLIPFACE_FIGURES_DIR = join(work, 'figures');
const experiment = join(work, 'small.json');
writeFileSync(experiment, JSON.stringify({
  name: 'nbsmall', seed: 3,
  dataset: { path: join(work, 'data'), synth: { seed: 2, identities: 3, unknown: 1, perIdentity: 6, size: 96 } },
  preprocess: { detector: 'ground-truth', margin: 0, cacheDir: join(work, 'cache') },
  model: { random: true, randomInit: { arch: 'tiny-rn' } },
  training: { epochs: 2, batchSize: 4, lr: 1e-3 },
  evaluation: { bootstrap: 50 },
  output: { resultsDir: join(work, 'results') },
}));

let runDir = '';

test('runOrReuse runs once, then finds the finished run of the same resolved config', async () => {
  assert.equal(repoPath('experiments/demo.json'), join(repoRoot, 'experiments/demo.json'));
  assert.equal(repoPath(experiment), experiment);
  assert.deepEqual(runSets(false, ['a=1']), ['a=1']);
  assert.deepEqual(runSets(true, ['training.epochs=1']), [...SMOKE_SETS, 'training.epochs=1'], 'the notebook\'s own sets win over smoke\'s');
  assert.equal(findFinishedRun(experiment), undefined);
  const a = await runOrReuse(experiment);
  assert.equal(a.reused, false);
  runDir = a.dir;
  assert.equal(findFinishedRun(experiment), a.dir);
  const b = await runOrReuse(experiment);
  assert.deepEqual(b, { dir: a.dir, reused: true });
  assert.equal(findFinishedRun(experiment, ['training.epochs=1']), undefined, 'another config is another run');
  const c = await runOrReuse(experiment, { reuse: false });
  assert.notEqual(c.dir, a.dir);
  assert.equal(findFinishedRun(experiment), c.dir, 'the most recently finished one');
});

test('run tables and figures: headline, config, report figures (written to files outside a kernel)', async () => {
  const run = loadRun(runDir);
  const h = headlineRows(run);
  assert.match(h[0]!.measure!, /closed-set/);
  assert.match(h[0]!.value!, /%/);
  assert.ok(h.some((r) => r.measure === 'stamp'), 'random weights are stamped');
  assert.ok(configRows(run, 'training').some((r) => r.key === 'training.epochs' && r.value === '2'));
  assert.match(configRows(run, 'nope')[0]!.value, /not in config/);
  await showPlanFigures(planReport(run), ['training-curve', 'no-such-figure']);
  assert.ok(existsSync(join(work, 'figures', 'training-curve.html')));
  assert.equal(await showTable([{ a: 1 }]), undefined, 'nothing for tslab to print a second time');
});

test('deployment: the threshold sweep re-derives the run\'s own numbers at its threshold', () => {
  const run = loadRun(runDir);
  const m = run.metrics!;
  const sweep = thresholdSweep(run.predictions!, defaultThresholds(0.1));
  assert.deepEqual(defaultThresholds(0.25), [0.25, 0.5, 0.75, 0.8]);
  assert.throws(() => defaultThresholds(0), /step must be in \(0, 1\)/);
  const at = sweep.find((r) => r.threshold === 0.8)!;
  assert.deepEqual([at.tp, at.fn, at.fp, at.tn], [m.deployment!.tp, m.deployment!.fn, m.deployment!.fp, m.deployment!.tn]);
  assert.equal(at.accuracy, m.deployment!.accuracy);
  for (const r of sweep) assert.equal(r.tp + r.fn + r.fp + r.tn, 4, 'every subject once at every threshold');
  // a higher threshold never accepts more unknown people
  for (let i = 1; i < sweep.length; i++) assert.ok(sweep[i]!.fn <= sweep[i - 1]!.fn);
  assert.equal(sweepFigure(sweep, { markThreshold: 0.8 }).data.length, 5);
  assert.equal(sweepTable(sweep).length, sweep.length);
  const d = runDeployment(run)!;
  assert.equal(decisionRows(d).length, 4);
  assert.deepEqual(decisionRows(null), [{ note: 'this run has no deployment session' }]);
  assert.ok(openSetRows(run).some((r) => /TAR at FAR/.test(String(r.measure))));
  assert.deepEqual(thresholdSweep(run.predictions!.filter((r) => r.kind !== 'deployment'), [0.5]), []);
});

test('similarity: before/after matrices; the finetuned image × prompt argmax is the run\'s prediction', async () => {
  const s = await runSimilarity(runDir);
  assert.ok(s.finetuned);
  assert.equal(s.classes.length, 3);
  const n = s.imageLabels.length;
  assert.equal(s.imageImage.length, n);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(s.imageImage[i]![i]! - 1) < 1e-5);
    for (let j = 0; j < n; j++) assert.equal(s.imageImage[i]![j], s.imageImage[j]![i]);
  }
  for (const m of [s.promptPrompt.before, s.promptPrompt.after]) for (let i = 0; i < 3; i++) assert.ok(Math.abs(m[i]![i]! - 1) < 1e-5);
  assert.notDeepEqual(s.promptPrompt.before, s.promptPrompt.after, 'the text tower moved');
  const preds = parsePredictionsCsv(readFileSync(join(runDir, 'predictions.csv'), 'utf8')).filter((r) => r.kind === 'test');
  const feats = JSON.parse(readFileSync(join(runDir, 'features.json'), 'utf8')) as { paths: string[] };
  feats.paths.forEach((p, i) => {
    const row = s.imagePrompt.after[i]!;
    const top = s.classes[row.indexOf(Math.max(...row))];
    const pred = preds.find((r) => r.path === p)!;
    assert.equal(top, pred.prediction, p);
  });
  const summary = similaritySummary(s);
  assert.equal(summary[0]!.before, summary[0]!.after, 'the image tower is frozen');
  assert.ok(s.described, 'a synthetic set: its people in words too');
  assert.match(s.described.prompts[0]!, /named a (man|woman) with [a-z]/);
  assert.equal(s.described.imagePrompt.length, n);
  assert.ok('described, zero-shot' in summary[3]!);
  // a dataset without a manifest (one folder per person) has nothing to describe its people with
  const mf = join(work, 'data', 'manifest.json');
  renameSync(mf, `${mf}.away`);
  try {
    assert.equal((await runSimilarity(runDir)).described, null);
  } finally {
    renameSync(`${mf}.away`, mf);
  }
  const figs = similarityFigures(s);
  assert.deepEqual(Object.keys(figs), ['imageImage', 'promptPrompt', 'imagePrompt']);
  assert.equal(figs.imagePrompt.data.length, 3, 'named before, named after, described: side by side');
  assert.ok(figs.imagePrompt.data.every((t) => t.coloraxis === 'coloraxis' && t.zmin === undefined), 'one colour scale');
  assert.deepEqual(figs.imagePrompt.data.map((t) => t.xaxis), ['x', 'x2', 'x3']);
});

test('grids: a shard of a grid runs through lib/grid; group rows, real / neutral / described names side by side; a failed run fails the notebook', async () => {
  const gridFile = join(work, 'names.grid.json');
  writeFileSync(gridFile, JSON.stringify({
    name: 'nbnames', base: basename(experiment), set: { 'training.epochs': 1 }, resultsDir: join(work, 'grids', 'nbnames'),
    runs: [{ id: 'ft', label: 'finetune' }, { id: 'zs', label: 'zero-shot', set: { 'method.kind': 'clip-zero-shot' } }],
    product: { 'prompt.names': ['real', 'neutral', 'description'], seed: [0, 1] },
  }));
  const half = await runGridFile(gridFile, { shard: '0/2' });
  assert.equal(half.ran.length, 6, 'every 2nd of 12 runs: seed 0 of each group');
  const s = half.summary;
  assert.equal(s.finished, 6);
  const rows = gridGroupRows(s);
  assert.equal(rows.length, 6);
  assert.match(String(rows[0]!['closed-set acc']), /%$/);
  const nc = nameConfoundRows(s);
  assert.equal(nc.length, 2, 'one row per arm');
  assert.equal(nc[0]!.chance, '33.3 %', 'one over the 3 enrolled people');
  assert.match(nc[0]!['prompt (real)']!, /named Person|named [A-Z]/);
  assert.match(nc[0]!['prompt (neutral)']!, /person A$/, 'the control is in effect in the trained prompts');
  assert.match(nc[0]!['neutral − real']!, /pts$/);
  assert.match(nc[0]!['prompt (description)']!, /named a (man|woman) with [a-z]/, 'the person in words, no name');
  assert.match(nc[0]!['description, no name']!, /%$/);
  const modes = nameModeMeasures(s);
  assert.deepEqual(modes.map((m) => Object.keys(m.values)), [NAME_MODE_MEASURES, NAME_MODE_MEASURES]);
  assert.equal(gridMeasures(s).length, 6);
  const again = await runGridFile(gridFile, { shard: '0/2' });
  assert.deepEqual([again.ran.length, again.skipped.length], [0, 6], 'finished runs are reused');

  const badFile = join(work, 'bad.grid.json');
  writeFileSync(badFile, JSON.stringify({ name: 'nbbad', base: basename(experiment), resultsDir: join(work, 'grids', 'nbbad'), runs: [{ id: 'x', set: { 'method.kind': 'face-match', 'method.embedder': 'onnx:no/such-model' } }] }));
  await assert.rejects(runGridFile(badFile), (e: unknown) => e instanceof UserError && /1 run\(s\) failed: x: /.test(e.message));
  assert.deepEqual(nameConfoundRows({ ...s, groups: [] }), [{ note: 'this grid has no prompt.names axis with a "real" value' }]);
});

test('data: summaries, split, keypoint panels, a preprocessing subset with its contact sheet', async () => {
  const { ds, split } = await experimentDataset(experiment);
  assert.equal(identityRows(ds).length, 4);
  assert.equal(identityRows(ds)[0]!.images, 6);
  assert.ok(datasetTotals(ds).some((r) => r.measure === 'enrolled (known) identities' && r.value === 3));
  const sr = splitRows(ds, split);
  assert.equal(sr.reduce((a, r) => a + Number(r.train) + Number(r.test), 0), split.train.length + split.test.length);
  const samples = sampleEntries(ds, 3);
  assert.equal(new Set(samples.map((e) => `${e.identity}/${e.view}`)).size, 3);
  const panels = await detectionPanels(ds, samples, []);
  assert.equal(panels.length, 3);
  assert.match(panels[0]!.src, /^data:image\/(jpeg|png);base64,/);
  assert.deepEqual(panels[0]!.truth, samples[0]!.keypoints);
  const [human] = await detectionPanels(ds, samples.slice(0, 1), ['human']);
  assert.ok(human!.detections!.length === 1 || /missed by human/.test(human!.caption!), human!.caption);
  const out = join(work, 'prep');
  const report = await prepareSubset(ds, { detector: 'ground-truth', identities: 2, every: 2, out });
  assert.ok(report.images.every((e) => ['p01', 'p02'].includes(e.identity!)));
  const rows = prepareRows(report);
  assert.equal(rows.skipped[0]!.path, '(none)');
  mkdirSync(join(out, 'contact-sheet'), { recursive: true });
  writeFileSync(join(out, 'contact-sheet', 'stale.png'), '');
  const sheets = await contactSheetPanels(out, 5);
  assert.deepEqual(sheets.map((p) => p.caption), ['p01', 'p02'], 'only the sheet just written');
  const fig = imagePanelsFigure([...panels, ...sheets], { cols: 2 });
  assert.equal(fig.data.filter((t) => t.type === 'image').length, 5);
});

// ---------------------------------------------------------------- figures and scaling

test('figure helpers: cross heatmap stats, bars, scaling panels', () => {
  const spec = { rowLabels: ['a', 'b', 'a'], colLabels: ['a', 'b'], matrix: [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]] };
  const st = crossSimilarityStats(spec);
  assert.ok(Math.abs(st.matched - (0.9 + 0.8 + 0.7) / 3) < 1e-12 && Math.abs(st.other - (0.1 + 0.2 + 0.3) / 3) < 1e-12);
  const f = crossSimilarityFigure(spec);
  assert.deepEqual(f.data[0]!.z, [[0.9, 0.1], [0.7, 0.3], [0.2, 0.8]], 'rows grouped in column order');
  assert.throws(() => crossSimilarityFigure({ ...spec, matrix: [[1]] }), /must be 3×2/);
  const bars = groupedBarsFigure([{ name: 'x', values: { acc: 0.5, fpr: null } }], ['acc', 'fpr'], { title: 't' });
  assert.deepEqual(bars.data.map((t) => t.y), [[50], [null]]);
  const sc = scalingFigure([{ name: 'a', points: [{ ids: 100, ms: 5, rssMiB: 9 }, { ids: 10, ms: 2, rssMiB: 8 }] }]);
  assert.deepEqual(sc.data[0]!.x, [10, 100]);
  assert.equal(scalingSeries([], 'this machine', null).length, 1);
  const benchDir = join(work, 'bench');
  mkdirSync(benchDir);
  writeFileSync(join(benchDir, '2026-01-01.json'), JSON.stringify({ createdAt: '2026-01-01T00:00:00Z', backend: 'wasm', textStep: { ids10: { ms: 900, peakRssMiB: 800 }, ids100: null } }));
  assert.deepEqual(latestBenchTextSteps(benchDir)!.points, [{ ids: 10, ms: 900, rssMiB: 800 }]);
  assert.equal(latestBenchTextSteps(join(work, 'none')), null);
});

test('scaling: one text-tower step per identity count, in process and in a child process', async () => {
  const r = await measureTextStep({ ids: 5, arch: 'tiny-rn', steps: 2, warmup: 1 });
  assert.equal(r.ids, 5);
  assert.equal(r.runs.length, 2);
  assert.ok(r.ms > 0 && r.rssMiB > 0);
  const rows = await measureScaling({ ids: [20, 3], arch: 'tiny-rn', steps: 1, warmup: 0 });
  assert.deepEqual(rows.map((x) => x.ids), [3, 20]);
  assert.ok(rows.every((x) => x.ms > 0 && x.rssMiB > 50 && x.arch === 'tiny-rn'));
  await assert.rejects(measureTextStep({ ids: 1 }), /ids must be an integer ≥ 2/);
});
