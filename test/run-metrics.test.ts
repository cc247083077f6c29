/**
 * metrics.json has one type, RunMetrics (lib/report/run-metrics.ts), and one schema
 * (data-spec/run-metrics.schema.json). Here: the two cannot drift (read with TypeScript's own
 * checker: the same property names at every level, the same required ones, the same nullable ones,
 * the same enums), and the reader takes a real file, an older file, and refuses a broken one in one
 * line. A real run's file is validated where the runs are made (experiment, ablations, baselines-onnx).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { readRunMetrics, runMetricsProblems, runMetricsSchemaPath } from '../lib/report/read-metrics.ts';

const root = resolve(import.meta.dirname, '..');
const FIX = join(root, 'test/fixtures/run-example');
const schema = JSON.parse(readFileSync(runMetricsSchemaPath, 'utf8'));

// ------------------------------------------------------------------ the type, as the compiler sees it

const typeFile = join(root, 'lib/report/run-metrics.ts');
const tsconfig = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root);
const program = ts.createProgram([typeFile], { ...tsconfig.options, noEmit: true });
const checker = program.getTypeChecker();
const runMetricsType = checker.getDeclaredTypeOfSymbol(
  checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(typeFile)!)!).find((s) => s.name === 'RunMetrics')!);

type Kind = 'number' | 'string' | 'boolean' | 'array' | 'object' | 'unknown';
interface Shape { kind: Kind; nullable: boolean; enum?: string[] }

function tsShape(t: ts.Type): Shape & { type: ts.Type } {
  const parts = t.isUnion() ? t.types : [t];
  const nullable = parts.some((p) => p.flags & ts.TypeFlags.Null);
  const rest = parts.filter((p) => !(p.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)));
  if (rest.every((p) => p.flags & ts.TypeFlags.BooleanLiteral)) return { kind: 'boolean', nullable, type: rest[0]! };
  if (rest.every((p) => p.isStringLiteral())) return { kind: 'string', nullable, enum: rest.map((p) => (p as ts.StringLiteralType).value).sort(), type: rest[0]! };
  assert.equal(rest.length, 1, `a union the schema comparison does not know: ${checker.typeToString(t)}`);
  const b = rest[0]!;
  const kind: Kind = b.flags & ts.TypeFlags.Number ? 'number' : b.flags & ts.TypeFlags.String ? 'string' : b.flags & ts.TypeFlags.Boolean ? 'boolean'
    : b.flags & ts.TypeFlags.Unknown ? 'unknown' : checker.isArrayType(b) ? 'array' : 'object';
  return { kind, nullable, type: b };
}

// ------------------------------------------------------------------ the schema, resolved the same way

type Node = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function schemaShape(s: Node, defs: Node): Shape & { node: Node } {
  if (s.$ref) return schemaShape(defs[s.$ref.replace('#/definitions/', '')], defs);
  if (s.oneOf) {
    const isNull = (o: Node) => o.type === 'null';
    const others = (s.oneOf as Node[]).filter((o) => !isNull(o));
    assert.equal(others.length, 1, `oneOf with more than one non-null branch: ${JSON.stringify(s).slice(0, 120)}`);
    const inner = schemaShape(others[0]!, defs);
    return { ...inner, nullable: inner.nullable || (s.oneOf as Node[]).some(isNull) };
  }
  if (s.enum) return { kind: 'string', nullable: false, enum: [...s.enum].sort(), node: s };
  const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
  const base = types.filter((x) => x !== 'null');
  assert.equal(base.length, 1, `a schema node with types ${types}`);
  return { kind: (base[0] === 'integer' ? 'number' : base[0]) as Kind, nullable: types.includes('null'), node: s };
}

/** Every difference between the TypeScript type and the schema node, as "path: what". */
function differences(t: ts.Type, s: Node, defs: Node, path = 'RunMetrics'): string[] {
  const a = tsShape(t), b = schemaShape(s, defs);
  const out: string[] = [];
  if (a.kind === 'unknown') return out; // method-specific values: any JSON
  if (a.kind !== b.kind) return [`${path}: ${a.kind} in the type, ${b.kind} in the schema`];
  if (a.nullable !== b.nullable) out.push(`${path}: ${a.nullable ? '' : 'not '}nullable in the type, ${b.nullable ? '' : 'not '}nullable in the schema`);
  if (a.enum && b.enum && a.enum.join() !== b.enum.join()) out.push(`${path}: values ${a.enum} in the type, ${b.enum} in the schema`);
  if (a.kind === 'array') out.push(...differences(checker.getTypeArguments(a.type as ts.TypeReference)[0]!, b.node.items, defs, `${path}[]`));
  if (a.kind === 'object') {
    const props = checker.getPropertiesOfType(a.type);
    const names = props.map((p) => p.name).sort();
    const schemaNames = Object.keys(b.node.properties ?? {}).sort();
    for (const n of names.filter((x) => !schemaNames.includes(x))) out.push(`${path}.${n}: in the type, not in the schema`);
    for (const n of schemaNames.filter((x) => !names.includes(x))) out.push(`${path}.${n}: in the schema, not in the type`);
    const required = new Set<string>(b.node.required ?? []);
    for (const p of props) {
      if (!schemaNames.includes(p.name)) continue;
      const optional = Boolean(p.flags & ts.SymbolFlags.Optional);
      if (optional === required.has(p.name)) out.push(`${path}.${p.name}: ${optional ? 'optional' : 'required'} in the type, ${required.has(p.name) ? 'required' : 'optional'} in the schema`);
      out.push(...differences(checker.getTypeOfSymbol(p), b.node.properties[p.name], defs, `${path}.${p.name}`));
    }
    const open = checker.getIndexInfosOfType(a.type).length > 0;
    if (open !== (b.node.additionalProperties !== false)) out.push(`${path}: ${open ? 'open' : 'closed'} in the type, ${open ? 'closed' : 'open'} in the schema (additionalProperties)`);
  }
  return out;
}

