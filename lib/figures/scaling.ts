/** Step time and peak memory against the number of identities (notebook 8, `clipface bench`). */
import { BASE_LAYOUT, PALETTE, titled, type Figure, type Trace } from './types.ts';

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
