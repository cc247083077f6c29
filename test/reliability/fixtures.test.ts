/**
 * Reliability of the test suite itself (issue 13 item 15): without ../shared the parity tests of
 * the ViT tower and of the finetuning step skip and say which file is missing; under CI=true the
 * same absence is a failure, so CI cannot pass by testing less.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/golden.ts';

/** clip.test.ts's ViT fp32 parity test against the trimmed fixture only (no ViT set in it). */
function vitParity(ci: string) {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env; // a fresh test run, not a subtest of this one
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-name-pattern=clip-vit-tiny fp32: encode_image', join(repoRoot, 'test/clip.test.ts')], {
    cwd: repoRoot, encoding: 'utf8', env: { ...env, CI: ci, CLIPFACE_GOLDEN_DIR: join(repoRoot, 'test/fixtures/golden') },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('a missing ViT fixture: skipped with the file named locally, a failure under CI=true', () => {
  const local = vitParity('');
  assert.equal(local.code, 0, local.out);
  assert.match(local.out, /# SKIP .*clip-vit-tiny.*model\.fp32\.safetensors is not in this clone/);
  const ci = vitParity('true');
  assert.notEqual(ci.code, 0, 'CI=true must fail when a parity fixture is missing');
  assert.match(ci.out, /not ok .*clip-vit-tiny fp32/);
  assert.match(ci.out, /ENOENT.*clip-vit-tiny|clip-vit-tiny.*not found/);
});
