/**
 * The shape every figure function returns: a plotly figure as plain JSON ({data, layout}), the
 * object `Plotly.newPlot(div, data, layout)` takes and the `application/vnd.plotly.v1+json` MIME
 * bundle carries. Nothing here touches the DOM, so figures are built and tested under plain node.
 */

/** One plotly trace (heatmap, scatter, table, ...); kept open because plotly's schema is huge. */
export type Trace = { type: string } & Record<string, unknown>;

export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
}

/** Font and margins shared by every figure, so a report page looks like one document. */
export const BASE_LAYOUT = {
  font: { family: 'DejaVu Sans, Helvetica, Arial, sans-serif', size: 12 },
  margin: { l: 80, r: 30, t: 60, b: 70 },
  paper_bgcolor: 'white',
  plot_bgcolor: 'white',
} as const;

export function titled(text: string): { text: string; x: number; xanchor: string } {
  return { text, x: 0.02, xanchor: 'left' };
}

/** A colour per series, colour-blind safe (Okabe & Ito 2008). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

/** RFC 4180 CSV (util/csv.ts): every figure carries its numbers as CSV too. */
export { toCsv } from '../util/csv.ts';

/** Throw a RangeError naming the figure when a spec is inconsistent (caller's bug, not user input). */
export function check(cond: unknown, fn: string, message: string): asserts cond {
  if (!cond) throw new RangeError(`${fn}: ${message}`);
}
