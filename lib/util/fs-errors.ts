/**
 * A filesystem error the code did not anticipate (a file where a folder belongs, a read-only or
 * full disk, an over-long path) as one line naming the path and the fix, instead of a stack
 * (issue 13 item 8). Used by the CLI's last-resort handler and by stages that turn such an error
 * into a UserError with their own advice (the crop cache, a run's checkpoint).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/** What to do about each Node errno code (node:fs errors carry `code`, `syscall`, `path`/`dest`). */
const FS_FIX: Record<string, string> = {
  ENOTDIR: 'a part of this path is a file, not a folder; point the option at a folder',
  EISDIR: 'this is a folder where a file was expected; give a file path',
  EACCES: 'permission denied; choose a folder you can write to, or fix its permissions',
  EPERM: 'operation not permitted; choose another folder, or fix its permissions',
  EROFS: 'the file system is read-only; choose a writable folder',
  ENOSPC: 'the disk is full; free space, then run again',
  EDQUOT: 'the disk quota is exceeded; free space, then run again',
  ENAMETOOLONG: 'the path is too long for this file system; choose a shorter folder or name',
  EEXIST: 'something is already there; remove it or choose another path',
  ENOENT: 'not found; check the path',
};

/**
 * The error's real code. Node's recursive mkdir answers ENOENT ("not found") when a missing parent
 * cannot be created, e.g. on a read-only file system; asking the nearest existing folder whether
 * it is writable (access(2), which writes nothing) gives the reason (EROFS, EACCES).
 */
function realCode(e: NodeJS.ErrnoException): string | undefined {
  if (e.code !== 'ENOENT' || e.syscall !== 'mkdir' || !e.path) return e.code;
  let dir = e.path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
  } catch (a) {
    return (a as NodeJS.ErrnoException).code ?? e.code;
  }
  return e.code;
}

/** The fix for a Node filesystem error, with its code and syscall, or undefined for anything else. */
export function fsErrorFix(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  const code = err instanceof Error ? realCode(e) : undefined;
  if (!code || !FS_FIX[code]) return undefined;
  return `${FS_FIX[code]} (${code}${e.syscall ? ` in ${e.syscall}` : ''})`;
}

/** A Node filesystem error as one line naming the path and the fix, or undefined for anything else. */
export function fsErrorLine(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const fix = fsErrorFix(err);
  if (!fix || !(e.path || e.dest)) return undefined;
  return `${e.path ?? e.dest}: ${fix}`;
}
