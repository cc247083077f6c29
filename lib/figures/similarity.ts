/**
 * Cosine similarity of image embeddings (paper §VI-B: "CLIP image features of different faces
 * have ~0.8 cosine similarity"): the full image × image matrix ordered by identity, beside the
 * block means (mean cosine within each identity and between each pair of identities); and the
 * rectangular image × prompt matrix (notebook 7), rows grouped by identity in prompt order.
 */
import { BASE_LAYOUT, check, titled, toCsv, type Figure } from './types.ts';

/** Cosine similarity of every pair of rows of [n, dim] features, in float64 (lib/util/rows.ts). */
export { cosineMatrix } from '../util/rows.ts';

export interface SimilaritySpec {
  /** the identity of each row/column */
  labels: string[];
  /** n × n cosine similarities, rows in the same order as `labels` */
  matrix: number[][];
}

export interface SimilarityBlocks {
  /** row indices of the input, grouped by identity (identities in `identities` order, rows stable) */
  order: number[];
  identities: string[];
  /** [start, end) of each identity in the ordered matrix */
  ranges: [number, number][];
  /** means[a][b]: mean cosine between images of identity a and b; a === b excludes self-pairs (NaN for a single image) */
  means: number[][];
  /** pair counts behind each mean */
  pairs: number[][];
  /** mean over all within-identity pairs (self-pairs excluded) and over all across-identity pairs */
  within: number;
  across: number;
}

/** Group rows by identity (sorted names unless `identityOrder` is given) and average each block. */
export function similarityBlocks(spec: SimilaritySpec, identityOrder?: readonly string[]): SimilarityBlocks {
  const { labels, matrix } = spec;
  const n = labels.length;
  check(matrix.length === n && matrix.every((r) => r.length === n), 'similarityBlocks', `matrix must be ${n}×${n} to match labels`);
  const identities = [...(identityOrder ?? [...new Set(labels)].sort((a, b) => a.localeCompare(b)))];
  for (const l of new Set(labels)) if (!identities.includes(l)) identities.push(l);
  const order: number[] = [];
  const ranges: [number, number][] = [];
  for (const id of identities) {
    const start = order.length;
    labels.forEach((l, i) => { if (l === id) order.push(i); });
    ranges.push([start, order.length]);
  }
  const k = identities.length;
  const sums = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const pairs = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let wSum = 0, wN = 0, aSum = 0, aN = 0;
  ranges.forEach(([s0, e0], a) => ranges.forEach(([s1, e1], b) => {
    for (let i = s0; i < e0; i++) for (let j = s1; j < e1; j++) {
      if (i === j) continue;
      const v = matrix[order[i]!]![order[j]!]!;
      sums[a]![b]! += v;
      pairs[a]![b]!++;
      if (a === b) { wSum += v; wN++; } else { aSum += v; aN++; }
    }
  }));
  const means = sums.map((row, a) => row.map((s, b) => (pairs[a]![b]! ? s / pairs[a]![b]! : NaN)));
  return { order, identities, ranges, means, pairs, within: wN ? wSum / wN : NaN, across: aN ? aSum / aN : NaN };
}

export interface SimilarityOptions {
  title?: string;
  identityOrder?: readonly string[];
}

const nullIfNaN = (x: number) => (Number.isFinite(x) ? x : null);

export function similarityHeatmapFigure(spec: SimilaritySpec, opts: SimilarityOptions = {}): Figure {
  const b = similarityBlocks(spec, opts.identityOrder);
  const n = b.order.length;
  const z = b.order.map((i) => b.order.map((j) => spec.matrix[i]![j]!));
  const centers = b.ranges.map(([s, e]) => (s + e - 1) / 2);
  const finite = z.flat().concat(b.means.flat()).filter(Number.isFinite);
  const cmin = Math.min(0, ...finite);
  const hover = n <= 150 ? b.order.map((i) => b.order.map((j) => `${spec.labels[i]} #${i} × ${spec.labels[j]} #${j}`)) : undefined;
  const ticks = { tickvals: centers, ticktext: b.identities };
  const shapes = b.ranges.map(([s, e]) => ({
    type: 'rect', xref: 'x', yref: 'y', x0: s - 0.5, x1: e - 0.5, y0: s - 0.5, y1: e - 0.5,
    line: { color: 'white', width: 1.5 }, fillcolor: 'rgba(0,0,0,0)',
  }));
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  return {
    data: [
      {
        type: 'heatmap', name: 'images', z, coloraxis: 'coloraxis', xaxis: 'x', yaxis: 'y',
        ...(hover ? { text: hover, hovertemplate: '%{text}<br>cos %{z:.3f}<extra></extra>' } : {}),
      },
      {
        type: 'heatmap', name: 'block means', x: b.identities, y: b.identities, z: b.means.map((r) => r.map(nullIfNaN)),
        coloraxis: 'coloraxis', xaxis: 'x2', yaxis: 'y2', texttemplate: '%{z:.2f}', textfont: { size: b.identities.length > 15 ? 8 : 11 },
        customdata: b.pairs, hovertemplate: '%{y} × %{x}<br>mean cos %{z:.3f}<br>%{customdata} pairs<extra></extra>',
      },
    ],
    layout: {
      ...BASE_LAYOUT,
      title: titled(`${opts.title ?? 'Cosine similarity of image embeddings'} · mean within identity ${fmt(b.within)} · across ${fmt(b.across)}`),
      coloraxis: { colorscale: 'Viridis', cmin, cmax: 1, colorbar: { title: { text: 'cosine' } } },
      xaxis: { domain: [0, 0.55], ...ticks, tickangle: -45, title: { text: `images (${n}), grouped by identity` }, showgrid: false, zeroline: false },
      yaxis: { domain: [0, 1], ...ticks, autorange: 'reversed', scaleanchor: 'x', showgrid: false, zeroline: false },
      xaxis2: { domain: [0.63, 1], anchor: 'y2', type: 'category', tickangle: -45, title: { text: 'block means' } },
      yaxis2: { domain: [0, 1], anchor: 'x2', type: 'category', autorange: 'reversed', scaleanchor: 'x2' },
      shapes,
      width: 1140,
      height: 560,
      margin: { ...BASE_LAYOUT.margin, l: 150, b: 140 },
    },
  };
}

