/**
 * The figures of issue 11's heatmaps and notebook 9: before/after heatmaps side by side on one
 * colour scale (plotly), the same as a standalone SVG for the README's PNG (rendered here through
 * librsvg), the pretraining curves and the train-log reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossSimilarityFigure } from '../lib/figures/similarity.ts';
import { sideBySideHeatmaps } from '../lib/figures/side-by-side.ts';
import { heatmapsSvg, viridis } from '../lib/figures/svg-heatmaps.ts';
import { parsePretrainLog, pretrainEpochsFigure, pretrainStepsFigure, type PretrainEpoch } from '../lib/figures/pretrain-curves.ts';
import { renderSvgRgb } from '../lib/runtime/image.ts';

const spec = (m: number[][]) => ({ rowLabels: ['b', 'a', 'b'], colLabels: ['a', 'b'], matrix: m });

test('side by side: one colour axis over every panel, each panel on its own axes, its title as the caption', () => {
  const before = crossSimilarityFigure(spec([[0.1, 0.2], [0.3, 0.1], [0.2, 0.2]]), { title: 'before' });
  const after = crossSimilarityFigure(spec([[-0.4, 0.9], [0.8, -0.2], [0.1, 0.7]]), { title: 'after' });
  const f = sideBySideHeatmaps([before, after], { title: 'x' });
  assert.deepEqual(f.data.map((t) => [t.xaxis, t.yaxis, t.coloraxis]), [['x', 'y', 'coloraxis'], ['x2', 'y2', 'coloraxis']]);
  assert.ok(f.data.every((t) => t.zmin === undefined && t.colorscale === undefined), 'the panels\' own scales are dropped');
  const ca = f.layout.coloraxis as { cmin: number; cmax: number };
  assert.deepEqual([ca.cmin, ca.cmax], [-0.4, 0.9], 'the range of all panels together');
  assert.deepEqual(f.data[1]!.z, after.data[0]!.z, 'cells untouched (rows grouped as crossSimilarityFigure groups them)');
  const notes = f.layout.annotations as { text: string }[];
  assert.match(notes[0]!.text, /^before<br>matching/);
  const [a, b] = [f.layout.xaxis as { domain: number[] }, f.layout.xaxis2 as { domain: number[] }];
  assert.ok(a.domain[1]! < b.domain[0]!, 'panels do not overlap');
  assert.deepEqual(sideBySideHeatmaps([before], { title: 'one', zRange: [0, 1] }).layout.coloraxis, { colorscale: 'Viridis', cmin: 0, cmax: 1, colorbar: { title: { text: 'cosine' } } });
  assert.throws(() => sideBySideHeatmaps([], { title: 'none' }), /no panels/);
});

test('SVG heatmaps: a rect per cell, rows grouped in column order, viridis ends, text escaped; librsvg renders it', async () => {
  assert.equal(viridis(0), '#440154');
  assert.equal(viridis(1), '#fde725');
  assert.equal(viridis(2), '#fde725', 'clamped');
  const m = [[0, 1], [1, 0], [0.5, 0.5]];
  const svg = heatmapsSvg([{ title: 'p <1>', ...spec(m) }, { title: 'p2', ...spec(m) }], { title: 'T & t', subtitle: ['a', 'b'], footer: 'npm run x', zRange: [0, 1] });
  const cells = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="26" height="6" fill="(#[0-9a-f]{6})"\/>/g)];
  assert.equal(cells.length, 2 * 3 * 2);
  // the first row drawn is the one labelled 'a' (column order), i.e. matrix row 1: [1, 0]
  assert.deepEqual(cells.slice(0, 2).map((c) => c[3]), [viridis(1), viridis(0)]);
  assert.ok(svg.includes('T &amp; t') && svg.includes('p &lt;1&gt;') && !svg.includes('p <1>'));
  assert.throws(() => heatmapsSvg([{ title: 'bad', rowLabels: ['a'], colLabels: ['a'], matrix: [[1, 2]] }], { title: 't' }), /must be 1×1/);
  const width = Number(/width="(\d+)"/.exec(svg)![1]), height = Number(/height="(\d+)"/.exec(svg)![1]);
  const raw = await renderSvgRgb(svg);
  assert.deepEqual([raw.width, raw.height], [width, height]);
  assert.deepEqual([...raw.data.subarray(0, 3)], [255, 255, 255], 'white background');
});

const epoch = (e: number, auc: number, acc: number): PretrainEpoch => ({
  epoch: e, step: 100 * e, heldout: { auc, tar: [{ far: 0.01, tar: auc / 2 }] }, hard: { auc, twinsOnly: { auc: 0.5 } },
  attributes: [{ name: 'gender', accuracy: acc, majority: 0.55 }, { name: 'glasses', accuracy: acc - 0.1, majority: 0.7 }],
});

test('pretraining curves: verification and attribute accuracy per epoch with each majority rate; loss per step from train-log.csv', () => {
  const f = pretrainEpochsFigure([epoch(1, 0.9, 0.8), epoch(2, 0.95, 0.9)]);
  const byName = new Map(f.data.map((t) => [t.name, t]));
  assert.deepEqual(byName.get('held-out AUC')!.y, [0.9, 0.95]);
  assert.deepEqual(byName.get('held-out TAR at FAR 1e-2')!.y, [0.45, 0.475]);
  assert.deepEqual(byName.get('gender')!.y, [0.8, 0.9]);
  assert.deepEqual(byName.get('gender: majority class')!.y, [0.55, 0.55]);
  assert.equal(byName.get('gender')!.xaxis, 'x2');
  assert.throws(() => pretrainEpochsFigure([]), /no epochs/);
  const log = parsePretrainLog('step,epoch,lr,loss,logitScale,gradNorm,seconds,pairsPerSec\n1,1,0.0001,9.5,14.3,3,1,64\n2,1,0.0002,8.25,14.4,2,1,64\n');
  assert.deepEqual(log, [{ step: 1, loss: 9.5, lr: 0.0001, logitScale: 14.3 }, { step: 2, loss: 8.25, lr: 0.0002, logitScale: 14.4 }]);
  assert.equal(parsePretrainLog('step,loss\n1,2\n'), null, 'a log without the needed columns');
  assert.match(String((pretrainStepsFigure(log!).layout.title as { text: string }).text), /2 steps, 9\.50 → 8\.25/);
});
