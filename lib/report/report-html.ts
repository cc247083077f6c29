/**
 * `writeReportHtml(runDir)`: one offline page per run, `<runDir>/report.html` (plotly.js inlined
 * once, every figure and table, the config, and a red banner on random-weight runs), plus each
 * figure on its own under `<runDir>/figures/`: `<name>.html` (standalone, offline), `<name>.json`
 * (the plotly figure) and `<name>.csv` (its data). Nothing is fetched from a network or a CDN.
 */
import { join, resolve } from 'node:path';
import { escapeHtml, figureDiv, htmlPage, inlineScript } from '../figures/html.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.ts';
import { plotlyBundle, standaloneFigureHtml } from './assets.ts';
import { loadRun } from './load-run.ts';
import { planReport } from './sections.ts';

export interface ReportOptions {
  /** page title; default "Run report: <config.name>" */
  title?: string;
  /** put the paper's Table I rows beside this run's (default true) */
  comparePaper?: boolean;
  /**
   * figures/*.html carry plotly.js inline (default true: each opens alone, ~4.8 MB each); false
   * writes figures/plotly.min.js once and points the pages at it (still offline, much smaller)
   */
  standaloneFigures?: boolean;
}

export interface ReportResult {
  /** absolute path of report.html */
  path: string;
  /** figure names, in page order (figures/<name>.html|json|csv) */
  figures: string[];
  /** every file written */
  files: string[];
  /** parts of the run folder that were absent or unreadable (also listed on the page) */
  missing: string[];
}

export function writeReportHtml(runDir: string, opts: ReportOptions = {}): ReportResult {
  const run = loadRun(runDir);
  const plan = planReport(run, opts);
  const { js, version } = plotlyBundle();
  const files: string[] = [];
  const write = (path: string, text: string) => { writeFileAtomic(path, text); files.push(path); };

  const figDir = join(runDir, 'figures');
  if (opts.standaloneFigures === false) write(join(figDir, 'plotly.min.js'), js);
  for (const f of plan.figures) {
    const page = opts.standaloneFigures === false
      ? htmlPage({ title: f.title, head: '<script src="plotly.min.js"></script>', body: `<h1>${escapeHtml(f.title)}</h1>\n${figureDiv(f.figure, f.name)}` })
      : standaloneFigureHtml(f.figure, f.title);
    write(join(figDir, `${f.name}.html`), page);
    writeJsonAtomic(join(figDir, `${f.name}.json`), f.figure);
    files.push(join(figDir, `${f.name}.json`));
    write(join(figDir, `${f.name}.csv`), f.csv);
  }

  const byName = new Map(plan.figures.map((f) => [f.name, f]));
  const body: string[] = [`<h1>${escapeHtml(plan.title)}</h1>`];
  const desc = run.config?.description;
  body.push(`<p class="meta">${typeof desc === 'string' && desc ? `${escapeHtml(desc)}<br>` : ''}run folder: <code>${escapeHtml(runDir)}</code> · plotly.js ${escapeHtml(version)} inline (offline)</p>`);
  if (plan.stamp) body.push(`<div class="banner" id="stamp">${escapeHtml(plan.stamp)}</div>`);
  body.push('<p class="note">Research and teaching use only: OpenAI\'s CLIP model card places face recognition out of scope for deployment.</p>');
  for (const s of plan.sections) {
    body.push(`<h2>${escapeHtml(s.heading)}</h2>`);
    for (const p of s.parts) body.push('figure' in p ? figureDiv(byName.get(p.figure)!.figure, `fig-${p.figure}`) : p.html);
  }
  if (run.missing.length) body.push('<h2>Not in this run folder</h2>', `<ul>${run.missing.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul>`);
  body.push('<h2>Configuration (config.json)</h2>', `<pre>${escapeHtml(run.config ? JSON.stringify(run.config, null, 2) : 'config.json not found')}</pre>`);
  const links = plan.figures.map((f) => `<li>${escapeHtml(f.title)}: <a href="figures/${f.name}.html">html</a> · <a href="figures/${f.name}.json">json</a> · <a href="figures/${f.name}.csv">csv</a></li>`);
  body.push('<h2>Figure files</h2>', `<ul>${links.join('')}</ul>`);

  const path = resolve(runDir, 'report.html');
  write(path, htmlPage({ title: plan.title, head: inlineScript(js), body: body.join('\n') }));
  return { path, figures: plan.figures.map((f) => f.name), files: files.map((f) => resolve(f)), missing: run.missing };
}
