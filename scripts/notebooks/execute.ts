/**
 * `npm run notebooks`: execute every notebook headless with Jupyter's nbclient and the tslab
 * kernel (nbdev_test's habit: a notebook is a test, any cell error fails it), in smoke mode, and
 * write the executed copies, outputs included, to results/notebooks/ (never over notebooks/).
 *
 *   node --import tsx scripts/notebooks/execute.ts [notebooks/03-*.ipynb ...] [--out dir] [--timeout s]
 *
 * Every notebook runs in a fresh kernel, in order (notebook 1 generates the demo set and trains
 * the run that 3, 4, 6 and 7 reuse); a failure does not stop the others, the exit status reports
 * it. Environment: CLIPFACE_NB_SMOKE=1 unless already set (every CLIPFACE_NB_* variable reaches
 * the notebooks' parameters cell); CLIPFACE_JUPYTER_PYTHON picks the Python that has nbclient
 * (default /usr/bin/python3, Debian's; the python3 first on PATH may lack Jupyter).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../lib/util/paths.ts';
import { writeJsonAtomic } from '../../lib/util/fs-atomic.ts';
import { PLOTLY_MIME } from '../../lib/runtime/tslab.ts';

export const KERNEL = 'tslab';
export const NOTEBOOKS_DIR = join(repoRoot, 'notebooks');

/** nbclient driver: runs one notebook, always writes the (possibly partial) executed copy, prints one JSON line. */
const DRIVER = String.raw`
import json, sys, time, nbformat
from datetime import datetime
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
src, dst, cwd, timeout, kernel = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, startup_timeout=120, resources={'metadata': {'path': cwd}})
result = {'ok': True}
t0 = time.time()
try:
    client.execute()
except CellExecutionError as e:
    result = {'ok': False, 'error': str(e).strip().splitlines()[-1][:500] if str(e).strip() else 'cell error'}
    stderr = []
    for c in nb.cells:
        for o in c.get('outputs', []):
            if o.get('name') == 'stderr' or o.get('output_type') == 'error':
                stderr.append(''.join(o.get('text', '')) or (o.get('ename', '') + ': ' + o.get('evalue', '')))
    result['stderrTail'] = ''.join(stderr)[-1500:]
except Exception as e:
    result = {'ok': False, 'error': type(e).__name__ + ': ' + str(e)[:500]}
result['seconds'] = round(time.time() - t0, 1)
cells = []
for i, c in enumerate(nb.cells):
    md = c.get('metadata', {}).get('execution', {})
    # tslab sends no execute_input and replies early: busy → idle brackets the cell's work
    a, b = md.get('iopub.status.busy'), md.get('iopub.status.idle')
    if c.get('cell_type') == 'code' and a and b:
        f = lambda s: datetime.fromisoformat(s.replace('Z', '+00:00'))
        cells.append({'cell': c.get('id', str(i)), 'seconds': round((f(b) - f(a)).total_seconds(), 1)})
result['cells'] = cells
nbformat.write(nb, dst)
print(json.dumps(result))
`;

export interface NotebookResult {
  notebook: string;
  ok: boolean;
  seconds: number;
  /** plotly figures (application/vnd.plotly.v1+json outputs) in the executed copy */
  figures: number;
  /** HTML tables shown (showTable) */
  tables: number;
  executed: string;
  error?: string;
  stderrTail?: string;
  cells?: { cell: string; seconds: number }[];
}

export interface ExecuteOptions {
  notebooks?: string[];
  out?: string;
  /** per-cell timeout, seconds */
  timeout?: number;
  python?: string;
  log?: (s: string) => void;
}

/** The stored notebooks, in order (names starting with `_` are templates, not run). */
export function listNotebooks(dir = NOTEBOOKS_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.ipynb') && !f.startsWith('_')).sort().map((f) => join(dir, f));
}

/** Outputs of an executed notebook by MIME type: figures (plotly) and tables (HTML tables). */
export function countOutputs(nbJson: { cells: { outputs?: { data?: Record<string, unknown> }[] }[] }): { figures: number; tables: number } {
  let figures = 0, tables = 0;
  for (const c of nbJson.cells) {
    for (const o of c.outputs ?? []) {
      const html = o.data?.['text/html'];
      if (o.data?.[PLOTLY_MIME]) figures++;
      else if ((Array.isArray(html) ? html.join('') : String(html ?? '')).startsWith('<table')) tables++;
    }
  }
  return { figures, tables };
}

