/**
 * Resumable, verified downloads, after openai/CLIP's `_download` (stream to disk, sha256, refuse a
 * mismatch) plus what large weights need: a `.part` file resumed with an HTTP Range request, an
 * atomic rename once the hash checks out, and a fast, one-line failure when offline.
 * Only the CLI calls this; nothing runs at import time.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { terminalBar } from '../runtime/progress.ts';
import { UserError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';

export interface DownloadOptions {
  /** expected lowercase hex digest; null/undefined = not pinned (the result still carries the hash) */
  sha256?: string | null;
  /** expected size, when known */
  bytes?: number;
  /** called after every chunk with bytes on disk so far and the total when known */
  onProgress?: (done: number, total: number | undefined) => void;
  /** time allowed until the response headers arrive (default 10 s) */
  connectTimeoutMs?: number;
  /** time allowed without a byte of body before giving up, keeping the .part (default 60 s) */
  idleTimeoutMs?: number;
}

export interface DownloadResult {
  sha256: string;
  bytes: number;
  /** true when an existing .part was continued (HTTP 206) */
  resumed: boolean;
}

async function hashInto(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

// "bytes 100-199/200" -> {start: 100, total: 200}; "bytes */200" (a 416 answer) -> {total: 200}
function contentRange(h: string | null): { start?: number; total?: number } | undefined {
  const m = h?.match(/^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/);
  if (!m) return undefined;
  return { start: m[1] === undefined ? undefined : Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

function unreachable(url: string, dest: string, err: unknown): UserError {
  const cause = (err as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (err as Error).name;
  return new UserError(
    `cannot reach ${new URL(url).host} (offline?): fetch the files on a machine with internet and copy them to ${dirname(dest)}, or pass --weights [${code}]`,
  );
}

/**
 * Downloads `url` to `dest`: streams into `dest.part` (continuing an existing one with
 * `Range: bytes=<size>-`; a 200 answer restarts it), checks size and sha256 when known, then
 * renames to `dest`. A hash mismatch deletes the .part; an interrupted transfer keeps it for the
 * next run. Errors are UserErrors with one line of advice.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  return attempt(url, dest, opts, true);
}

async function attempt(url: string, dest: string, opts: DownloadOptions, mayRestart: boolean): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;
  const restart = async () => {
    rmSync(part, { force: true });
    if (!mayRestart) throw new UserError(`download of ${url} failed: the server's range answers are inconsistent`);
    return attempt(url, dest, opts, false);
  };

  const ctl = new AbortController();
  const connectTimer = setTimeout(() => ctl.abort(), opts.connectTimeoutMs ?? 10_000);
  let res: Response;
  try {
    const headers: Record<string, string> = { 'user-agent': 'clipface-lab', 'accept-encoding': 'identity' };
    if (have > 0) headers.range = `bytes=${have}-`;
    res = await fetch(url, { headers, redirect: 'follow', signal: ctl.signal });
  } catch (e) {
    throw unreachable(url, dest, e);
  } finally {
    clearTimeout(connectTimer);
  }

  if (res.status === 416) {
    // Range not satisfiable: the .part may already hold the whole file.
    await res.body?.cancel();
    const total = contentRange(res.headers.get('content-range'))?.total;
    if (have > 0 && total === have) return finish(part, dest, opts, await sha256File(part), have, true);
    return restart();
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    const hint = res.status === 401 || res.status === 403 ? ' (gated or private: the file needs a login)' : '';
    throw new UserError(`download of ${url} failed: HTTP ${res.status} ${res.statusText}${hint}`);
  }

  let start = 0;
  let total: number | undefined;
  if (res.status === 206) {
    const cr = contentRange(res.headers.get('content-range'));
    if (!cr || cr.start !== have) {
      await res.body.cancel();
      return restart();
    }
    start = have;
    total = cr.total;
  } else {
    const len = res.headers.get('content-length');
    total = len === null ? undefined : Number(len); // a 200 answer is the whole file: start over
  }
  total ??= opts.bytes;

  mkdirSync(dirname(dest), { recursive: true });
  const hash = createHash('sha256');
  if (start > 0) await hashInto(hash, part);
  const fh = await open(part, start > 0 ? 'a' : 'w');
  let done = start;
  let stalled = false;
  let idleTimer: NodeJS.Timeout | undefined;
  const idle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => { stalled = true; ctl.abort(); }, opts.idleTimeoutMs ?? 60_000);
  };
  try {
    const reader = res.body.getReader();
    idle();
    for (;;) {
      const { done: eof, value } = await reader.read();
      if (eof) break;
      idle();
      hash.update(value);
      await fh.write(value);
      done += value.length;
      opts.onProgress?.(done, total);
    }
    await fh.sync();
  } catch (e) {
    const why = stalled ? `stalled (no data for ${(opts.idleTimeoutMs ?? 60_000) / 1000} s)` : (e as Error).message;
    throw new UserError(`download of ${url} interrupted at ${done} bytes: ${why}; run the command again to resume`);
  } finally {
    clearTimeout(idleTimer);
    await fh.close();
  }
  if (total !== undefined && done < total) {
    throw new UserError(`download of ${url} ended early (${done} of ${total} bytes); run the command again to resume`);
  }
  return finish(part, dest, opts, hash.digest('hex'), done, start > 0);
}

function finish(part: string, dest: string, opts: DownloadOptions, sha256: string, bytes: number, resumed: boolean): DownloadResult {
  const name = basename(dest);
  if (opts.bytes !== undefined && bytes !== opts.bytes) {
    rmSync(part, { force: true });
    throw new UserError(`${name}: got ${bytes} bytes, the registry says ${opts.bytes}; deleted the download, run again`);
  }
  if (opts.sha256 && sha256 !== opts.sha256) {
    rmSync(part, { force: true });
    throw new UserError(`${name}: sha256 mismatch (expected ${opts.sha256}, got ${sha256}); deleted the download, run again`);
  }
  renameSync(part, dest);
  return { sha256, bytes, resumed };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * Progress on stderr: a cli-progress bar when stderr is a terminal, else a plain line every
 * 10 % (or 15 s when the size is unknown), so logs stay readable.
 */
export function progressReporter(label: string): { update(done: number, total: number | undefined): void; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = terminalBar(`${label} [{bar}] {percentage}% | {got} of {size} | ETA {eta_formatted}`);
    let started = false;
    return {
      update(done, total) {
        const payload = { got: formatBytes(done), size: total ? formatBytes(total) : '?' };
        if (!started) { bar.start(total ?? 0, done, payload); started = true; }
        bar.update(done, payload);
      },
      stop() { if (started) bar.stop(); },
    };
  }
  let lastStep = -1;
  let lastTime = Date.now();
  let last = 0;
  return {
    update(done, total) {
      last = done;
      const step = total ? Math.floor((10 * done) / total) : -1;
      if (total ? step > lastStep : Date.now() - lastTime > 15_000) {
        lastStep = step;
        lastTime = Date.now();
        process.stderr.write(`${label}: ${total ? `${step * 10}% of ${formatBytes(total)}` : formatBytes(done)}\n`);
      }
    },
    stop() { if (lastStep < 10 && last > 0) process.stderr.write(`${label}: ${formatBytes(last)} done\n`); },
  };
}
