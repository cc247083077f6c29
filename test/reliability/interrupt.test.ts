/**
 * Reliability, interrupts and checkpoints (issue 13 items 2, 3, 8): SIGINT and SIGTERM reach the
 * training process however it was started (bin/clipface.js, `npm run`, a whole process group as a
 * terminal's Ctrl-C does) and stop it at the next step with a checkpoint and the resume command;
 * SIGKILLs at random moments, checkpoint writes included, always resume to the metrics of an
 * uninterrupted run; a checkpoint cut short is rolled back or refused, never half-used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverCheckpoint, saveCheckpoint } from '../../lib/services/checkpoint.ts';
import { mulberry32 } from '../../lib/util/rng.ts';
import { UserError } from '../../lib/util/errors.ts';
import { repoRoot } from '../helpers/golden.ts';
import { assertUserError, clipface } from './cli.ts';

const work = mkdtempSync(join(tmpdir(), 'clipface-rel-int-'));
const file = join(work, 'exp.json');
writeFileSync(file, JSON.stringify({
  name: 'sig', seed: 3,
  dataset: { path: join(work, 'data'), synth: { seed: 2, identities: 3, unknown: 1, perIdentity: 10, size: 96 } },
  preprocess: { detector: 'none', cacheDir: join(work, 'cache') },
  model: { random: true, randomInit: { arch: 'tiny-rn' } },
  training: { epochs: 12, batchSize: 4, lr: 1e-3, checkpointEvery: 2 }, // 72 steps: a few seconds
  evaluation: { bootstrap: 0 },
  output: { resultsDir: join(work, 'results') },
}));
const metricsOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
const statusOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')).state;

const whole = clipface(['run', file, '--quiet']);
const rand = mulberry32(13);

interface Started { code: number | null; stderr: string; dir: string }

/**
 * Starts a run (`how`), waits for its first training step, then after a seeded random delay sends
 * `signal` to the process (`group`: to its whole process group, as a terminal's Ctrl-C does).
 */
async function interrupt(how: 'bin' | 'npm' | 'node', signal: NodeJS.Signals, group: boolean, maxDelayMs = 1500): Promise<Started> {
  const cmd = { bin: [process.execPath, join(repoRoot, 'bin/clipface.js')], npm: ['npm', 'run', '-s', 'clipface', '--'], node: [process.execPath, '--import', 'tsx', join(repoRoot, 'lib/cli/main.ts')] }[how];
  const args = [...cmd.slice(1), 'run', file, ...(existsSync(join(work, 'resume-dir')) ? ['--resume', readFileSync(join(work, 'resume-dir'), 'utf8')] : [])];
  const child = spawn(cmd[0]!, args, { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLIPFACE_QUIET: '' } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.resume();
  const exited = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? 128 + (sig === 'SIGKILL' ? 9 : 0) : null))));
  for (let t = 0; t < 1500 && !/training: first step|resuming/.test(stderr) && child.exitCode === null; t++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, Math.floor(rand() * maxDelayMs)));
  process.kill(group ? -child.pid! : child.pid!, signal);
  const code = await exited;
  const dir = /run: (?:results in|resuming) (\S+)/.exec(stderr)?.[1] ?? '';
  return { code, stderr, dir };
}

