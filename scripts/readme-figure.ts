/**
 * The README's figure, docs/demo-similarity.png ("What you will see"), made from a finished demo
 * run: held-out photo × class prompt cosines with the names before the text-tower finetune, after
 * it, and with each person described in words to the zero-shot model, on one colour scale, under
 * the run's headline numbers (closed set, the paper's deployment table). Also prints those numbers
 * as the README's lines, so the page and the picture come from the same run.
 *
 *   npm run -s readme:figure [-- <run dir>]
 *
 * Without a run folder it reuses the latest finished run of experiments/demo.json as `npm run demo`
 * makes it (same resolved config), or runs it. Plotly cannot rasterise without a browser, so the
 * picture is an SVG (lib/figures/svg-heatmaps.ts) turned into a PNG by librsvg through sharp's one
 * door (lib/runtime/image.ts).
 */
import { mkdirSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { encodePng, renderSvgRgb } from '../lib/runtime/image.ts';
import { heatmapsSvg } from '../lib/figures/svg-heatmaps.ts';
import { runOrReuse } from '../lib/notebook/runs.ts';
import { runSimilarity } from '../lib/notebook/similarity.ts';
import { readRunMetrics } from '../lib/report/read-metrics.ts';
import { writeFileAtomic } from '../lib/util/fs-atomic.ts';
import { repoRoot } from '../lib/util/paths.ts';
import { UserError } from '../lib/util/errors.ts';

const OUT = join(repoRoot, 'docs', 'demo-similarity.png');
const COMMAND = 'npm run -s readme:figure';

try {
  const dir = process.argv[2] ? resolve(process.argv[2]) : (await runOrReuse('experiments/demo.json')).dir;
  const { metrics, problem } = readRunMetrics(dir);
  if (!metrics) throw new UserError(problem!);
  const d = metrics.deployment;
  if (!d) throw new UserError(`${join(dir, 'metrics.json')}: the run has no deployment session; make the figure from a run of experiments/demo.json`);
  const s = await runSimilarity(dir);
  const pct = (x: number | null | undefined) => (typeof x === 'number' ? `${(100 * x).toFixed(1)} %` : 'n/a');
  const top1 = (m: number[][]) => m.filter((r, i) => s.classes[r.indexOf(Math.max(...r))] === s.imageLabels[i]).length / m.length;
  const cs = metrics.closedSet.accuracy;
  const lines = [
    `Closed set after the finetune: ${pct(cs)} of ${s.imageLabels.length} held-out photos named right (chance ${pct(1 / s.classes.length)}).`,
    `Zero-shot, before any finetune: ${pct(top1(s.imagePrompt.before))} by name${s.described ? `, ${pct(top1(s.described.imagePrompt))} from a description in words` : ''}.`,
    `Deployment at confidence ${d.threshold} (paper accounting): TP ${d.tp}, FN ${d.fn}, FP ${d.fp}, TN ${d.tn}: accuracy ${pct(d.accuracy)}, FPR ${pct(d.fpr)}, FNR ${pct(d.fnr)}.`,
  ];
  const panel = (title: string, matrix: number[][]) => ({ title, rowLabels: s.imageLabels, colLabels: s.classes, matrix });
  const svg = heatmapsSvg([
    panel('named, before the finetune', s.imagePrompt.before),
    panel('named, after the finetune', s.imagePrompt.after),
    ...(s.described ? [panel('described in words, zero-shot', s.described.imagePrompt)] : []),
  ], {
    title: `The demo, ${basename(dir)}: held-out photo × class prompt cosine`,
    subtitle: lines,
    footer: `${COMMAND}  (scripts/readme-figure.ts; teaching CLIP trained on synthetic cartoon faces: it shows the mechanism, not CLIP-RN50's numbers)`,
  });
  const raw = await renderSvgRgb(svg);
  mkdirSync(join(repoRoot, 'docs'), { recursive: true });
  writeFileAtomic(OUT, await encodePng({ ...raw, source: OUT }));
  process.stderr.write(`readme figure: ${relative(repoRoot, OUT)} (${raw.width}×${raw.height}) from ${relative(repoRoot, dir)}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
} catch (e) {
  if (!(e instanceof UserError)) throw e;
  process.stderr.write(`readme figure: ${e.message}\n`);
  process.exit(1);
}
