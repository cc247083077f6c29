/**
 * Figures are data: each figure function is rendered on the fixture run (test/fixtures/run-example,
 * regenerate with its generate.ts) and its plotly data is checked against the numbers it claims
 * to draw. Then the run report and the display adapter, outside and (simulated) inside a kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePredictionsCsv } from '../lib/eval/predictions.ts';
import {
  confusionCsv, confusionMatrixFigure, cosineMatrix, detFigure, formatPercent, kShotCurveFigure, PAPER_TABLE_I,
  rocFigure, similarityBlocks, similarityHeatmapFigure, tableOneCsv, tableOneFigure, toCsv, trainingCurveFigure,
  type TableOneRow,
} from '../lib/figures/index.ts';
import { parseTrainLog } from '../lib/report/load-run.ts';
import { plotlyBundle } from '../lib/report/assets.ts';
import { writeReportHtml } from '../lib/report/report-html.ts';
import { PLOTLY_MIME, show, showTable } from '../lib/report/display.ts';

const FIX = new URL('./fixtures/run-example/', import.meta.url).pathname;
const metrics = JSON.parse(readFileSync(join(FIX, 'metrics.json'), 'utf8'));
const features = JSON.parse(readFileSync(join(FIX, 'features.json'), 'utf8')) as { labels: string[]; dim: number; features: number[] };
const trace = (fig: { data: unknown[] }, i = 0) => fig.data[i] as Record<string, any>;
const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('confusion matrix: every cell equals the count of (truth, prediction) pairs in predictions.csv', () => {
  const rows = parsePredictionsCsv(readFileSync(join(FIX, 'predictions.csv'), 'utf8')).filter((r) => r.kind === 'test');
  const fig = confusionMatrixFigure(metrics.closedSet.confusion);
  const t = trace(fig);
  assert.deepEqual(t.x, metrics.closedSet.confusion.labels);
  assert.deepEqual(t.y, t.x);
  t.y.forEach((truth: string, i: number) => t.x.forEach((pred: string, j: number) => {
    const n = rows.filter((r) => r.truth === truth && r.prediction === pred).length;
    assert.equal(t.z[i][j], n, `${truth} → ${pred}`);
    assert.equal(t.text[i][j], String(n));
  }));
  assert.equal(t.z.flat().reduce((a: number, b: number) => a + b, 0), rows.length);
  assert.match(String((fig.layout.title as { text: string }).text), /<sup>accuracy 83\.3% \(10\/12\)<\/sup>/);
  assert.equal(confusionCsv(metrics.closedSet.confusion).trim().split('\n').length, 1 + 4 * 4);
});

test('row-normalised confusion: each row with samples sums to 1, empty rows stay empty', () => {
  const spec = { labels: ['a', 'b', 'c'], matrix: [[2, 1, 1], [0, 0, 0], [0, 3, 1]] };
  const t = trace(confusionMatrixFigure(spec, { normalize: 'row' }));
  close(t.z[0].reduce((a: number, b: number) => a + b, 0), 1);
  close(t.z[2].reduce((a: number, b: number) => a + b, 0), 1);
  assert.deepEqual(t.z[1], [null, null, null]);
  close(t.z[0][0], 0.5);
  assert.equal(t.text[2][1], '75.0%<br>(3)');
  assert.equal(t.zmax, 1);
  assert.throws(() => confusionMatrixFigure({ labels: ['a'], matrix: [[1, 2]] }), /1×1/);
});

test('similarity heatmap: symmetric, ones on the diagonal, grouped by identity, with block means', () => {
  const m = cosineMatrix(Float32Array.from(features.features), features.dim);
  const fig = similarityHeatmapFigure({ labels: features.labels, matrix: m });
  const z = trace(fig, 0).z as number[][];
  assert.equal(z.length, features.labels.length);
  z.forEach((row, i) => { close(row[i]!, 1, 1e-9); row.forEach((v, j) => assert.equal(v, z[j]![i])); });
  const b = similarityBlocks({ labels: features.labels, matrix: m });
  const grouped = b.order.map((i) => features.labels[i]);
  assert.deepEqual(grouped, [...features.labels].sort()); // contiguous blocks in name order
  const [s, e] = b.ranges[0]!; // first identity's within-block mean, by hand (self-pairs excluded)
  let sum = 0, n = 0;
  for (let i = s; i < e; i++) for (let j = s; j < e; j++) if (i !== j) { sum += z[i]![j]!; n++; }
  close(b.means[0]![0]!, sum / n, 1e-12);
  assert.deepEqual(trace(fig, 1).z, b.means);
  assert.ok(b.within > b.across, `within ${b.within} should exceed across ${b.across} on the fixture`);
  // features already L2-normalised: exact ones; a zero vector gives zeros, not NaN
  const unit = cosineMatrix([0.6, 0.8, 1, 0, 0, 0], 2);
  assert.deepEqual(unit.map((r, i) => r[i]), [1, 1, 0]);
  assert.throws(() => cosineMatrix([1, 2, 3], 2), /multiple of dim/);
});

test('DET: FPIR falls and FNIR rises along the curve, on log axes, zeros drawn at the floor', () => {
  const det = metrics.openSet.det;
  const fig = detFigure([{ name: 'fixture', fpir: det.fpir, fnir: det.fnir, thresholds: det.thresholds }], { markThreshold: 0.8 });
  const t = trace(fig);
  for (let i = 1; i < t.x.length; i++) {
    assert.ok(t.x[i] <= t.x[i - 1], `fpir not monotone at ${i}`);
    assert.ok(t.y[i] >= t.y[i - 1], `fnir not monotone at ${i}`);
  }
  assert.ok([...t.x, ...t.y].every((v: number) => v > 0), 'log axes need positive values');
  assert.equal((fig.layout.xaxis as { type: string }).type, 'log');
  assert.equal(Math.min(...t.x), 1e-3); // FPIR 0 at the top threshold, drawn at the 1e-3 floor
  const star = trace(fig, 1); // operating point at the paper's threshold 0.8: the lowest T ≥ 0.8 is 0.8301
  assert.deepEqual([star.x[0], star.y[0]], [0.4, 0.166667]);
  // shuffled input is put back in curve order
  const shuffled = trace(detFigure([{ name: 's', fpir: [0, 1, 0.5], fnir: [1, 0, 0.25] }]));
  assert.deepEqual(shuffled.y, [1e-3, 0.25, 1]);
});

test('ROC: points ascend in FPR, chance diagonal added, AUC in the legend', () => {
  const fig = rocFigure([{ name: 'r', fpr: [1, 0, 0.5], tpr: [1, 0.2, 0.9], auc: 0.85 }]);
  assert.deepEqual(trace(fig).x, [0, 0.5, 1]);
  assert.deepEqual(trace(fig).y, [0.2, 0.9, 1]);
  assert.equal(trace(fig).name, 'r (AUC 0.850)');
  assert.equal(trace(fig, 1).name, 'chance');
});

test('Table I: every cell is the input as a percentage, intervals in brackets', () => {
  const mine: TableOneRow = { method: 'CLIP (run)', heldOutAccuracy: 0.833333, deploymentAccuracy: 2 / 3, fpr: 0.25, fnr: null, ci: { fpr: { lower: 0.0456, upper: 0.6994 } } };
  const rows = [mine, ...PAPER_TABLE_I];
  const t = trace(tableOneFigure(rows));
  assert.deepEqual(t.header.values, ['<b>Method</b>', '<b>Training acc (%) [held-out 20 %]</b>', '<b>Deployment acc (%)</b>', '<b>FPR (%)</b>', '<b>FNR (%)</b>']);
  const cols = t.cells.values as string[][];
  assert.deepEqual(cols[0], rows.map((r) => r.method));
  assert.deepEqual(cols.map((c) => c[0]), ['CLIP (run)', '83.33', '66.67', '25.00 [4.6, 69.9]', 'n/a']);
  assert.deepEqual(cols.map((c) => c[5]), ['CLIP RN-50 [paper]', '92.18', '75.00', '20.00', '50.00']);
  rows.forEach((r, i) => assert.equal(cols[2]![i], formatPercent(r.deploymentAccuracy)));
  assert.equal(tableOneCsv([mine]).split('\n')[1], 'CLIP (run),0.833333,,,0.6666666666666666,,,0.25,0.0456,0.6994,,,');
});

test('training curve: loss on y, learning rate on a second axis, batch accuracy below', () => {
  const log = parseTrainLog(readFileSync(join(FIX, 'train-log.csv'), 'utf8'));
  assert.equal(log.length, 30);
  const fig = trainingCurveFigure(log);
  const by = (name: string) => fig.data.find((d) => d.name === name) as Record<string, any>;
  assert.deepEqual(by('loss').y, log.map((r) => r.loss));
  assert.equal(by('learning rate').yaxis, 'y2');
  assert.deepEqual(by('learning rate').y, log.map((r) => r.lr));
  assert.equal((fig.layout.yaxis2 as { overlaying: string }).overlaying, 'y');
  assert.deepEqual(by('batch accuracy').y, log.map((r) => r.batchAccuracy));
  assert.ok(by('loss (EMA 0.8)'), 'a smoothed loss line once there are ≥ 30 steps');
});

test('K-shot curve: sorted by K, sd as error bars', () => {
  const t = trace(kShotCurveFigure([{ name: 'CLIP', k: [5, 1, 3], mean: [0.9, 0.5, 0.8], sd: [0.01, 0.1, 0.05] }]));
  assert.deepEqual([t.x, t.y, t.error_y.array], [[1, 3, 5], [0.5, 0.8, 0.9], [0.1, 0.05, 0.01]]);
});

test('CSV: quoting per RFC 4180', () => {
  assert.equal(toCsv(['a', 'b'], [['x,y', 'say "hi"'], [1, null]]), 'a,b\n"x,y","say ""hi"""\n1,\n');
});

/** The page with the inline plotly.js removed: what we wrote ourselves. */
const ownHtml = (page: string) => page.replace(`<script>${plotlyBundle().js}</script>`, '<script>/*plotly*/</script>');

