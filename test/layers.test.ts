/**
 * The house rules of lib/ (lib/README.md), checked on every import of every lib/**\/*.ts file:
 *
 * 1. Floors: a folder imports only from its own floor or lower ones (types included: a lower floor
 *    does not even know a higher floor's types, with one exception: the config type, below). A
 *    folder that is not on a floor fails the test, so a new folder must be placed.
 * 2. No circles: between top-level folders (every import, types included), and between files
 *    (imports that survive compilation: `import type`, all-`type` named imports and
 *    `typeof import('x')` are erased, so they cannot change what Node loads or in which order).
 * 3. One door per runtime: each heavy runtime is imported (or its bundle loaded) by exactly one file.
 *
 * The imports are read with TypeScript's own parser (static, `export … from`, dynamic `import()`,
 * type-position `import('x')`, `require('x')`), so comments and strings cannot fool it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const lib = join(root, 'lib');

/** Bottom to top; folders on one floor may import each other (as long as no circle forms). */
const FLOORS: string[][] = [
  ['util'],
  ['runtime'],
  ['models', 'clip', 'data', 'eval'],
  ['train', 'preprocess', 'pretrain'],
  ['services'],
  ['baselines', 'methods'],
  ['figures', 'report'],
  ['experiment', 'grid'],
  ['notebook', 'bench', 'cli'],
];

/**
 * Each heavy runtime and the one file that may import it. `imports` matches module specifiers
 * (static, dynamic, type); `strings` matches any string literal, for runtimes loaded by path
 * (plotly's file, the face-api / Human bundles). Package names in other strings (env.json's
 * version list, packageDir('…') for model folders) are not imports and do not count.
 */
const DOORS: { what: string; file: string; imports: RegExp; strings?: RegExp }[] = [
  { what: '@tensorflow/tfjs*', file: 'runtime/tf.ts', imports: /^@tensorflow\/tfjs/ },
  { what: 'onnxruntime-node', file: 'runtime/ort.ts', imports: /^onnxruntime-node(\/|$)/ },
  { what: 'sharp', file: 'runtime/image.ts', imports: /^sharp(\/|$)/ },
  { what: 'tslab', file: 'runtime/tslab.ts', imports: /^tslab(\/|$)/ },
  { what: 'cli-progress', file: 'runtime/progress.ts', imports: /^cli-progress(\/|$)/ },
  { what: 'plotly.js-dist-min', file: 'report/assets.ts', imports: /^plotly\.js/, strings: /^plotly\.js-dist-min(\/|$)/ },
  { what: 'face-api / Human bundles', file: 'runtime/face-models.ts', imports: /^@vladmandic\/(face-api|human)(\/|$)/, strings: /(face-api|human)\.(node|esm|umd)[\w-]*\.js$/ },
];

interface Edge { from: string; to: string; typeOnly: boolean }
interface FileInfo { imports: { spec: string; typeOnly: boolean }[]; strings: string[] }

function walk(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function read(file: string): FileInfo {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const imports: FileInfo['imports'] = [];
  const strings: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      imports.push({ spec: n.moduleSpecifier.text, typeOnly });
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const named = n.exportClause && ts.isNamedExports(n.exportClause) ? n.exportClause.elements : undefined;
      imports.push({ spec: n.moduleSpecifier.text, typeOnly: n.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly)) });
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      imports.push({ spec: n.argument.literal.text, typeOnly: true });
    } else if (ts.isCallExpression(n) && n.arguments.length >= 1 && ts.isStringLiteralLike(n.arguments[0]!)
      && (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === 'require'))) {
      imports.push({ spec: (n.arguments[0] as ts.StringLiteralLike).text, typeOnly: false });
    }
    if (ts.isStringLiteralLike(n)) strings.push(n.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { imports, strings };
}

const files = new Map<string, FileInfo>();
for (const f of walk(lib)) files.set(relative(lib, f).split('\\').join('/'), read(f));

const edges: Edge[] = [];
for (const [from, info] of files) {
  for (const { spec, typeOnly } of info.imports) {
    if (!spec.startsWith('.')) continue;
    const to = relative(lib, resolve(dirname(join(lib, from)), spec)).split('\\').join('/');
    edges.push({ from, to, typeOnly });
  }
}

const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '(lib root)');
const floorOf = new Map(FLOORS.flatMap((fs, i) => fs.map((f) => [f, i] as const)));
const key = (e: Edge) => `${e.from} -> ${e.to}`;

/** Strongly connected components with more than one node (Tarjan). */
function circles(nodes: Iterable<string>, next: (n: string) => Iterable<string>): string[][] {
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, counter); low.set(v, counter); counter++;
    stack.push(v); onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) { strong(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); c.push(w); } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) strong(v);
  return out;
}

test('layers: the parser sees the imports (sanity check on known files)', () => {
  assert.ok(files.size > 100, `only ${files.size} files under lib/`);
  assert.ok(edges.some((e) => e.from === 'experiment/run.ts' && e.to === 'experiment/outputs.ts'));
  assert.ok(files.get('runtime/tf.ts')!.imports.some((i) => i.spec === '@tensorflow/tfjs'));
  for (const e of edges) assert.ok(files.has(e.to), `${key(e)}: no such file`);
});

test('layers: every lib/ folder is on a floor', () => {
  const unplaced = [...new Set([...files.keys()].map(folderOf))].filter((f) => !floorOf.has(f));
  assert.deepEqual(unplaced, [], 'add these folders to FLOORS here and to the layer order in lib/README.md');
});

test('layers: no import points to a higher floor', () => {
  const up = edges.filter((e) => (floorOf.get(folderOf(e.from)) ?? -1) < (floorOf.get(folderOf(e.to)) ?? -1));
  // type-only imports count too: no exception, not even for the config type (services/experiment-config.ts)
  assert.deepEqual([...new Set(up.map(key))], [], 'a lower floor imports a higher one (lib/README.md gives the order)');
});

test('layers: no circles between folders', () => {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = folderOf(e.from), b = folderOf(e.to);
    if (a !== b) next.set(a, (next.get(a) ?? new Set()).add(b));
  }
  const found = circles(new Set([...files.keys()].map(folderOf)), (n) => next.get(n) ?? []);
  const why = found.map((c) => c.join(' ↔ ') + ':\n  ' + edges.filter((e) => c.includes(folderOf(e.from)) && c.includes(folderOf(e.to)) && folderOf(e.from) !== folderOf(e.to)).map(key).join('\n  ')).join('\n');
  assert.deepEqual(found, [], why);
});

test('layers: no circles between files', () => {
  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.typeOnly) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const found = circles(files.keys(), (n) => next.get(n) ?? []);
  assert.deepEqual(found, []);
});

test('layers: one door per heavy runtime', () => {
  const problems: string[] = [];
  for (const door of DOORS) {
    const users = [...files].filter(([, info]) =>
      info.imports.some((i) => door.imports.test(i.spec)) || (door.strings && info.strings.some((s) => door.strings!.test(s)))).map(([f]) => f);
    if (users.length !== 1 || users[0] !== door.file) problems.push(`${door.what}: only ${door.file} may import it; found in ${users.join(', ') || 'no file'}`);
  }
  assert.deepEqual(problems, []);
});
