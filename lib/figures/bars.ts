/** Grouped bars (notebooks 4 and 5: one group per arm of an ablation grid, one bar per measure). */
import { BASE_LAYOUT, PALETTE, titled, type Figure } from './types.ts';

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
