/**
 * Heatmaps side by side as a standalone SVG, for a committed PNG (the README's figure): plotly
 * needs a browser to rasterise, so this draws the same picture as `sideBySideHeatmaps` with plain
 * SVG rectangles and text, which librsvg (through lib/runtime/image.ts) turns into pixels offline.
 * Rows are grouped by label in column order, as `crossSimilarityFigure` groups them; one colour
 * scale (viridis) for every panel. Pure: spec in, SVG text out.
 */
import { check } from './types.ts';

export interface SvgHeatmapPanel {
  title: string;
  /** one label per row (an image's person) */
  rowLabels: readonly string[];
  /** one label per column (a prompt's person) */
  colLabels: readonly string[];
  matrix: readonly (readonly number[])[];
}

export interface SvgHeatmapOptions {
  title: string;
  /** lines under the title (headline numbers, what the panels are) */
  subtitle?: readonly string[];
  /** a last line in grey (e.g. the command that regenerates the file) */
  footer?: string;
  zRange?: [number, number];
  cellWidth?: number;
  cellHeight?: number;
}

// matplotlib's viridis at 9 evenly spaced stops (van der Walt & Smith, 2015), interpolated linearly
const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725']
  .map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));

export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
  const c = VIRIDIS[i]!.map((v, k) => Math.round(v + f * (VIRIDIS[i + 1]![k]! - v)));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const text = (x: number, y: number, s: string, o: { size?: number; anchor?: string; weight?: string; fill?: string } = {}) =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${o.size ?? 12}" text-anchor="${o.anchor ?? 'start'}"${o.weight ? ` font-weight="${o.weight}"` : ''} fill="${o.fill ?? '#222'}">${esc(s)}</text>`;

export function heatmapsSvg(panels: readonly SvgHeatmapPanel[], opts: SvgHeatmapOptions): string {
  check(panels.length > 0, 'heatmapsSvg', 'no panels');
  for (const p of panels) check(p.matrix.length === p.rowLabels.length && p.matrix.every((r) => r.length === p.colLabels.length), 'heatmapsSvg', `${p.title}: matrix must be ${p.rowLabels.length}×${p.colLabels.length}`);
  const all = panels.flatMap((p) => p.matrix.flat()).filter(Number.isFinite);
  const [lo, hi] = opts.zRange ?? [Math.min(...all), Math.max(...all)];
  const cw = opts.cellWidth ?? 26, ch = opts.cellHeight ?? 6;
  const sub = opts.subtitle ?? [];
  const left = 64, top = 46 + 18 * sub.length + 44, gap = 34, barW = 16;
  const rowsMax = Math.max(...panels.map((p) => p.rowLabels.length));
  const panelW = panels.map((p) => p.colLabels.length * cw);
  const plotH = rowsMax * ch;
  // wide enough for the longest line of text too (about 0.6 em per character in DejaVu Sans)
  const longest = Math.max(opts.title.length * 17, ...sub.map((l) => l.length * 13), (opts.footer ?? '').length * 11) * 0.6;
  const width = Math.ceil(Math.max(left + panelW.reduce((a, b) => a + b + gap, 0) + barW + 60, left + longest + 20));
  const height = top + plotH + 46 + (opts.footer ? 24 : 0);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`, `<rect width="${width}" height="${height}" fill="white"/>`];
  out.push(text(left, 28, opts.title, { size: 17, weight: 'bold' }));
  sub.forEach((s, i) => out.push(text(left, 50 + 18 * i, s, { size: 13, fill: '#333' })));
  let x0 = left;
  panels.forEach((p, k) => {
    const rank = (l: string) => { const r = p.colLabels.indexOf(l); return r < 0 ? p.colLabels.length : r; };
    const order = p.rowLabels.map((_, i) => i).sort((a, b) => rank(p.rowLabels[a]!) - rank(p.rowLabels[b]!) || a - b);
    out.push(text(x0 + panelW[k]! / 2, top - 12, p.title, { size: 13, anchor: 'middle', weight: 'bold' }));
    order.forEach((i, r) => p.matrix[i]!.forEach((v, c) => {
      out.push(`<rect x="${x0 + c * cw}" y="${top + r * ch}" width="${cw}" height="${ch}" fill="${viridis((v - lo) / (hi - lo || 1))}"/>`);
    }));
    // a white line between people, and each person's id at the middle of its rows (left panel only)
    let start = 0;
    order.forEach((i, r) => {
      const last = r === order.length - 1 || p.rowLabels[order[r + 1]!] !== p.rowLabels[i];
      if (!last) return;
      if (r < order.length - 1) out.push(`<line x1="${x0}" x2="${x0 + panelW[k]!}" y1="${top + (r + 1) * ch}" y2="${top + (r + 1) * ch}" stroke="white" stroke-width="1"/>`);
      if (k === 0) out.push(text(x0 - 6, top + ((start + r + 1) / 2) * ch + 4, p.rowLabels[i]!, { size: 11, anchor: 'end' }));
      start = r + 1;
    });
    p.colLabels.forEach((l, c) => out.push(text(x0 + (c + 0.5) * cw, top + plotH + 14, l, { size: 10, anchor: 'middle' })));
    out.push(text(x0 + panelW[k]! / 2, top + plotH + 32, 'prompt of person', { size: 11, anchor: 'middle', fill: '#555' }));
    x0 += panelW[k]! + gap;
  });
  out.push(`<text transform="translate(16 ${(top + plotH / 2).toFixed(1)}) rotate(-90)" font-family="${FONT}" font-size="11" text-anchor="middle" fill="#555">photo of person</text>`);
  // colour bar
  const bx = x0, steps = 40;
  for (let s = 0; s < steps; s++) out.push(`<rect x="${bx}" y="${(top + plotH - ((s + 1) / steps) * plotH).toFixed(2)}" width="${barW}" height="${(plotH / steps + 0.5).toFixed(2)}" fill="${viridis((s + 0.5) / steps)}"/>`);
  for (const t of [0, 0.5, 1]) out.push(text(bx + barW + 4, top + plotH - t * plotH + 4, (lo + t * (hi - lo)).toFixed(2), { size: 10 }));
  out.push(text(bx, top - 12, 'cosine', { size: 11, fill: '#555' }));
  if (opts.footer) out.push(text(left, height - 10, opts.footer, { size: 11, fill: '#777' }));
  out.push('</svg>');
  return out.join('\n');
}
