/**
 * The display adapter (the kernel itself is reached through lib/runtime/tslab.ts, the only file
 * that touches tslab). Inside a tslab kernel a figure goes out as one Jupyter MIME bundle:
 * `application/vnd.plotly.v1+json` (JupyterLab's plotly renderer, and what executed notebooks
 * keep) plus a `text/html` fallback that draws it with plotly.js inlined (once per kernel), plus
 * `text/plain`. Outside a kernel (CLI, CI, tests) the same call
 * writes a standalone offline HTML page and returns its path, because tslab's own `display`
 * throws "Not ready" there (tslab src/public.ts).
 *
 *   await show(confusionMatrixFigure(cm), { title: 'Confusion matrix' });
 *   // kernel: inline plot; elsewhere: "results/figures/confusion-matrix.html"
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { figureDiv, htmlTable, inlineScript, markdownTable, slug, type TableRows } from '../figures/html.ts';
import type { Figure } from '../figures/types.ts';
import { kernel, PLOTLY_MIME } from '../runtime/tslab.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { plotlyBundle, standaloneFigureHtml } from './assets.ts';

export { inKernel, PLOTLY_MIME } from '../runtime/tslab.ts';

let plotlySentToPage = false;

/**
 * The text/html fallback for front ends without the plotly MIME renderer (nbconvert HTML, plain
 * Jupyter): the first figure of a kernel carries plotly.js inline (~4.8 MB), later ones reuse
 * `window.Plotly`. CLIPFACE_PLOTLY_HTML=always inlines it every time, =none never.
 */
function fallbackHtml(fig: Figure, title: string): string {
  const mode = process.env.CLIPFACE_PLOTLY_HTML ?? 'once';
  const withPlotly = mode === 'always' || (mode === 'once' && !plotlySentToPage);
  if (withPlotly) plotlySentToPage = true;
  const id = `${slug(title)}-${randomBytes(4).toString('hex')}`;
  return `${withPlotly ? inlineScript(plotlyBundle().js) : ''}${figureDiv(fig, id)}`;
}

export interface ShowOptions {
  title: string;
  /** also (in a kernel) or instead (elsewhere) write the standalone page here */
  file?: string;
  /** folder for the page when `file` is not given; default $CLIPFACE_FIGURES_DIR or ./results/figures */
  dir?: string;
}

/**
 * Show a figure: inline in a tslab kernel, else as a standalone HTML file. Returns the path of the
 * page written (always outside a kernel; inside only when `file` is given).
 */
export async function show(fig: Figure, opts: ShowOptions): Promise<string | undefined> {
  const k = await kernel();
  const layout = { ...fig.layout, title: fig.layout.title ?? { text: opts.title } };
  let sent = false;
  if (k) {
    try {
      k.send({
        [PLOTLY_MIME]: { data: fig.data, layout, config: { displaylogo: false } },
        'text/html': fallbackHtml({ data: fig.data, layout }, opts.title),
        'text/plain': `${opts.title} (plotly figure: ${fig.data.map((t) => t.type).join(', ')})`,
      });
      sent = true;
    } catch {
      // a kernel between executions ("Not ready"): fall back to the file
    }
    if (sent && !opts.file) return undefined;
  }
  const path = resolve(opts.file ?? join(opts.dir ?? process.env.CLIPFACE_FIGURES_DIR ?? join(process.cwd(), 'results', 'figures'), `${slug(opts.title)}.html`));
  writeFileAtomic(path, standaloneFigureHtml({ data: fig.data, layout }, opts.title));
  if (!sent) process.stderr.write(`figure "${opts.title}" written to ${path}\n`);
  return path;
}

/**
 * Show rows of objects as a table: HTML (+ markdown) in a kernel, markdown on stdout elsewhere.
 * Returns the markdown either way, so callers can log or save it.
 */
export async function showTable(rows: TableRows, opts: { title?: string } = {}): Promise<string> {
  const md = (opts.title ? `**${opts.title}**\n\n` : '') + markdownTable(rows);
  const k = await kernel();
  try {
    if (k) {
      k.send({ 'text/html': htmlTable(rows, { caption: opts.title }), 'text/markdown': md, 'text/plain': md });
      return md;
    }
  } catch {
    // not ready: print instead
  }
  process.stdout.write(md + '\n');
  return md;
}