function runDriver(python: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveP, reject) => {
    const p = spawn(python, ['-c', DRIVER, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8000); });
    p.on('error', reject);
    p.on('close', (code) => resolveP({ code: code ?? 1, stdout, stderr }));
  });
}

export async function executeNotebooks(o: ExecuteOptions = {}): Promise<NotebookResult[]> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const python = o.python ?? process.env.CLIPFACE_JUPYTER_PYTHON ?? '/usr/bin/python3';
  const out = resolve(o.out ?? join(repoRoot, 'results', 'notebooks'));
  const notebooks = (o.notebooks?.length ? o.notebooks.map((n) => resolve(n)) : listNotebooks());
  for (const n of notebooks) if (!existsSync(n)) throw new Error(`${n}: no such notebook`);
  mkdirSync(out, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // the kernelspec runs `tslab`: the project's own (node_modules/.bin), as npm scripts see it
    PATH: [join(repoRoot, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
    CLIPFACE_NB_SMOKE: process.env.CLIPFACE_NB_SMOKE ?? '1',
  };
  const results: NotebookResult[] = [];
  for (const nbPath of notebooks) {
    const name = basename(nbPath);
    const executed = join(out, name);
    log(`notebooks: ${name} ...`);
    const r = await runDriver(python, [nbPath, executed, NOTEBOOKS_DIR, String(o.timeout ?? 600), KERNEL], env);
    let parsed: Partial<NotebookResult> & { ok?: boolean } = {};
    try { parsed = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}'); } catch { /* the driver itself failed */ }
    const counts = existsSync(executed) ? countOutputs(JSON.parse(readFileSync(executed, 'utf8'))) : { figures: 0, tables: 0 };
    const res: NotebookResult = {
      notebook: name, ok: r.code === 0 && parsed.ok === true, seconds: parsed.seconds ?? NaN, ...counts, executed,
      ...(parsed.ok === true ? {} : { error: parsed.error ?? `the nbclient driver failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` }),
      ...(parsed.stderrTail ? { stderrTail: parsed.stderrTail } : {}),
      ...(parsed.cells ? { cells: parsed.cells } : {}),
    };
    results.push(res);
    log(`notebooks: ${name} ${res.ok ? 'ok' : 'FAILED'} in ${res.seconds} s, ${res.figures} plotly figures, ${res.tables} tables${res.error ? `\n  ${res.error}${res.stderrTail ? `\n  ${res.stderrTail.trim().split('\n').slice(-12).join('\n  ')}` : ''}` : ''}`);
  }
  writeJsonAtomic(join(out, 'summary.json'), { createdAt: new Date().toISOString(), smoke: env.CLIPFACE_NB_SMOKE, totalSeconds: Math.round(results.reduce((a, r) => a + (r.seconds || 0), 0) * 10) / 10, results });
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const take = (flag: string) => { const i = args.indexOf(flag); return i >= 0 ? args.splice(i, 2)[1] : undefined; };
  const out = take('--out');
  const timeout = take('--timeout');
  const t0 = performance.now();
  const results = await executeNotebooks({ notebooks: args, out, timeout: timeout ? Number(timeout) : undefined });
  const failed = results.filter((r) => !r.ok);
  // issue 6: executed copies carry their figures as plotly outputs; every notebook draws at least one
  const noFigures = results.filter((r) => r.ok && r.figures === 0);
  process.stderr.write(`notebooks: ${results.length - failed.length}/${results.length} ok in ${((performance.now() - t0) / 1000).toFixed(1)} s; executed copies in ${out ?? 'results/notebooks'}\n`);
  for (const r of noFigures) process.stderr.write(`notebooks: ${r.notebook} has no ${PLOTLY_MIME} output\n`);
  if (failed.length || noFigures.length) {
    process.stderr.write(`notebooks: failed: ${[...failed, ...noFigures].map((r) => r.notebook).join(', ')}\n`);
    process.exit(1);
  }
}
