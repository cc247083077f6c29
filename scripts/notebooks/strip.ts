/**
 * Notebooks are stored without outputs (nbdev_clean's rule; CI fails otherwise), and every one
 * keeps the house shape: the intended-use note first, exactly one `parameters` cell that loads the
 * library and calls `nb.params(...)`, then thin cells that call lib/ (no function or class
 * definitions: a helper a notebook needs goes to lib/notebook/ with a test).
 *
 *   node --import tsx scripts/notebooks/strip.ts            # strip notebooks/*.ipynb in place
 *   node --import tsx scripts/notebooks/strip.ts --check    # exit 1 and list what is wrong, change nothing
 *
 * The written form is Jupyter's own (nbformat.write): keys sorted, one-space indent, UTF-8 as is,
 * a final newline; so a notebook saved by Jupyter and then stripped diffs only where it changed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listNotebooks } from './execute.ts';

export interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  metadata: Record<string, unknown> & { tags?: string[] };
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
  attachments?: unknown;
}

export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** The one line that loads the library (tslab cannot import lib/ itself; see load.cjs). */
export const LOADER_LINE = "const nb = await require('../lib/notebook/load.cjs')();";
export const INTENDED_USE = '**Intended use.**';
/** cell metadata kept when stripping; everything else (execution timings, scroll state, …) goes */
const KEEP_CELL_METADATA = ['tags'];
const KEEP_NB_METADATA = ['kernelspec', 'language_info'];

export const cellSource = (c: Pick<Cell, 'source'>): string => (Array.isArray(c.source) ? c.source.join('') : c.source);

/** nbformat's source layout: a list of lines, each but the last ending in "\n". */
function sourceLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  return [...lines.slice(0, -1).map((l) => `${l}\n`), ...(lines[lines.length - 1] === '' ? [] : [lines[lines.length - 1]!])];
}

/** A copy without outputs, execution counts and volatile metadata. */
export function stripNotebook(nb: Notebook): Notebook {
  const keep = (m: Record<string, unknown>, keys: string[]) => Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => keys.includes(k)));
  return {
    ...nb,
    metadata: keep(nb.metadata, KEEP_NB_METADATA),
    cells: nb.cells.map((c) => {
      const base: Cell = { ...c, metadata: keep(c.metadata, KEEP_CELL_METADATA), source: sourceLines(cellSource(c)) };
      if (c.cell_type === 'code') return { ...base, outputs: [], execution_count: null };
      return base;
    }),
  };
}

/** JSON as Python's json.dumps(sort_keys=True, indent=1, ensure_ascii=False) + "\n" writes it. */
export function notebookJson(nb: Notebook): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return `${JSON.stringify(sort(nb), null, 1)}\n`;
}

/** What is wrong with a stored notebook (empty when nothing is). */
export function checkNotebook(nb: Notebook, name = 'notebook'): string[] {
  const problems: string[] = [];
  const where = (c: Cell, i: number) => `${name}: cell ${i + 1}${c.id ? ` (${c.id})` : ''}`;
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== 'code') return;
    if (c.outputs?.length) problems.push(`${where(c, i)} has outputs (run npm run notebooks:strip)`);
    if (c.execution_count !== null && c.execution_count !== undefined) problems.push(`${where(c, i)} has an execution count (run npm run notebooks:strip)`);
    if (c.metadata && 'execution' in c.metadata) problems.push(`${where(c, i)} has execution metadata (run npm run notebooks:strip)`);
  });
  const first = nb.cells[0];
  if (!first || first.cell_type !== 'markdown' || !cellSource(first).includes(INTENDED_USE) || !/out of scope/.test(cellSource(first))) {
    problems.push(`${name}: the first cell must be markdown with the intended-use note ("${INTENDED_USE}" … CLIP's model card puts face recognition "out of scope" …)`);
  }
  const params = nb.cells.map((c, i) => ({ c, i })).filter(({ c }) => c.metadata?.tags?.includes('parameters'));
  if (params.length !== 1) problems.push(`${name}: ${params.length} cells tagged "parameters"; exactly one is required`);
  else {
    const { c, i } = params[0]!;
    const src = cellSource(c);
    if (c.cell_type !== 'code') problems.push(`${where(c, i)}: the parameters cell must be a code cell`);
    if (i !== 1) problems.push(`${where(c, i)}: the parameters cell must come right after the intended-use note`);
    if (!src.includes(LOADER_LINE)) problems.push(`${where(c, i)}: the parameters cell must load the library with: ${LOADER_LINE}`);
    if (!/\bconst P = nb\.params\(/.test(src)) problems.push(`${where(c, i)}: the parameters cell must define its parameters with: const P = nb.params({ ... })`);
  }
  const spec = nb.metadata?.kernelspec as { name?: string } | undefined;
  if (spec?.name !== 'tslab') problems.push(`${name}: kernelspec must be tslab (got ${spec?.name ?? 'none'})`);
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== 'code') return;
    const src = cellSource(c).replace(/\/\/.*$/gm, '');
    if (/\bfunction\b|\bclass\s+\w|=>/.test(src)) problems.push(`${where(c, i)} defines a function or class: move it to lib/notebook/ (with a test) and call it`);
  });
  const ids = nb.cells.map((c) => c.id).filter(Boolean);
  if (new Set(ids).size !== ids.length) problems.push(`${name}: cell ids repeat`);
  return problems;
}

export function readNotebook(path: string): Notebook {
  return JSON.parse(readFileSync(path, 'utf8')) as Notebook;
}

/** Strip each notebook in place when stripping changes it; returns the files rewritten. */
export function stripFiles(paths: readonly string[]): string[] {
  const changed: string[] = [];
  for (const p of paths) {
    const text = readFileSync(p, 'utf8');
    const out = notebookJson(stripNotebook(JSON.parse(text) as Notebook));
    if (out !== text) {
      writeFileSync(p, out);
      changed.push(p);
    }
  }
  return changed;
}

/** Problems of each notebook, including "not in stripped form". */
export function checkFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    const text = readFileSync(p, 'utf8');
    const nb = JSON.parse(text) as Notebook;
    const problems = checkNotebook(nb, basename(p));
    if (!problems.length && notebookJson(stripNotebook(nb)) !== text) problems.push(`${basename(p)}: not in stripped form (run npm run notebooks:strip)`);
    return problems;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const files = args.filter((a) => a !== '--check');
  const paths = files.length ? files : listNotebooks();
  if (check) {
    const problems = checkFiles(paths);
    for (const p of problems) process.stderr.write(`${p}\n`);
    process.stderr.write(`notebooks: ${paths.length} checked, ${problems.length ? `${problems.length} problem(s)` : 'all clean'}\n`);
    process.exit(problems.length ? 1 : 0);
  }
  const changed = stripFiles(paths);
  process.stderr.write(`notebooks: ${changed.length ? `stripped ${changed.map((p) => basename(p)).join(', ')}` : `${paths.length} already clean`}\n`);
  const problems = checkFiles(paths);
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.exit(problems.length ? 1 : 0);
}
