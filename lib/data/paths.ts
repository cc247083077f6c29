/**
 * Dataset paths: relative, '/' separated, and never leaving the dataset root (no absolute paths,
 * no '..' that climbs out, no symlink that points outside).
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, sep } from 'node:path';
import { UserError } from '../util/errors.ts';

/** The normalised relative path, or why it is not acceptable. */
export function checkRelativePath(rel: string): { ok: true; path: string } | { ok: false; reason: string } {
  if (rel.includes('\0')) return { ok: false, reason: 'path contains a NUL character' };
  if (rel.includes('\\')) return { ok: false, reason: `path uses '\\'; write it relative to the dataset root with '/' separators` };
  if (isAbsolute(rel) || posix.isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) {
    return { ok: false, reason: 'absolute path; paths must be relative to the dataset root' };
  }
  const n = posix.normalize(rel);
  if (n === '..' || n.startsWith('../')) return { ok: false, reason: `path escapes the dataset root ('..'); keep images inside the dataset folder` };
  if (n === '.' || n.endsWith('/')) return { ok: false, reason: 'path names a folder, not a file' };
  return { ok: true, path: n };
}

/** true when `abs` (which must exist) resolves, symlinks followed, to a place inside `root`. */
export function staysInside(root: string, abs: string): boolean {
  const r = realpathSync(root);
  const a = realpathSync(abs);
  return a === r || a.startsWith(r.endsWith(sep) ? r : r + sep);
}

/** Why the file at `rel` under `root` is unusable, or undefined when it is a readable file inside the root. */
export function fileProblem(root: string, rel: string): { code: 'missing-file' | 'path-outside-root'; reason: string } | undefined {
  const abs = join(root, rel);
  if (!existsSync(abs)) return { code: 'missing-file', reason: 'file not found (or a broken link); fix the path in manifest.json or add the file' };
  if (!staysInside(root, abs)) return { code: 'path-outside-root', reason: 'a symbolic link points outside the dataset root' };
  if (!statSync(abs).isFile()) return { code: 'missing-file', reason: 'not a regular file' };
  return undefined;
}

/** Absolute path of a dataset image; throws UserError when `rel` would leave the dataset root. */
export function resolveImagePath(ds: { root: string }, rel: string): string {
  const c = checkRelativePath(rel);
  if (!c.ok) throw new UserError(`${join(ds.root, 'manifest.json')}: image "${rel}": ${c.reason}`);
  return join(ds.root, ...c.path.split('/'));
}