function resumeToEnd(dir: string) {
  const r = clipface(['run', file, '--quiet', '--resume', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(metricsOf(r.dir), metricsOf(whole.dir), 'resumed metrics equal the uninterrupted run\'s');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temp folders or files left in the run folder');
}

test('the uninterrupted reference run finished', () => assert.equal(whole.code, 0, whole.stderr));

for (const [how, signal, group] of [['bin', 'SIGINT', true], ['bin', 'SIGTERM', false], ['npm', 'SIGINT', true], ['npm', 'SIGTERM', false]] as const) {
  test(`${signal} to ${group ? 'the process group' : 'the launcher'} of \`${how === 'bin' ? 'bin/clipface.js' : 'npm run clipface'}\`: checkpoint, resume command, same metrics after --resume`, async () => {
    const r = await interrupt(how, signal, group);
    assert.equal(r.code, signal === 'SIGINT' ? 130 : 143, r.stderr);
    assert.match(r.stderr, new RegExp(`${signal}: stopping after this training step`));
    assert.match(r.stderr, /clipface: interrupted; the checkpoint in \S+ resumes with: clipface run \S+ --resume \S+/);
    assert.equal(statusOf(r.dir), 'interrupted');
    const state = JSON.parse(readFileSync(join(r.dir, 'checkpoint', 'state.json'), 'utf8'));
    assert.ok(state.step > 0 && state.step < 72, `stopped mid-training at step ${state.step}`);
    resumeToEnd(r.dir);
  });
}

test('SIGKILL at three random moments (checkpoint writes included): the resumed run equals the uninterrupted one', async () => {
  rmSync(join(work, 'resume-dir'), { force: true });
  let dir = '';
  for (let k = 0; k < 3; k++) {
    const r = await interrupt('node', 'SIGKILL', false, 2500);
    dir ||= r.dir;
    assert.ok(dir, r.stderr);
    writeFileSync(join(work, 'resume-dir'), dir);
  }
  rmSync(join(work, 'resume-dir'));
  resumeToEnd(dir);
});

// ---------------------------------------------------------------- the checkpoint as one unit

const tiny = (step: number) => ({
  step, totalSteps: 10, log: [], text: new Map([['w', { shape: [2], data: Float32Array.of(step, step) }]]),
  optimizer: { step, m: new Map([['w', Float32Array.of(0, 0)]]), v: new Map([['w', Float32Array.of(0, 0)]]) },
});
const stepOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).step;

test('a kill while the new checkpoint is written leaves the old one, and its temp folder is removed', () => {
  const run = mkdtempSync(join(work, 'ck-')), ck = join(run, 'checkpoint');
  saveCheckpoint(ck, tiny(2), {});
  mkdirSync(join(run, '.checkpoint-4.tmp'));
  writeFileSync(join(run, '.checkpoint-4.tmp', 'text.safetensors'), 'half written');
  writeFileSync(join(ck, '.text.safetensors.123.456.tmp'), 'a leftover of an older version');
  assert.equal(recoverCheckpoint(ck), true);
  assert.equal(stepOf(ck), 2);
  assert.deepEqual(readdirSync(run), ['checkpoint']);
  assert.deepEqual(readdirSync(ck).sort(), ['optimizer.safetensors', 'state.json', 'text.safetensors']);
});

test('a kill between the two renames: the newer whole checkpoint is put in place', () => {
  const run = mkdtempSync(join(work, 'ck-')), ck = join(run, 'checkpoint');
  saveCheckpoint(ck, tiny(2), {});
  saveCheckpoint(ck, tiny(4), {});
  cpSync(ck, join(run, '.checkpoint-4.tmp'), { recursive: true }); // the new one, complete
  saveCheckpoint(ck, tiny(2), {});
  cpSync(ck, join(run, '.checkpoint.old'), { recursive: true }); // the old one, moved aside
  rmSync(ck, { recursive: true });
  assert.equal(recoverCheckpoint(ck), true);
  assert.equal(stepOf(ck), 4);
  assert.deepEqual(readdirSync(run), ['checkpoint']);
});

test('text.safetensors a step ahead of state.json is rolled back to the previous whole checkpoint, or refused', () => {
  const run = mkdtempSync(join(work, 'ck-')), ck = join(run, 'checkpoint');
  saveCheckpoint(ck, tiny(4), {});
  const ahead = readFileSync(join(ck, 'text.safetensors'));
  saveCheckpoint(ck, tiny(2), {});
  const two = readFileSync(join(ck, 'text.safetensors'));
  cpSync(ck, join(run, '.checkpoint.old'), { recursive: true });
  writeFileSync(join(ck, 'text.safetensors'), ahead); // the mix an in-place writer could leave
  assert.equal(recoverCheckpoint(ck), true);
  assert.equal(stepOf(ck), 2);
  assert.deepEqual(readFileSync(join(ck, 'text.safetensors')), two);
  writeFileSync(join(ck, 'text.safetensors'), ahead); // now with nothing to roll back to
  assert.throws(() => recoverCheckpoint(ck), (e: unknown) => e instanceof UserError && /no whole checkpoint to resume from \(.*text\.safetensors does not match the sha256/.test(e.message));
});

test('--resume with a corrupt config.json or state.json: one line naming the file, no stack', () => {
  const src = readdirSync(join(work, 'results')).map((d) => join(work, 'results', d)).find((d) => statusOf(d) === 'finished')!;
  const broken = join(work, 'results', 'broken');
  cpSync(src, broken, { recursive: true });
  writeFileSync(join(broken, 'status.json'), '{"state": "interrupted"}');
  writeFileSync(join(broken, 'checkpoint', 'state.json'), '{"step": ');
  assertUserError(clipface(['run', file, '--resume', broken]), /checkpoint: no whole checkpoint to resume from \(.*state\.json is unreadable/);
  writeFileSync(join(broken, 'config.json'), 'not json');
  assertUserError(clipface(['run', file, '--resume', broken]), /--resume .*broken: its config\.json is unreadable/);
});