/** One line per identity pair: identity_a,identity_b,mean_cosine,pairs. */
export function similarityCsv(spec: SimilaritySpec, identityOrder?: readonly string[]): string {
  const b = similarityBlocks(spec, identityOrder);
  const rows = b.identities.flatMap((a, i) => b.identities.map((c, j) => [a, c, Number.isFinite(b.means[i]![j]!) ? b.means[i]![j] : '', b.pairs[i]![j]]));
  return toCsv(['identity_a', 'identity_b', 'mean_cosine', 'pairs'], rows);
}

export interface CrossSimilaritySpec {
  /** one label per row (e.g. the image's identity) */
  rowLabels: readonly string[];
  /** one label per column (e.g. the class prompt's identity) */
  colLabels: readonly string[];
  /** rows × cols cosines */
  matrix: readonly (readonly number[])[];
}

/** Mean of the matching-label cells and of the rest (the diagonal-block contrast of a cross heatmap). */
export function crossSimilarityStats(spec: CrossSimilaritySpec): { matched: number; other: number } {
  let m = 0, mn = 0, o = 0, on = 0;
  spec.matrix.forEach((row, i) => row.forEach((v, j) => {
    if (spec.rowLabels[i] === spec.colLabels[j]) { m += v; mn++; } else { o += v; on++; }
  }));
  return { matched: mn ? m / mn : NaN, other: on ? o / on : NaN };
}

/**
 * A rows × columns cosine heatmap (image × prompt), rows grouped by label in column order, with
 * the mean over matching pairs and over the others in the title.
 */
export function crossSimilarityFigure(spec: CrossSimilaritySpec, opts: { title?: string; rowTitle?: string; colTitle?: string; zRange?: [number, number] } = {}): Figure {
  const { rowLabels, colLabels, matrix } = spec;
  check(matrix.length === rowLabels.length && matrix.every((r) => r.length === colLabels.length), 'crossSimilarityFigure', `matrix must be ${rowLabels.length}×${colLabels.length}`);
  const rank = (l: string) => { const k = colLabels.indexOf(l); return k < 0 ? colLabels.length : k; };
  const order = rowLabels.map((_, i) => i).sort((a, b) => rank(rowLabels[a]!) - rank(rowLabels[b]!) || a - b);
  const s = crossSimilarityStats(spec);
  const z = order.map((i) => [...matrix[i]!]);
  const all = z.flat();
  return {
    data: [{
      type: 'heatmap', z, x: [...colLabels], y: order.map((_, k) => k),
      colorscale: 'Viridis', zmin: opts.zRange?.[0] ?? Math.min(...all), zmax: opts.zRange?.[1] ?? Math.max(...all),
      text: order.map((i) => colLabels.map(() => rowLabels[i])), colorbar: { title: { text: 'cosine' } },
      hovertemplate: 'image of %{text}<br>prompt of %{x}<br>cos %{z:.3f}<extra></extra>',
    }],
    layout: {
      ...BASE_LAYOUT,
      title: titled(`${opts.title ?? 'Image × prompt cosine similarity'} · matching ${s.matched.toFixed(3)} · other ${s.other.toFixed(3)}`),
      xaxis: { title: { text: opts.colTitle ?? 'class prompt' }, type: 'category', tickangle: -45 },
      yaxis: {
        title: { text: opts.rowTitle ?? `images (${rowLabels.length}), grouped by identity` }, autorange: 'reversed',
        ...groupTicks(order.map((i) => rowLabels[i]!)),
      },
      width: 760, height: 560, margin: { ...BASE_LAYOUT.margin, b: 110 },
    },
  };
}

/** One tick at the centre of each run of equal labels. */
function groupTicks(labels: readonly string[]): { tickvals: number[]; ticktext: string[] } {
  const tickvals: number[] = [], ticktext: string[] = [];
  for (let s = 0; s < labels.length;) {
    let e = s;
    while (e + 1 < labels.length && labels[e + 1] === labels[s]) e++;
    tickvals.push((s + e) / 2);
    ticktext.push(labels[s]!);
    s = e + 1;
  }
  return { tickvals, ticktext };
}
