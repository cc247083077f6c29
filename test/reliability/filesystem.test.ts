/**
 * Issue 13 item 8: output paths that are files, not folders, on a read-only file system, or
 * over-long end in one line naming the path and the fix (lib/util/fs-errors.ts fsErrorLine),
 * never a stack. Read-only folders are real read-only mounts (mounts.ts: chmod does not stop
 * root); the read-only crop cache and the full disk have their own files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertUserError, clipface } from './cli.ts';
import { clipfaceOnMount, mountSkip } from './mounts.ts';

const work = mkdtempSync(join(tmpdir(), 'cf-fs-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const small = (out: Record<string, unknown>) => {
  const f = join(work, `exp-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify({
    name: 'fs', dataset: { path: join(work, 'data'), synth: { seed: 1, identities: 2, unknown: 0, perIdentity: 5, size: 96 } },
    preprocess: { detector: 'ground-truth', cacheDir: join(work, 'cache') }, model: { random: true, randomInit: { arch: 'tiny-rn' } },
    training: { epochs: 1, batchSize: 4, lr: 1e-3 }, evaluation: { bootstrap: 0 }, ...out,
  }));
  return f;
};

test('resultsDir that is a file: one line naming it', () => {
  const file = join(work, 'not-a-folder');
  writeFileSync(file, 'x');
  const r = clipface(['run', small({ output: { resultsDir: join(file, 'results') } }), '--quiet']);
  assertUserError(r, /not-a-folder.*(file, not a folder|ENOTDIR)/);
});

test('data synth --out under a file: one line naming it', () => {
  const file = join(work, 'plain-file');
  writeFileSync(file, 'x');
  const r = clipface(['data', 'synth', '--out', join(file, 'data'), '--identities', '1', '--unknown', '0', '--per-identity', '1']);
  assertUserError(r, /plain-file/);
});

test('an over-long output path: one line naming the path', () => {
  const r = clipface(['data', 'synth', '--out', join(work, 'x'.repeat(300)), '--identities', '1', '--unknown', '0', '--per-identity', '1']);
  assertUserError(r, /too long|ENAMETOOLONG/);
  assert.ok(r.stderr.length < 2000);
});

test('resultsDir on a read-only file system: one line saying so, not "not found"', { skip: mountSkip }, () => {
  const ro = join(work, 'ro-results');
  const r = clipfaceOnMount({ at: ro, bytes: 1 << 20, readOnly: true }, ['run', small({ output: { resultsDir: join(ro, 'results') } }), '--quiet']);
  assertUserError(r, new RegExp(`^clipface: ${ro}/results/\\S+: the file system is read-only; choose a writable folder \\(EROFS in mkdir\\)$`));
});

test('data prepare --out on a read-only file system (cache elsewhere): one line naming the report path', { skip: mountSkip }, () => {
  const data = join(work, 'prep-data');
  assert.equal(clipface(['data', 'synth', '--out', data, '--identities', '2', '--unknown', '0', '--per-identity', '2', '--size', '64']).code, 0);
  const ro = join(work, 'ro-out');
  const r = clipfaceOnMount({ at: ro, bytes: 1 << 20, readOnly: true }, ['data', 'prepare', data, '--detector', 'ground-truth', '--out', join(ro, 'prepared'), '--cache', join(work, 'prep-cache')]);
  assertUserError(r, new RegExp(`^clipface: ${ro}/prepared: the file system is read-only; choose a writable folder \\(EROFS in mkdir\\)$`));
});
