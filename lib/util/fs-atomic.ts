/**
 * Nothing is half-written: every file is written to a temp name in the same folder, then renamed
 * (rename is atomic on one filesystem), so a crash leaves either the old file or the new one.
 * A failed write (a full disk, a read-only folder) removes its temp file and throws an error that
 * names the file being written: Node's `write` errors carry no path at all, and the temp name
 * would point the user at a file that no longer exists.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/**
 * `mkdir -p` that reports why. Node's recursive mkdir answers ENOENT ("not found") when a missing
 * parent cannot be created, e.g. on a read-only file system; the first missing folder, created on
 * its own, gives the real reason (EROFS, EACCES, ENOTDIR, ENOSPC) with its path.
 */
export function mkdirp(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    let first = dir;
    while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
    mkdirSync(first); // throws the real error; should it succeed after all, finish the job
    mkdirSync(dir, { recursive: true });
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirp(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    const fd = openSync(tmp, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    if (err.code && (!err.path || err.path === tmp)) err.path = path;
    throw e;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}
