/**
 * Figures the notebooks need beyond lib/figures' run figures, as pure functions (spec in, plotly
 * {data, layout} out) in the same style: images with keypoints, threshold sweeps, rectangular
 * similarity heatmaps, ablation bars and scaling curves. Images travel as data: URIs inside an
 * `image` trace, so they display through the same `show()` as every other figure.
 */
import { BASE_LAYOUT, PALETTE, check, titled, type Figure, type Trace } from '../figures/types.ts';

type Point = readonly [number, number];

export interface ImagePanel {
  /** a data: URI (image/jpeg or image/png) */
  src: string;
  width: number;
  height: number;
  caption?: string;
  /** ground-truth 5 points, drawn as white rings */
  truth?: readonly Point[];
  /** detections drawn as a box and 5 crosses, one colour per detector */
  detections?: readonly { detector: string; box: readonly [number, number, number, number]; keypoints5: readonly Point[]; score?: number }[];
}

/**
 * Images side by side (`cols` per row, `panelPx` wide), each with its ground-truth keypoints (gold
 * rings) and detections (a box and crosses per detector).
 * Pixel coordinates as in the manifest: (0, 0) is the centre of the top-left pixel, y grows downwards.
 */
export function imagePanelsFigure(panels: readonly ImagePanel[], opts: { title?: string; cols?: number; panelPx?: number } = {}): Figure {
  check(panels.length > 0, 'imagePanelsFigure', 'no images');
  const cols = Math.min(opts.cols ?? 4, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const px = opts.panelPx ?? 240;
  // each row as tall as its tallest panel at `px` wide, plus room for the captions
  const CAPTION = 30;
  const rowPx = Array.from({ length: rows }, (_, r) => Math.round(px * Math.max(...panels.slice(r * cols, (r + 1) * cols).map((p) => p.height / p.width))));
  const plotPx = rowPx.reduce((a, b) => a + b + CAPTION, 0);
  const gap = 0.02;
  const data: Trace[] = [];
  const shapes: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {};
  const annotations: Record<string, unknown>[] = [];
  const detectors = [...new Set(panels.flatMap((p) => p.detections?.map((d) => d.detector) ?? []))];
  const colour = (d: string) => PALETTE[(detectors.indexOf(d) + 1) % PALETTE.length]!;
  const legendShown = new Set<string>();
  panels.forEach((p, i) => {
    const r = Math.floor(i / cols), c = i % cols;
    const ax = i === 0 ? '' : String(i + 1);
    const above = rowPx.slice(0, r).reduce((a, b) => a + b + CAPTION, 0);
    const x0 = c / cols + gap / 2, x1 = (c + 1) / cols - gap / 2;
    const y1 = 1 - above / plotPx, y0 = 1 - (above + rowPx[r]!) / plotPx;
    layout[`xaxis${ax}`] = { domain: [x0, x1], range: [-0.5, p.width - 0.5], visible: false, anchor: `y${ax}` };
    layout[`yaxis${ax}`] = { domain: [y0, y1], range: [p.height - 0.5, -0.5], visible: false, anchor: `x${ax}`, scaleanchor: `x${ax}` };
    const axes = { xaxis: `x${ax}`, yaxis: `y${ax}` };
    data.push({ type: 'image', source: p.src, x0: 0, y0: 0, dx: 1, dy: 1, hoverinfo: 'skip', ...axes });
    if (p.truth?.length) {
      data.push({
        type: 'scatter', mode: 'markers', name: 'ground truth', legendgroup: 'truth', showlegend: !legendShown.has('truth'),
        x: p.truth.map((q) => q[0]), y: p.truth.map((q) => q[1]),
        marker: { symbol: 'circle-open', size: 9, color: '#FFD700', line: { width: 2 } }, ...axes,
      });
      legendShown.add('truth');
    }
    for (const d of p.detections ?? []) {
      data.push({
        type: 'scatter', mode: 'markers', name: d.detector, legendgroup: d.detector, showlegend: !legendShown.has(d.detector),
        x: d.keypoints5.map((q) => q[0]), y: d.keypoints5.map((q) => q[1]),
        marker: { symbol: 'x', size: 8, color: colour(d.detector) },
        hovertemplate: `${d.detector}${d.score === undefined ? '' : ` (score ${d.score.toFixed(2)})`}<br>(%{x:.1f}, %{y:.1f})<extra></extra>`, ...axes,
      });
      legendShown.add(d.detector);
      const [bx, by, bw, bh] = d.box;
      shapes.push({ type: 'rect', xref: `x${ax}`, yref: `y${ax}`, x0: bx, y0: by, x1: bx + bw, y1: by + bh, line: { color: colour(d.detector), width: 2 } });
    }
    if (p.caption) {
      shapes.push({ type: 'rect', xref: `x${ax} domain`, yref: `y${ax} domain`, x0: 0, x1: 1, y0: 0, y1: 1, line: { color: '#ccc', width: 1 } });
      annotations.push({
        text: p.caption, xref: `x${ax} domain`, yref: `y${ax} domain`, x: 0.5, y: -0.01, yanchor: 'top', showarrow: false, font: { size: 10 },
      });
    }
  });
  return {
    data,
    layout: {
      ...BASE_LAYOUT, ...layout, shapes, annotations,
      title: titled(opts.title ?? 'Images'),
      width: Math.max(420, cols * px + 160), height: plotPx + 70,
      margin: { l: 10, r: 150, t: 50, b: 20 },
      legend: { x: 1.01, y: 1 },
    },
  };
}

export interface Series {
  name: string;
  x: readonly number[];
  y: readonly (number | null)[];
  /** dashed line (e.g. a standard measure beside the paper's) */
  dash?: boolean;
}

/** Lines over a shared x axis (threshold sweeps); `markX` draws a vertical rule (the 0.8 threshold). */
export function linesFigure(series: readonly Series[], opts: { title: string; xTitle: string; yTitle: string; markX?: number; yRange?: [number, number]; logX?: boolean }): Figure {
  const data: Trace[] = series.map((s, i) => {
    check(s.x.length === s.y.length, 'linesFigure', `${s.name}: x and y differ in length`);
    return {
      type: 'scatter', mode: 'lines+markers', name: s.name, x: [...s.x], y: [...s.y],
      line: { color: PALETTE[i % PALETTE.length], dash: s.dash ? 'dash' : 'solid' }, marker: { size: 5 },
    };
  });
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title),
      xaxis: { title: { text: opts.xTitle }, ...(opts.logX ? { type: 'log' } : {}), zeroline: false },
      yaxis: { title: { text: opts.yTitle }, ...(opts.yRange ? { range: opts.yRange } : {}) },
      shapes: opts.markX === undefined ? [] : [{ type: 'line', xref: 'x', yref: 'paper', x0: opts.markX, x1: opts.markX, y0: 0, y1: 1, line: { color: '#888', dash: 'dot' } }],
      width: 820, height: 460,
    },
  };
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