test('report.html: one offline page with every figure, tables, config, banner; figure files beside it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clipface-report-'));
  try {
    cpSync(FIX, dir, { recursive: true });
    const r = writeReportHtml(dir);
    assert.deepEqual(r.figures, ['table-one', 'training-curve', 'confusion-counts', 'confusion-row', 'deployment-confusion', 'det', 'roc', 'similarity']);
    const page = readFileSync(r.path, 'utf8');
    assert.ok(page.includes(plotlyBundle().js), 'plotly.js inline');
    const own = ownHtml(page);
    assert.equal(own.split('/*plotly*/').length, 2, 'plotly inlined exactly once');
    for (const f of r.figures) {
      assert.ok(own.includes(`<div id="fig-${f}"`), `figure div ${f}`);
      for (const ext of ['html', 'json', 'csv']) assert.ok(existsSync(join(dir, 'figures', `${f}.${ext}`)), `${f}.${ext}`);
    }
    assert.doesNotMatch(own, /cdn/i);
    assert.doesNotMatch(own, /<(script|link|img)[^>]+(src|href)=["']?https?:/i);
    assert.match(own, /<div class="banner" id="stamp">random weights: pipeline check, not a result<\/div>/);
    assert.match(own, /Visitor Two/); // the per-subject deployment table
    assert.match(own, /&quot;batchSize&quot;: 8/); // the config
    const standalone = readFileSync(join(dir, 'figures', 'det.html'), 'utf8');
    assert.ok(standalone.includes(plotlyBundle().js) && !/src=["']?https?:/.test(ownHtml(standalone)));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'figures', 'confusion-counts.json'), 'utf8')).data[0].z, metrics.closedSet.confusion.matrix);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report.html: robust to a run without deployment, training log, predictions or features', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clipface-report-'));
  try {
    const { deployment: _, stamp: __, ...rest } = metrics;
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ ...rest, deployment: null }));
    const r = writeReportHtml(dir, { standaloneFigures: false });
    assert.deepEqual(r.figures, ['table-one', 'training-curve', 'confusion-counts', 'confusion-row', 'det', 'roc']);
    const page = ownHtml(readFileSync(r.path, 'utf8'));
    assert.match(page, /No deployment section/);
    assert.doesNotMatch(page, /class="banner"/);
    assert.match(page, /config\.json: not found/);
    assert.match(readFileSync(join(dir, 'figures', 'det.html'), 'utf8'), /<script src="plotly.min.js"><\/script>/);
    rmSync(join(dir, 'metrics.json'));
    assert.deepEqual(writeReportHtml(dir).figures, ['table-one']); // an empty folder still gets a page
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('display outside a kernel: show() writes a standalone page, showTable() prints markdown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clipface-show-'));
  try {
    const path = await show(confusionMatrixFigure(metrics.closedSet.confusion), { title: 'Confusion (test)', dir });
    assert.equal(path, join(dir, 'confusion-test.html'));
    assert.ok(readFileSync(path!, 'utf8').includes('Plotly.newPlot('));
    const md = await showTable([{ a: 1, b: 'x|y' }]);
    assert.equal(md, '| a | b |\n| --- | --- |\n| 1 | x\\|y |\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('display inside a (simulated) tslab kernel: one bundle with the plotly MIME type and an HTML fallback', async () => {
  const sent: { data: Record<string, any> }[] = [];
  const key = '/fake/node_modules/tslab/dist/jupyter.js';
  const cache = createRequire(import.meta.url).cache as Record<string, unknown>;
  cache[key] = { id: key, filename: key, loaded: true, exports: { lastWriteDisplayData: (m: { data: Record<string, any> }) => sent.push(m) } };
  (globalThis as Record<string, unknown>).__tslab__ = {};
  try {
    const fig = detFigure([{ name: 'x', fpir: [1, 0], fnir: [0, 1] }]);
    assert.equal(await show(fig, { title: 'DET' }), undefined);
    await show(fig, { title: 'DET again' });
    const [first, second] = sent.map((m) => m.data);
    assert.deepEqual(first![PLOTLY_MIME].data, fig.data);
    assert.ok(first!['text/html'].includes(plotlyBundle().js), 'the first figure carries plotly.js');
    assert.ok(!second!['text/html'].includes(plotlyBundle().js) && second!['text/html'].includes('Plotly.newPlot('));
    await showTable([{ k: 1 }], { title: 'T' });
    assert.match(sent[2]!.data['text/html'], /<table class="data"><caption>T<\/caption>/);
  } finally {
    delete cache[key];
    delete (globalThis as Record<string, unknown>).__tslab__;
  }
});
