/**
 * Images side by side with keypoints (notebook 2: ground truth against each detector, aligned
 * crops as a contact sheet). Images travel as data: URIs inside a plotly `image` trace, so they
 * display through the same `show()` as every other figure.
 */
import { BASE_LAYOUT, PALETTE, check, titled, type Figure, type Trace } from './types.ts';

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
