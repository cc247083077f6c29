/**
 * Running the CLI as a user does, and the house rule every reliability case checks: a user error
 * ends in exactly one `clipface: ...` line naming what to fix, a non-zero exit, and no stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/golden.ts';

export interface CliResult { code: number | null; stdout: string; stderr: string; dir: string }

export function clipface(args: string[], env: Record<string, string> = {}, cwd = repoRoot): CliResult {
  return clipfaceVia([], args, env, cwd);
}

/** `clipface args` started by a wrapper command (`prefix`, e.g. one that mounts a file system first). */
export function clipfaceVia(prefix: string[], args: string[], env: Record<string, string> = {}, cwd = repoRoot): CliResult {
  const argv = [...prefix, process.execPath, '--import', 'tsx', join(repoRoot, 'lib/cli/main.ts'), ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', env: { ...process.env, CLIPFACE_QUIET: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, dir: r.stdout.trim().split('\n').pop() ?? '' };
}

/** A user error: non-zero exit, last stderr line `clipface: <message>` matching `pattern`, no stack. */
export function assertUserError(r: CliResult, pattern: RegExp, code = 2): void {
  assert.equal(r.code, code, `exit ${r.code}; stderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at .+:\d+:\d+|TypeError|RangeError|FATAL|heap/, `a stack or crash reached the user:\n${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop()!;
  assert.match(last, /^clipface: /, r.stderr);
  assert.match(last, pattern);
}
