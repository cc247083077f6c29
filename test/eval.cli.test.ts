/** `clipface metrics` end to end (spawned), plus the predictions CSV parser behind it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv, parsePredictionsCsv, summarizePredictions } from '../lib/eval/predictions.ts';
import { repoRoot } from './helpers/golden.ts';

function clipface(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The paper's CLIP deployment (TP 1, FN 1, FP 2, TN 8) as a predictions file, 3 frames a subject, plus 4 test rows. */
function clipPredictionsCsv(): string {
  const rows = ['kind,subject,known,truth,prediction,confidence'];
  for (let i = 0; i < 10; i++) {
    const p = `person${i}`;
    const [pred, conf] = i < 8 ? [p, 0.95] : i === 8 ? ['person0', 0.9] : [p, 0.5]; // 8 TN, 1 misidentified, 1 rejected
    for (let f = 0; f < 3; f++) rows.push(`deployment,${p},true,${p},${pred},${conf}`);
  }
  for (let f = 0; f < 3; f++) rows.push('deployment,visitor1,false,,person3,0.42', 'deployment,"visitor, 2",false,,person4,0.97');
  rows.push('test,,true,person0,person0,0.99', 'test,,true,person1,person1,0.8', 'test,,true,person2,person0,0.7', 'test,,true,person3,person3,0.9');
  return rows.join('\n') + '\n';
}

test('clipface metrics --counts 1,1,2,8 prints the paper CLIP row', () => {
  const r = clipface('metrics', '--counts', '1,1,2,8');
  assert.equal(r.code, 0, r.err);
  for (const v of ['75.00', '20.00', '50.00']) assert.match(r.out, new RegExp(v.replace('.', '\\.')));
  const j = clipface('metrics', '--counts', '0,2,9,1', '--json');
  assert.equal(j.code, 0, j.err);
  const parsed = JSON.parse(j.out);
  assert.deepEqual(parsed.counts, { tp: 0, fn: 2, fp: 9, tn: 1 });
  assert.equal(parsed.percent.fpr, 90);
  assert.equal(parsed.percent.fnr, 100);
  assert.equal(Math.round(parsed.percent.accuracy * 100) / 100, 8.33);
});

test('clipface metrics: bad arguments fail with one line and exit 2', () => {
  for (const args of [['--counts', '1,1,2'], ['--counts', '1,x,2,8'], [], ['--counts', '1,1,2,8', '--predictions', 'p.csv'], ['--predictions', 'no/such.csv']]) {
    const r = clipface('metrics', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^clipface: metrics/);
  }
});

test('clipface metrics --predictions reproduces the CLIP row from frames', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clipface-metrics-'));
  try {
    const file = join(dir, 'predictions.csv');
    writeFileSync(file, clipPredictionsCsv());
    const r = clipface('metrics', '--predictions', file);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /TP 1 {2}FN 1 {2}FP 2 {2}TN 8/);
    for (const v of ['75.00', '20.00', '50.00']) assert.ok(r.out.includes(v), r.out);
    assert.match(r.out, /top-1 accuracy 75\.00/);
    assert.match(r.out, /FPIR 50\.00 % {2}FNIR 20\.00 %/);
    const j = JSON.parse(clipface('metrics', '--predictions', file, '--json', '--enrolled-rejected', 'tn').out);
    assert.deepEqual(j.deployment.counts, { tp: 1, fn: 1, fp: 1, tn: 9 });
    // a stricter threshold rejects visitor 2 (0.97 < 0.98) and person0..7 (0.95)
    const strict = JSON.parse(clipface('metrics', '--predictions', file, '--json', '--threshold', '0.98').out);
    assert.deepEqual(strict.deployment.counts, { tp: 2, fn: 0, fp: 10, tn: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('predictions CSV: quoting, line numbers in errors, unrecognized spelled out', () => {
  assert.deepEqual(parseCsv('a,"b,""c"""\r\n\r\n1,2\n').map((r) => [r.line, r.cells]), [[1, ['a', 'b,"c"']], [3, ['1', '2']]]);
  const rows = parsePredictionsCsv('Kind,Subject,Known,Truth,Prediction,Confidence,extra\ndeployment,s,no,,Unrecognized,,x\n');
  assert.equal(rows[0]!.prediction, null);
  assert.equal(rows[0]!.known, false);
  assert.throws(() => parsePredictionsCsv('kind,subject,known,truth,prediction\n', 'p.csv'), /p\.csv: missing column "confidence"/);
  const head = 'kind,subject,known,truth,prediction,confidence\n';
  assert.throws(() => parsePredictionsCsv(`${head}\ndeployment,s,true,a,a,93\n`, 'p.csv'), /p\.csv:3: confidence "93".*0\.93/);
  assert.throws(() => parsePredictionsCsv(`${head}deploy,s,true,a,a,0.9\n`, 'p.csv'), /p\.csv:2: kind/);
  assert.throws(() => parsePredictionsCsv(`${head}deployment,s,maybe,a,a,0.9\n`, 'p.csv'), /known "maybe"/);
  assert.throws(() => parsePredictionsCsv(`${head}deployment,s,true,,a,0.9\n`, 'p.csv'), /fill the truth column/);
  const summary = summarizePredictions(parsePredictionsCsv(clipPredictionsCsv()));
  assert.equal(summary.test!.images, 4);
  assert.equal(summary.deployment!.decisions.length, 12);
});

test('clipface metrics --compare runs McNemar on paired test images (by path)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clipface-mcnemar-'));
  const rows = (right: boolean[]) => ['kind,path,subject,known,truth,prediction,confidence',
    ...right.map((ok, i) => `test,img${i}.jpg,p${i % 3},true,p${i % 3},${ok ? `p${i % 3}` : 'px'},0.9`)].join('\n') + '\n';
  // A right on 0..9, B right on 0..3 and 10..11: b = 6 (A only), c = 2 (B only)
  const a = Array.from({ length: 12 }, (_, i) => i < 10);
  const b = Array.from({ length: 12 }, (_, i) => i < 4 || i >= 10);
  writeFileSync(join(dir, 'a.csv'), rows(a));
  // B's rows in another order: pairing must go by path, not by position
  const bLines = rows(b).trim().split('\n');
  writeFileSync(join(dir, 'b.csv'), [bLines[0], ...bLines.slice(1).reverse()].join('\n') + '\n');
  const r = clipface('metrics', '--predictions', join(dir, 'a.csv'), '--compare', join(dir, 'b.csv'), '--json');
  assert.equal(r.code, 0, r.err);
  const m = JSON.parse(r.out);
  assert.equal(m.pairs, 12);
  assert.equal(m.b, 6);
  assert.equal(m.c, 2);
  assert.ok(Math.abs(m.exactP - 0.2890625) < 1e-9, `exact p ${m.exactP}`); // 2·P(X ≤ 2), X ~ Bin(8, ½) = 2·37/256
  rmSync(dir, { recursive: true, force: true });
});
