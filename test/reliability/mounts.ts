/**
 * Real read-only and full file systems for the fault tests. We run as root, and chmod does not
 * stop root from writing, so a read-only folder or a full disk has to be a real mount: a small
 * tmpfs (`size=`, `ro`) or a read-only bind mount, made inside a private mount namespace
 * (`unshare -m`, plus `-r`, a user namespace, when not root) so it vanishes with the command and
 * never outlives a failed test. What the command left on the mount is copied out before that.
 * Where unshare or mount is not permitted (a locked-down container), `mountSkip` says so and the
 * tests that need it skip with that reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clipfaceVia, type CliResult } from './cli.ts';

const UNSHARE = process.getuid?.() === 0 ? ['unshare', '--mount'] : ['unshare', '--map-root-user', '--mount'];

/** sh script: mount, run the rest of the arguments, copy the mount's content out, keep the exit code. */
const SCRIPT = `
mnt=$1; opts=$2; from=$3; snap=$4; shift 4
mkdir -p "$mnt" || exit 90
if [ -n "$from" ]; then
  mount --bind "$from" "$mnt" && mount -o "remount,bind,$opts" "$mnt" || exit 91
else
  mount -t tmpfs -o "$opts" tmpfs "$mnt" || exit 91
fi
"$@"; rc=$?
if [ -n "$snap" ]; then mkdir -p "$snap" && cp -a "$mnt/." "$snap/"; fi
exit $rc`;

export interface MountSpec {
  /** where the file system appears (created if absent) */
  at: string;
  /** tmpfs size in bytes (a fresh, empty tmpfs), or … */
  bytes?: number;
  /** … an existing folder bind-mounted at `at` */
  bindFrom?: string;
  readOnly?: boolean;
  /** copy what is on the mount here after the command */
  snapshot?: string;
}

function prefix(m: MountSpec): string[] {
  const opts = m.bindFrom ? (m.readOnly ? 'ro' : 'rw') : `size=${m.bytes ?? 1 << 20}${m.readOnly ? ',ro' : ''}`;
  return [...UNSHARE, 'sh', '-c', SCRIPT, 'sh', m.at, opts, m.bindFrom ?? '', m.snapshot ?? ''];
}

/** `clipface args` with `m` mounted for it alone. */
export function clipfaceOnMount(m: MountSpec, args: string[], env: Record<string, string> = {}): CliResult {
  return clipfaceVia(prefix(m), args, env);
}

/** Why these tests cannot run here, or false when a private tmpfs mount works. */
export const mountSkip: string | false = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'clipface-mount-probe-'));
  try {
    const argv = [...prefix({ at: join(dir, 'm'), bytes: 65536 }), 'true'];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    if (r.status === 0) return false;
    const why = (r.error?.message ?? r.stderr.trim().split('\n').pop()) || `exit ${r.status}`;
    return `needs a private mount namespace with tmpfs (${UNSHARE.join(' ')}), not permitted here: ${why}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
