/**
 * Type-check the notebooks' code against lib/ without a kernel. In tslab `nb` is untyped (it comes
 * from `require`), so a renamed function or a changed option would only show when CI executes the
 * notebook; here each notebook's code cells become one virtual module beside the notebook, with the
 * loader line replaced by `import * as nb from '../lib/notebook/index.ts'`, and are compiled with
 * the project's tsconfig. Errors name the notebook, the cell and the line in that cell.
 */
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../../lib/util/paths.ts';
import { LOADER_LINE, cellSource, readNotebook } from './strip.ts';

const IMPORT = "import * as nb from '../lib/notebook/index.ts';";

interface Virtual { path: string; notebook: string; text: string; cells: { id: string; start: number }[] }

/** A notebook's code cells as one module (0-based line where each cell starts, for error positions). */
export function notebookModule(nbPath: string): Virtual {
  const nb = readNotebook(nbPath);
  const parts: string[] = [];
  const cells: Virtual['cells'] = [];
  let line = 0;
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== 'code') return;
    const src = cellSource(c).replace(LOADER_LINE, IMPORT);
    cells.push({ id: c.id ?? `cell ${i + 1}`, start: line });
    parts.push(src);
    line += src.split('\n').length;
  });
  // `export {}` keeps it a module even if a notebook never imports (top-level await needs one)
  return { path: resolve(dirname(nbPath), `${nbPath.split('/').pop()}.check.ts`), notebook: nbPath, text: `${parts.join('\n')}\nexport {};\n`, cells };
}

/** Type errors of the given notebooks, as "notebook: cell <id> line n: message" lines. */
export function typecheckNotebooks(paths: readonly string[]): string[] {
  const modules = paths.map(notebookModule);
  const byPath = new Map(modules.map((m) => [m.path, m]));
  const cfgFile = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfgFile.config, ts.sys, repoRoot);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => byPath.has(resolve(f)) || fileExists.call(host, f);
  host.readFile = (f) => byPath.get(resolve(f))?.text ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) => {
    const v = byPath.get(resolve(f));
    return v ? ts.createSourceFile(f, v.text, lang, true) : getSourceFile.call(host, f, lang, ...rest);
  };
  const program = ts.createProgram(modules.map((m) => m.path), options, host);
  const out: string[] = [];
  for (const m of modules) {
    const sf = program.getSourceFile(m.path)!;
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (d.start === undefined) { out.push(`${m.notebook}: ${msg}`); continue; }
      const { line } = sf.getLineAndCharacterOfPosition(d.start);
      const cell = [...m.cells].reverse().find((c) => c.start <= line)!;
      out.push(`${m.notebook.split('/').pop()}: cell ${cell.id} line ${line - cell.start + 1}: ${msg}`);
    }
  }
  return out;
}
