/** Lines over a shared x axis (notebook 6's threshold sweeps of the paper's and ISO measures). */
import { BASE_LAYOUT, PALETTE, check, titled, type Figure, type Trace } from './types.ts';

export interface LineSeries {
  name: string;
  x: readonly number[];
  y: readonly (number | null)[];
  /** dashed line (e.g. a standard measure beside the paper's) */
  dash?: boolean;
}

/** Lines over a shared x axis (threshold sweeps); `markX` draws a vertical rule (the 0.8 threshold). */
export function linesFigure(series: readonly LineSeries[], opts: { title: string; xTitle: string; yTitle: string; markX?: number; yRange?: [number, number]; logX?: boolean }): Figure {
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
