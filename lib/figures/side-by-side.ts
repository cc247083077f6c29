/**
 * Heatmaps side by side on one colour scale, the way the paper's §VI-B compares cosines before and
 * after finetuning: each panel is a one-heatmap figure of this folder (crossSimilarityFigure, …)
 * whose axes move into a column of their own and whose title becomes the column's caption. One
 * colour axis for all panels, so equal colours mean equal cosines across them.
 */
import { BASE_LAYOUT, check, titled, type Figure, type Trace } from './types.ts';

const GAP = 0.06;

export function sideBySideHeatmaps(panels: readonly Figure[], opts: { title: string; zRange?: [number, number]; panelWidth?: number }): Figure {
  check(panels.length > 0, 'sideBySideHeatmaps', 'no panels');
  const traces = panels.map((p, i) => {
    const t = p.data.find((d) => d.type === 'heatmap');
    check(t, 'sideBySideHeatmaps', `panel ${i + 1} has no heatmap`);
    return t;
  });
  const all = traces.flatMap((t) => (t.z as number[][]).flat()).filter(Number.isFinite);
  const [cmin, cmax] = opts.zRange ?? [Math.min(...all), Math.max(...all)];
  const k = panels.length, w = (1 - GAP * (k - 1)) / k;
  const layout: Record<string, unknown> = {
    ...BASE_LAYOUT,
    title: titled(opts.title),
    coloraxis: { colorscale: 'Viridis', cmin, cmax, colorbar: { title: { text: 'cosine' } } },
    width: (opts.panelWidth ?? 520) * k + 140, height: 600,
    margin: { ...BASE_LAYOUT.margin, t: 100, b: 120 },
  };
  const annotations: Record<string, unknown>[] = [];
  const data: Trace[] = traces.map((t, i) => {
    const ax = i === 0 ? '' : String(i + 1);
    const src = panels[i]!.layout;
    const x0 = i * (w + GAP);
    layout[`xaxis${ax}`] = { ...(src.xaxis as object), domain: [x0, x0 + w], anchor: `y${ax}` };
    layout[`yaxis${ax}`] = { ...(src.yaxis as object), anchor: `x${ax}`, ...(i > 0 ? { title: { text: '' } } : {}) };
    const caption = ((src.title as { text?: string } | undefined)?.text ?? '').replace(' · ', '<br>');
    annotations.push({ text: caption, x: x0 + w / 2, y: 1.02, xref: 'paper', yref: 'paper', xanchor: 'center', yanchor: 'bottom', showarrow: false, font: { size: 12 } });
    const { colorscale: _c, zmin: _lo, zmax: _hi, colorbar: _b, ...rest } = t;
    return { ...rest, type: 'heatmap', coloraxis: 'coloraxis', xaxis: `x${ax}`, yaxis: `y${ax}` };
  });
  layout.annotations = annotations;
  return { data, layout };
}