export interface BarGroup {
  /** one bar group per arm */
  name: string;
  values: Record<string, number | null>;
}

/** Grouped bars: one group per arm, one bar per measure (fractions shown as %). */
export function groupedBarsFigure(groups: readonly BarGroup[], measures: readonly string[], opts: { title: string; yTitle?: string; percent?: boolean }): Figure {
  const k = opts.percent === false ? 1 : 100;
  return {
    data: measures.map((m, i) => ({
      type: 'bar', name: m, x: groups.map((g) => g.name), y: groups.map((g) => (g.values[m] === null || g.values[m] === undefined ? null : g.values[m]! * k)),
      marker: { color: PALETTE[i % PALETTE.length] }, hovertemplate: `%{x}<br>${m}: %{y:.1f}<extra></extra>`,
    })),
    layout: {
      ...BASE_LAYOUT, barmode: 'group',
      title: titled(opts.title),
      yaxis: { title: { text: opts.yTitle ?? (k === 100 ? '%' : '') }, ...(k === 100 ? { range: [0, 100] } : {}) },
      xaxis: { tickangle: groups.length > 4 ? -30 : 0 },
      width: Math.max(640, 140 * groups.length + 200), height: 460,
    },
  };
}

export interface ScalingPoint {
  ids: number;
  ms: number;
  rssMiB: number;
}

/** Step time and peak memory against the number of identities, two panels, log–log when wide. */
export function scalingFigure(series: readonly { name: string; points: readonly ScalingPoint[] }[], opts: { title?: string } = {}): Figure {
  const ids = series.flatMap((s) => s.points.map((p) => p.ids));
  const log = ids.length > 1 && Math.max(...ids) / Math.max(1, Math.min(...ids)) >= 20;
  const data: Trace[] = series.flatMap((s, i) => {
    const pts = [...s.points].sort((a, b) => a.ids - b.ids);
    const colour = PALETTE[i % PALETTE.length];
    return [
      { type: 'scatter', mode: 'lines+markers', name: s.name, legendgroup: s.name, x: pts.map((p) => p.ids), y: pts.map((p) => p.ms), line: { color: colour }, xaxis: 'x', yaxis: 'y', hovertemplate: '%{x} ids: %{y:.0f} ms<extra>%{fullData.name}</extra>' },
      { type: 'scatter', mode: 'lines+markers', name: s.name, legendgroup: s.name, showlegend: false, x: pts.map((p) => p.ids), y: pts.map((p) => p.rssMiB), line: { color: colour, dash: 'dot' }, xaxis: 'x2', yaxis: 'y2', hovertemplate: '%{x} ids: %{y:.0f} MiB<extra>%{fullData.name}</extra>' },
    ];
  });
  const xa = (domain: [number, number], anchor: string) => ({ domain, anchor, title: { text: 'identities (prompts per step)' }, ...(log ? { type: 'log' } : {}) });
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title ?? 'One text-tower finetuning step vs number of identities'),
      xaxis: xa([0, 0.45], 'y'), yaxis: { title: { text: 'ms per step (median)' }, anchor: 'x', ...(log ? { type: 'log' } : {}) },
      xaxis2: xa([0.55, 1], 'y2'), yaxis2: { title: { text: 'peak RSS (MiB)' }, anchor: 'x2' },
      width: 980, height: 440,
    },
  };
}
