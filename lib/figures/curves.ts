/**
 * Error-trade-off curves. DET as NIST FRTE 1:N draws it (FNIR against FPIR as the threshold moves,
 * both on log axes); ROC (true-positive rate against false-positive rate, linear or log x).
 * A log axis cannot show 0, so zero rates are drawn at a floor and say so in their hover text.
 */
import { BASE_LAYOUT, check, PALETTE, titled, toCsv, type Figure, type Trace } from './types.ts';

export interface DetSweep {
  name: string;
  fpir: number[];
  fnir: number[];
  /** the threshold behind each point (optional; shown on hover and used by `markThreshold`) */
  thresholds?: number[];
}

export interface RocCurve {
  name: string;
  fpr: number[];
  tpr: number[];
  auc?: number;
}

interface Pt { x: number; y: number; t?: number }

/** DET points ordered along the curve: FPIR falling, FNIR rising; exact repeats dropped. */
export function detPoints(s: DetSweep): Pt[] {
  check(s.fpir.length === s.fnir.length, 'detFigure', `${s.name}: fpir and fnir differ in length`);
  const pts = s.fpir.map((x, i) => ({ x, y: s.fnir[i]!, t: s.thresholds?.[i] ?? undefined }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .sort((a, b) => b.x - a.x || a.y - b.y);
  return pts.filter((p, i) => i === 0 || p.x !== pts[i - 1]!.x || p.y !== pts[i - 1]!.y);
}

/** The log-axis floor: 1e-3, or lower when a sweep has a smaller non-zero rate. */
export function logFloor(values: Iterable<number>, floor = 1e-3): number {
  let f = floor;
  for (const v of values) if (v > 0 && v / 2 < f) f = v / 2;
  return f;
}

const fmtRate = (v: number) => (v === 0 ? '0' : v.toPrecision(3));

export interface DetOptions {
  title?: string;
  /** draw zero rates at this value (default: `logFloor` of all rates) */
  floor?: number;
  /** mark each sweep's operating point at the lowest threshold ≥ this (e.g. the paper's 0.8) */
  markThreshold?: number;
}

export function detFigure(sweeps: readonly DetSweep[], opts: DetOptions = {}): Figure {
  const curves = sweeps.map((s) => ({ s, pts: detPoints(s) }));
  const floor = opts.floor ?? logFloor(curves.flatMap(({ pts }) => pts.flatMap((p) => [p.x, p.y])));
  const at = (v: number) => Math.max(v, floor);
  const data: Trace[] = curves.map(({ s, pts }, k) => ({
    type: 'scatter', mode: 'lines+markers', name: s.name,
    x: pts.map((p) => at(p.x)), y: pts.map((p) => at(p.y)),
    line: { shape: 'hv', color: PALETTE[k % PALETTE.length] }, marker: { size: 5 },
    text: pts.map((p) => `FPIR ${fmtRate(p.x)}, FNIR ${fmtRate(p.y)}${p.t === undefined ? '' : `<br>threshold ${p.t}`}${p.x < floor || p.y < floor ? '<br>(0 drawn at the floor)' : ''}`),
    hovertemplate: '%{text}<extra>%{fullData.name}</extra>',
  }));
  if (opts.markThreshold !== undefined) {
    curves.forEach(({ s, pts }, k) => {
      const hit = pts.filter((p) => p.t !== undefined && p.t >= opts.markThreshold!).sort((a, b) => a.t! - b.t!)[0];
      if (hit) data.push({
        type: 'scatter', mode: 'markers', name: `${s.name} @ T=${opts.markThreshold}`, x: [at(hit.x)], y: [at(hit.y)],
        marker: { symbol: 'star', size: 14, color: PALETTE[k % PALETTE.length], line: { color: 'black', width: 1 } },
        hovertemplate: `threshold ${hit.t}<br>FPIR ${fmtRate(hit.x)}, FNIR ${fmtRate(hit.y)}<extra></extra>`,
      });
    });
  }
  const range = [Math.log10(floor) - 0.15, 0.08];
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title ?? 'DET (open-set identification): FNIR vs FPIR'),
      xaxis: { type: 'log', range, title: { text: 'FPIR: unknown people accepted (log)' }, gridcolor: '#e5e5e5' },
      yaxis: { type: 'log', range, title: { text: 'FNIR: enrolled people not named (log)' }, gridcolor: '#e5e5e5' },
      annotations: [{ xref: 'paper', yref: 'paper', x: 0, y: 1.01, xanchor: 'left', yanchor: 'bottom', showarrow: false, font: { size: 10, color: '#666' },
        text: `rates of 0 are drawn at ${floor.toPrecision(2)}` }],
      legend: { x: 0.02, xanchor: 'left', y: 0.02, yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.85)' },
      width: 700, height: 560,
    },
  };
}

export function rocFigure(curves: readonly RocCurve[], opts: { title?: string; logX?: boolean } = {}): Figure {
  const all = curves.map((c) => {
    check(c.fpr.length === c.tpr.length, 'rocFigure', `${c.name}: fpr and tpr differ in length`);
    return { c, pts: c.fpr.map((x, i) => ({ x, y: c.tpr[i]! })).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x || a.y - b.y) };
  });
  const floor = opts.logX ? logFloor(all.flatMap(({ pts }) => pts.map((p) => p.x))) : 0;
  const data: Trace[] = all.map(({ c, pts }, k) => ({
    type: 'scatter', mode: 'lines', name: c.auc === undefined ? c.name : `${c.name} (AUC ${c.auc.toFixed(3)})`,
    x: pts.map((p) => Math.max(p.x, floor)), y: pts.map((p) => p.y),
    line: { shape: 'hv', color: PALETTE[k % PALETTE.length], width: 2 },
  }));
  if (!opts.logX) data.push({ type: 'scatter', mode: 'lines', name: 'chance', x: [0, 1], y: [0, 1], line: { dash: 'dot', color: '#999' }, hoverinfo: 'skip' });
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title ?? 'ROC'),
      xaxis: opts.logX ? { type: 'log', range: [Math.log10(floor) - 0.1, 0.02], title: { text: 'false-positive rate (log)' } }
        : { range: [-0.01, 1.01], title: { text: 'false-positive rate' }, constrain: 'domain' },
      yaxis: { range: [-0.01, 1.01], title: { text: 'true-positive rate' } },
      legend: { x: 0.99, xanchor: 'right', y: 0.02, yanchor: 'bottom', bgcolor: 'rgba(255,255,255,0.8)' },
      width: 640, height: 560,
    },
  };
}

export function detCsv(sweeps: readonly DetSweep[]): string {
  return toCsv(['name', 'threshold', 'fpir', 'fnir'], sweeps.flatMap((s) => s.fpir.map((x, i) => [s.name, s.thresholds?.[i] ?? '', x, s.fnir[i]])));
}

export function rocCsv(curves: readonly RocCurve[]): string {
  return toCsv(['name', 'fpr', 'tpr'], curves.flatMap((c) => c.fpr.map((x, i) => [c.name, x, c.tpr[i]])));
}
