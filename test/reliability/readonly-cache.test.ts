/**
 * Issue 13 item 8: a crop cache (preprocess.cacheDir, `data prepare --cache`) on a read-only file
 * system stops with one line naming the folder and the fix. It used to be reported as every image
 * "skipped: processing failed" (the cache write failed inside each image's try), and a run then
 * failed later for a reason that pointed at the images. A read-only cache that already holds every
 * crop still serves them: only a needed write fails. Real read-only mounts (mounts.ts), as root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthDataset } from '../../lib/data/synth.ts';
import { assertUserError, clipface } from './cli.ts';
import { clipfaceOnMount, mountSkip } from './mounts.ts';

const work = mkdtempSync(join(tmpdir(), 'clipface-rel-rocache-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const data = join(work, 'data');
await synthDataset(data, { seed: 4, identities: 2, unknown: 0, perIdentity: 4, size: 96 });
const ro = join(work, 'ro-cache');

test('run: a read-only preprocess.cacheDir is one line naming it, not "all images skipped"', { skip: mountSkip }, () => {
  const file = join(work, 'exp.json');
  writeFileSync(file, JSON.stringify({
    name: 'rocache', dataset: { path: data }, preprocess: { detector: 'ground-truth', cacheDir: ro },
    model: { random: true, randomInit: { arch: 'tiny-rn' } }, training: { epochs: 1, batchSize: 4, lr: 1e-3 },
    evaluation: { bootstrap: 0 }, output: { resultsDir: join(work, 'results') },
  }));
  const r = clipfaceOnMount({ at: ro, bytes: 1 << 20, readOnly: true }, ['run', file]);
  assertUserError(r, new RegExp(`^clipface: ${ro}/crops: the crop cache cannot be written: the file system is read-only; choose a writable folder \\(EROFS in \\w+\\)\\. That folder is preprocess\\.cacheDir`));
  assert.doesNotMatch(r.stderr, /skipped/);
  assert.ok(!existsSync(join(work, 'results')) || readdirSync(join(work, 'results')).length === 0, 'no run folder left behind');
});

test('data prepare: a read-only --cache is one line naming it; no image is blamed', { skip: mountSkip }, () => {
  const out = join(work, 'prepared-ro');
  const r = clipfaceOnMount({ at: ro, bytes: 1 << 20, readOnly: true }, ['data', 'prepare', data, '--out', out, '--detector', 'ground-truth', '--cache', ro]);
  assertUserError(r, new RegExp(`^clipface: ${ro}: the crop cache cannot be written: the file system is read-only.*--cache`));
  assert.ok(!existsSync(join(out, 'prepare-report.json')), 'no report saying the images were skipped');
});

test('data prepare: a read-only --cache that already holds every crop still serves them', { skip: mountSkip }, () => {
  const filled = join(work, 'filled-cache');
  const first = clipface(['data', 'prepare', data, '--out', join(work, 'prepared-1'), '--detector', 'ground-truth', '--cache', filled]);
  assert.equal(first.code, 0, first.stderr);
  const out = join(work, 'prepared-2');
  const r = clipfaceOnMount({ at: ro, bindFrom: filled, readOnly: true }, ['data', 'prepare', data, '--out', out, '--detector', 'ground-truth', '--cache', ro]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(readFileSync(join(out, 'prepare-report.json'), 'utf8')).summary;
  assert.ok(s.total > 0);
  assert.deepEqual([s.ok, s.cached], [s.total, s.total]);
});