test('RunMetrics and data-spec/run-metrics.schema.json declare the same fields (names, required, nullable, enums)', () => {
  assert.deepEqual(differences(runMetricsType, schema, schema.definitions), [],
    'lib/report/run-metrics.ts and data-spec/run-metrics.schema.json disagree: change both together');
});

test('the drift check sees a drift: a property removed, a null allowed or not, a field made optional, an enum changed, an array item', () => {
  const drifted = (edit: (s: Node) => void) => { const s = structuredClone(schema); edit(s); return differences(runMetricsType, s, s.definitions); };
  assert.deepEqual(drifted((s) => delete s.properties.closedSet.properties.chance), ['RunMetrics.closedSet.chance: in the type, not in the schema']);
  assert.deepEqual(drifted((s) => { s.properties.data.properties.test.type = ['integer', 'null']; }), ['RunMetrics.data.test: not nullable in the type, nullable in the schema']);
  assert.deepEqual(drifted((s) => { s.properties.train.required = s.properties.train.required.filter((k: string) => k !== 'losses'); }), ['RunMetrics.train.losses: required in the type, optional in the schema']);
  assert.deepEqual(drifted((s) => { s.properties.deployment.oneOf[0].properties.aggregation.enum = ['majority']; }), ['RunMetrics.deployment.aggregation: values majority,mean-prob in the type, majority in the schema']);
  assert.deepEqual(drifted((s) => { s.properties.method.additionalProperties = false; }), ['RunMetrics.method: open in the type, closed in the schema (additionalProperties)']);
  assert.deepEqual(drifted((s) => { s.definitions.interval.properties.lower = { type: 'number' }; }), [
    'RunMetrics.closedSet.wilson95.lower: nullable in the type, not nullable in the schema']);
  assert.deepEqual(drifted((s) => { s.properties.openSet.properties.det.properties.fnir.items = { type: 'string' }; }), ['RunMetrics.openSet.det.fnir[]: number in the type, string in the schema']);
});

// ------------------------------------------------------------------ reading files

test('the fixture run (written through evaluate() and typed RunMetrics) validates and reads', () => {
  const r = readRunMetrics(FIX);
  assert.equal(r.problem, undefined);
  assert.equal(r.metrics!.tableI!.heldOutAccuracy, r.metrics!.closedSet.accuracy, "Table I's column is the held-out accuracy");
  assert.equal(typeof r.metrics!.train.trainSplitAccuracy, 'number');
});

test('a metrics.json from before the rename is read under the new names; a broken one is one line naming the file and what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clipface-metrics-'));
  try {
    cpSync(join(FIX, 'metrics.json'), join(dir, 'metrics.json'));
    const now = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    const { trainSplitAccuracy, ...train } = now.train;
    const { heldOutAccuracy, ...tableI } = now.tableI;
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ ...now, train: { ...train, accuracy: trainSplitAccuracy }, tableI: { trainingAccuracy: heldOutAccuracy, ...tableI } }));
    const old = readRunMetrics(dir);
    assert.equal(old.problem, undefined);
    assert.equal(old.metrics!.train.trainSplitAccuracy, trainSplitAccuracy);
    assert.equal(old.metrics!.tableI!.heldOutAccuracy, heldOutAccuracy);

    const { closedSet: _, ...noClosedSet } = now;
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ ...noClosedSet, extra: 1 }));
    const bad = readRunMetrics(dir);
    assert.equal(bad.metrics, null);
    assert.equal(bad.problem, `${join(dir, 'metrics.json')}: does not match data-spec/run-metrics.schema.json ((top level): must have required property 'closedSet', and 1 more); it was written by another version of clipface: run the experiment again`);
    assert.deepEqual(runMetricsProblems({ ...now, extra: 1 }), ['(top level): must NOT have additional properties (extra)']);

    writeFileSync(join(dir, 'metrics.json'), '{"closedSet": ');
    assert.match(readRunMetrics(dir).problem!, /metrics\.json: not valid JSON \(.*\); run the experiment again$/);
    rmSync(join(dir, 'metrics.json'));
    assert.match(readRunMetrics(dir).problem!, /metrics\.json: not found \(the run has not been evaluated yet\)$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
