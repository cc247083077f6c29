/**
 * A JSON Schema and a TypeScript type that describe the same document, compared key by key, so
 * the two cannot drift apart (the habit STYLE.md lesson 3 asks for, without generating one from
 * the other):
 * - every schema property is a field of the type, and every field a schema property;
 * - a field is optional in the type exactly when the schema neither `required`s it nor gives it a
 *   `default` (ajv's useDefaults fills those in, so after validation they are always there);
 * - the kinds (string, number, boolean, null, array, object) and the enum values agree.
 * A `default` inside oneOf/anyOf is reported: ajv never applies those ("useDefaults" in the ajv
 * docs), so a type that trusts it would promise a field that validation leaves out.
 */
import { resolve } from 'node:path';
import ts from 'typescript';

type Kind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

export interface Shape {
  /** any value of these kinds */
  kinds: Set<Kind>;
  /** these exact values (enum members, literal types) */
  literals: Set<string | number>;
  props?: Map<string, { optional: boolean; shape: Shape }>;
  items?: Shape;
}

const empty = (): Shape => ({ kinds: new Set(), literals: new Set() });

function mergeInto(a: Shape, b: Shape): void {
  for (const k of b.kinds) a.kinds.add(k);
  for (const l of b.literals) a.literals.add(l);
  if (b.props) {
    a.props ??= new Map();
    for (const [k, v] of b.props) a.props.set(k, v);
  }
  if (b.items) { a.items ??= empty(); mergeInto(a.items, b.items); }
}

/** The shape of the exported type or interface `name` in `file`, read with the project's tsconfig. */
export function typeShape(file: string, name: string, repoRoot: string): Shape {
  const cfg = ts.readConfigFile(resolve(repoRoot, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(cfg.config, ts.sys, repoRoot);
  const program = ts.createProgram([file], { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file);
  const decl = sf?.statements.find((s): s is ts.InterfaceDeclaration | ts.TypeAliasDeclaration =>
    (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) && s.name.text === name);
  if (!decl) throw new Error(`${file}: no type ${name}`);
  const shapeOf = (t: ts.Type, where: string): Shape => {
    const out = empty();
    for (const p of t.isUnion() ? t.types : [t]) {
      const f = p.flags;
      if (f & ts.TypeFlags.Undefined) continue; // an optional field's `| undefined`
      if (f & ts.TypeFlags.Null) out.kinds.add('null');
      else if (p.isStringLiteral() || p.isNumberLiteral()) out.literals.add(p.value);
      else if (f & ts.TypeFlags.String) out.kinds.add('string');
      else if (f & ts.TypeFlags.Number) out.kinds.add('number');
      else if (f & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) out.kinds.add('boolean');
      else if (checker.isArrayType(p) || checker.isTupleType(p)) {
        out.kinds.add('array');
        out.items ??= empty();
        for (const a of checker.getTypeArguments(p as ts.TypeReference)) mergeInto(out.items, shapeOf(a, `${where}[]`));
      } else if (f & ts.TypeFlags.Object) {
        out.kinds.add('object');
        out.props ??= new Map();
        for (const sym of checker.getPropertiesOfType(p)) {
          out.props.set(sym.name, { optional: !!(sym.flags & ts.SymbolFlags.Optional), shape: shapeOf(checker.getTypeOfSymbol(sym), `${where}.${sym.name}`) });
        }
      } else throw new Error(`${name}${where}: ${checker.typeToString(p)} has no JSON Schema counterpart here`);
    }
    return out;
  };
  return shapeOf(checker.getTypeAtLocation(decl.name), '');
}

type Schema = Record<string, unknown>;

function defaultsIn(node: unknown, path: string, out: string[]): string[] {
  if (Array.isArray(node)) node.forEach((n) => defaultsIn(n, path, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'default') out.push(path);
      else defaultsIn(v, k === 'properties' || k === 'oneOf' || k === 'anyOf' || k === 'items' ? path : `${path}.${k}`, out);
    }
  }
  return out;
}

/** The shape a schema accepts after validation; `problems` gets the defaults ajv would ignore. */
export function schemaShape(schema: Schema, problems: string[], path = ''): Shape {
  const out = empty();
  const add = (b: Schema) => {
    const types = b.type === undefined ? [] : Array.isArray(b.type) ? b.type : [b.type];
    for (const t of types as string[]) out.kinds.add(t === 'integer' ? 'number' : (t as Kind));
    for (const v of (b.enum as unknown[] | undefined) ?? []) {
      if (v === null) out.kinds.add('null');
      else out.literals.add(v as string | number);
    }
    if (b.properties) {
      out.props ??= new Map();
      const required = (b.required as string[] | undefined) ?? [];
      for (const [k, p] of Object.entries(b.properties as Record<string, Schema>)) {
        out.props.set(k, { optional: !required.includes(k) && !('default' in p), shape: schemaShape(p, problems, `${path}.${k}`) });
      }
    }
    if (b.items) { out.items ??= empty(); mergeInto(out.items, schemaShape(b.items as Schema, problems, `${path}[]`)); }
  };
  add(schema);
  for (const branch of [...((schema.oneOf as Schema[]) ?? []), ...((schema.anyOf as Schema[]) ?? [])]) {
    for (const d of defaultsIn(branch, path, [])) problems.push(`${d.slice(1) || '(top level)'}: a default inside oneOf/anyOf, which ajv never applies; use "type": [..., "null"] beside the properties instead`);
    add(branch);
  }
  return out;
}

const list = (s: Set<unknown>) => (s.size ? [...s].map((v) => JSON.stringify(v)).sort().join(', ') : 'nothing');
const same = (a: Set<unknown>, b: Set<unknown>) => a.size === b.size && [...a].every((v) => b.has(v));

/** Where the type (`t`) and the schema (`s`) disagree, one line each, named by key path. */
export function compareShapes(t: Shape, s: Shape, path = ''): string[] {
  const where = path.slice(1) || '(top level)';
  const out: string[] = [];
  if (!same(t.kinds, s.kinds)) out.push(`${where}: the type allows ${list(t.kinds)}, the schema ${list(s.kinds)}`);
  if (!same(t.literals, s.literals)) out.push(`${where}: the type's values are ${list(t.literals)}, the schema's enum ${list(s.literals)}`);
  if (t.props || s.props) {
    const tp = t.props ?? new Map(), sp = s.props ?? new Map();
    for (const k of tp.keys()) if (!sp.has(k)) out.push(`${path.slice(1)}${path ? '.' : ''}${k}: in the type, not in the schema`);
    for (const k of sp.keys()) if (!tp.has(k)) out.push(`${path.slice(1)}${path ? '.' : ''}${k}: in the schema, not in the type`);
    for (const [k, a] of tp) {
      const b = sp.get(k);
      if (!b) continue;
      const p = `${path}.${k}`;
      if (a.optional !== b.optional) {
        out.push(a.optional
          ? `${p.slice(1)}: optional in the type, but the schema requires it or gives it a default`
          : `${p.slice(1)}: required in the type, but the schema neither requires it nor gives it a default`);
      }
      out.push(...compareShapes(a.shape, b.shape, p));
    }
  }
  if (t.items && s.items) out.push(...compareShapes(t.items, s.items, `${path}[]`));
  else if (t.items || s.items) out.push(`${where}: items described only in the ${t.items ? 'type' : 'schema'}`);
  return out;
}
