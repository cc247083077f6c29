/**
 * Reliability, a run meeting bad data (issue 13 items 9, 11): entries the dataset loader drops
 * are said and, above dataset.maxProblems, fail the run; a bad image with `detector: "none"` is
 * skipped with its reason; a warm-up longer than the run is refused; planned steps are said first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthDataset } from '../../lib/data/synth.ts';
import { assertUserError, clipface } from './cli.ts';

const work = mkdtempSync(join(tmpdir(), 'clipface-rel-rundata-'));
const data = join(work, 'data');
await synthDataset(data, { seed: 2, identities: 3, unknown: 1, perIdentity: 10, size: 96 });

/** An experiment on a copy of the small set (edited by `mutate`), tiny-rn, 1 epoch. */
function experiment(name: string, mutate: (root: string) => void = () => {}, extra: Record<string, unknown> = {}): string {
  const root = join(work, `data-${name}`);
  cpSync(data, root, { recursive: true });
  mutate(root);
  const file = join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    name, seed: 3, dataset: { path: root },
    preprocess: { detector: 'none', cacheDir: join(work, 'cache') },
    model: { random: true, randomInit: { arch: 'tiny-rn' } },
    training: { epochs: 1, batchSize: 8, lr: 1e-3 },
    evaluation: { bootstrap: 0 },
    output: { resultsDir: join(work, `results-${name}`) },
    ...extra,
  }));
  return file;
}

/** Two enrolment photos renamed on disk to another case: their manifest entries now miss. */
const wrongCase = (root: string) => {
  for (const p of ['p01/front-01.jpg', 'p02/left-01.jpg']) renameSync(join(root, p), join(root, p.replace(/\/(\w)/, (_, c: string) => `/${c.toUpperCase()}`)));
};

test('manifest entries that miss their files fail the run by default, naming them and dataset.maxProblems', () => {
  const file = experiment('missing', wrongCase);
  const r = clipface(['run', file]);
  assertUserError(r, /2 dataset entries have errors \(first: manifest\.json#\/images\/\d+ \(p01\/front-01\.jpg\): .*\); fix them .* or set dataset\.maxProblems to 2/);
  assert.ok(!existsSync(join(work, 'results-missing')) || readdirSync(join(work, 'results-missing')).length === 0, 'no results folder left behind');
});

test('with dataset.maxProblems the run goes on, says each entry on stderr and lists them in report.md', () => {
  const file = experiment('allowed', wrongCase, {});
  const r = clipface(['run', file, '--set', 'dataset.maxProblems=2'], { CLIPFACE_QUIET: '' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /dataset error: manifest\.json#\/images\/\d+ \(p01\/front-01\.jpg\)/);
  assert.match(r.stderr, /2 dataset entries with errors left out/);
  const m = JSON.parse(readFileSync(join(r.dir, 'metrics.json'), 'utf8'));
  assert.equal(m.data.leftOut.length, 2);
  assert.match(readFileSync(join(r.dir, 'report.md'), 'utf8'), /left out of the run: 2 dataset entries with errors: .*p01\/front-01\.jpg/);
});

test('detector "none": a corrupt image is skipped with its reason instead of aborting the run', () => {
  const file = experiment('none-bad', (root) => writeFileSync(join(root, 'p01', 'below-01.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])));
  const r = clipface(['run', file]);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(readFileSync(join(r.dir, 'metrics.json'), 'utf8'));
  assert.deepEqual(m.data.skipped.map((s: { path: string }) => s.path), ['p01/below-01.jpg']);
  assert.match(m.data.skipped[0].reason, /truncated|corrupt|cannot decode/);
});

test('a warm-up longer than the planned steps is refused, naming both numbers', () => {
  const r = clipface(['run', experiment('warm'), '--set', 'training.warmupSteps=50']);
  assertUserError(r, /training\.warmupSteps 50 is more than the \d+ planned steps \(1 epoch\(s\) × \d+ batch\(es\) of 8\)/);
});

test('a run states its planned steps and time before training', () => {
  const r = clipface(['run', experiment('plan')], { CLIPFACE_QUIET: '' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /training: 1 epoch\(s\) × 3 step\(s\) of batch 8 on 24 image\(s\) = 3 steps/);
  assert.match(r.stderr, /training: first step [\d.]+ s → about \d+ s for the remaining 2/);
});
