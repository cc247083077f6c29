/**
 * Issue 13 item 8: the disk fills up while a run writes a checkpoint or report.html. One line
 * names the file and the fix (and the resume command, since the last checkpoint is whole),
 * nothing half-written stays (temp files and the half checkpoint folder are removed), status.json
 * says "failed" rather than "running", and --resume, once there is space, ends with the metrics of
 * an uninterrupted run. The full disk is a real tmpfs sized from a reference run (mounts.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { recoverCheckpoint } from '../../lib/services/checkpoint.ts';
import { assertUserError, clipface } from './cli.ts';
import { clipfaceOnMount, mountSkip } from './mounts.ts';

const work = mkdtempSync(join(tmpdir(), 'clipface-rel-full-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const results = join(work, 'results');
const file = join(work, 'exp.json');
writeFileSync(file, JSON.stringify({
  name: 'full', seed: 5,
  dataset: { path: join(work, 'data'), synth: { seed: 3, identities: 2, unknown: 1, perIdentity: 5, size: 96 } },
  preprocess: { detector: 'ground-truth', cacheDir: join(work, 'cache') },
  model: { random: true, randomInit: { arch: 'tiny-rn' } },
  training: { epochs: 6, batchSize: 4, lr: 1e-3, checkpointEvery: 4 }, // 12 steps: checkpoints at 4, 8, 12
  evaluation: { bootstrap: 0 },
  output: { resultsDir: results },
}));

/** Bytes a folder takes on tmpfs (whole 4 KiB pages per file). */
function footprint(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return Math.ceil(s.size / 4096) * 4096;
  return readdirSync(p).reduce((sum, f) => sum + footprint(join(p, f)), 4096);
}
const MiB = 1 << 20;
const metricsOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
const statusOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'));

/** Every name under `dir` (relative), for "nothing half-written" checks. */
const tree = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' });

// the reference: an uninterrupted run of the same file (its folder is hidden under the mount later)
const whole = mountSkip ? undefined : clipface(['run', file]);
const refDir = whole?.dir ?? '';

/** The run on a tmpfs of `bytes` at resultsDir; what it left is copied to the returned folder. */
function runOnFullDisk(tag: string, bytes: number, sets: string[] = []): { r: ReturnType<typeof clipface>; dir: string } {
  const snapshot = join(work, `left-${tag}`);
  const r = clipfaceOnMount({ at: results, bytes, snapshot }, ['run', file, ...sets.flatMap((s) => ['--set', s])]);
  const runs = readdirSync(snapshot);
  assert.equal(runs.length, 1, `one run folder on the disk: ${runs}\n${r.stderr}`);
  return { r, dir: join(snapshot, runs[0]!) };
}

test('disk full while writing a checkpoint: one line, no half checkpoint, status failed, resume matches', { skip: mountSkip }, () => {
  assert.equal(whole!.code, 0, whole!.stderr);
  const ckpt = footprint(join(refDir, 'checkpoint'));
  // room for the preprocessing outputs and one checkpoint, and half of the next one (step 8)
  const { r, dir } = runOnFullDisk('ckpt', footprint(join(refDir, 'prepare')) + ckpt + ckpt / 2 + MiB);
  const onMount = join(results, basename(dir));
  assertUserError(r, new RegExp(`^clipface: ${onMount}/checkpoint: the disk is full; free space, then run again \\(ENOSPC in write\\); then resume with: clipface run ${file} --resume ${onMount}$`));
  assert.deepEqual(tree(dir).filter((f) => /(^|\/)\.|\.tmp$/.test(f)), [], 'no temp files or folders left');
  assert.equal(statusOf(dir).state, 'failed');
  assert.match(statusOf(dir).error, /ENOSPC/);
  const state = JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8'));
  assert.equal(state.step, 4, 'the last whole checkpoint is kept');
  assert.equal(recoverCheckpoint(join(dir, 'checkpoint')), true, 'and its files match their hashes');
  const resumed = clipface(['run', file, '--resume', dir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(metricsOf(dir), metricsOf(refDir), 'resumed metrics equal the uninterrupted run\'s');
});

test('disk full while writing report.html: one line naming it, no temp file, status failed, resume finishes', { skip: mountSkip }, () => {
  const report = footprint(join(refDir, 'report.html'));
  assert.ok(report > 2 * MiB, `report.html inlines plotly (${report} bytes)`);
  // everything fits but the second half of report.html (one checkpoint only, at the end)
  const { r, dir } = runOnFullDisk('report', footprint(refDir) - report / 2, ['training.checkpointEvery=0']);
  const onMount = join(results, basename(dir));
  assertUserError(r, new RegExp(`^clipface: ${onMount}/report\\.html: the disk is full; free space, then run again \\(ENOSPC in write\\); then resume with: clipface run ${file} --resume ${onMount}$`));
  assert.deepEqual(tree(dir).filter((f) => /(^|\/)\.|\.tmp$/.test(f)), [], 'no temp files left');
  assert.deepEqual(tree(dir).filter((f) => f === 'report.html'), [], 'no report.html, whole or half');
  assert.equal(statusOf(dir).state, 'failed');
  const resumed = clipface(['run', file, '--set', 'training.checkpointEvery=0', '--resume', dir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(statusOf(dir).state, 'finished');
  assert.ok(statSync(join(dir, 'report.html')).size > 2 * MiB);
});
