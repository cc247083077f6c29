/**
 * plotly.js for offline pages: read once from node_modules/plotly.js-dist-min (a dependency) and
 * inlined into every standalone page, so reports open without a network (no CDN, ever).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { escapeHtml, figureDiv, htmlPage, inlineScript, slug } from '../figures/html.ts';
import type { Figure } from '../figures/types.ts';

let cached: { js: string; version: string } | undefined;

/** The minified plotly.js source and its version; throws a clear error if the package is missing. */
export function plotlyBundle(): { js: string; version: string } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve('plotly.js-dist-min/package.json');
  } catch {
    throw new Error('plotly.js-dist-min is not installed (npm ci installs it); offline figures need its plotly.min.js');
  }
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  cached = { js: readFileSync(join(dirname(pkgJson), 'plotly.min.js'), 'utf8'), version };
  return cached;
}

/** One figure as a complete offline page (plotly inline), as written to results/<run>/figures/*.html. */
export function standaloneFigureHtml(fig: Figure, title: string): string {
  const { js } = plotlyBundle();
  return htmlPage({ title, head: inlineScript(js), body: `<h1>${escapeHtml(title)}</h1>\n${figureDiv(fig, slug(title))}` });
}
