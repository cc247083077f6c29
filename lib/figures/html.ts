/**
 * HTML around plotly figures, as strings (pure; the caller supplies plotly.js's source, so a page
 * is self-contained and opens offline: no CDN, no network). Used by the display adapter for
 * standalone figure files and by the run report.
 */
import type { Figure } from './types.ts';

/** plotly's per-plot config: no logo, no link to the plotly cloud, PNG export at 2× scale. */
export const PLOTLY_CONFIG = { displaylogo: false, showLink: false, responsive: false, toImageButtonOptions: { format: 'png', scale: 2 } };

export function escapeHtml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** JSON that is safe inside a <script> element (no "</script>", no U+2028/9 line breaks). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c').replaceAll('>', '\\u003e').replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029');
}

/** The plotly.js bundle as an inline <script> (its source never contains "</script", but guard anyway). */
export function inlineScript(js: string): string {
  return `<script>${js.replace(/<\/script/gi, '<\\/script')}</script>`;
}

/** A stable, HTML-id-safe name: "Confusion matrix (row)" → "confusion-matrix-row". */
export function slug(s: string): string {
  return s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'figure';
}

/** A <div> plus the script that draws `fig` into it (needs `window.Plotly` loaded before it runs). */
export function figureDiv(fig: Figure, id: string): string {
  const w = typeof fig.layout.width === 'number' ? `width:${fig.layout.width}px;` : '';
  const h = typeof fig.layout.height === 'number' ? `height:${fig.layout.height}px;` : 'height:480px;';
  return `<div id="${escapeHtml(id)}" class="clipface-figure" style="${w}${h}"></div>\n`
    + `<script>Plotly.newPlot(${scriptJson(id)}, ${scriptJson(fig.data)}, ${scriptJson(fig.layout)}, ${scriptJson(PLOTLY_CONFIG)});</script>`;
}

const CSS = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 24px 32px; color: #1d2630; max-width: 1200px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.meta { color: #57606a; font-size: 13px; }
.banner { background: #c62828; color: white; font-weight: bold; padding: 12px 16px; border-radius: 4px; margin: 12px 0; font-size: 16px; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; font-size: 13px; margin: 8px 0; }
table.data { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
table.data th, table.data td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: right; }
table.data th { background: #f3f6f9; } table.data td:first-child, table.data th:first-child { text-align: left; }
pre { background: #f6f8fa; padding: 12px; font-size: 12px; overflow-x: auto; max-height: 480px; }
.clipface-figure { margin: 8px 0 16px; }
`;

/** A complete HTML document; `head` carries the inline plotly bundle when the page has figures. */
export function htmlPage(o: { title: string; body: string; head?: string }): string {
  return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(o.title)}</title>\n`
    + `<style>${CSS}</style>\n${o.head ?? ''}\n</head>\n<body>\n${o.body}\n</body>\n</html>\n`;
}

export type TableRows = readonly Readonly<Record<string, unknown>>[];

/** Numbers to 4 significant digits without trailing zeros (0.75, 1235, 1.235e-5); integers as they are. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const s = v.toPrecision(4);
  return s.includes('e') || !s.includes('.') ? s : s.replace(/0+$/, '').replace(/\.$/, '');
}

const cellText = (v: unknown): string =>
  v === null || v === undefined ? '' : typeof v === 'number' ? formatNumber(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);

function columnsOf(rows: TableRows): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols;
}

/** Rows of objects → an HTML table (columns: the union of keys, in first-seen order). */
export function htmlTable(rows: TableRows, opts: { caption?: string } = {}): string {
  const cols = columnsOf(rows);
  const head = `<tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${cols.map((c) => `<td>${escapeHtml(cellText(r[c]))}</td>`).join('')}</tr>`).join('\n');
  const caption = opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : '';
  return `<table class="data">${caption}\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** The same rows as a GitHub-flavoured markdown table (for terminals, logs and text/markdown). */
export function markdownTable(rows: TableRows): string {
  const cols = columnsOf(rows);
  const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(cols.map(esc)), line(cols.map(() => '---')), ...rows.map((r) => line(cols.map((c) => esc(cellText(r[c])))))].join('\n') + '\n';
}
