/**
 * Progress on stderr, and the only file that imports cli-progress. Two shapes:
 * - `progress(label, total)`: counted work (embedding, training, baselines): a bar on a terminal,
 *   a line every ~10 % elsewhere (CI logs stay short);
 * - `terminalBar(format)`: a bare cli-progress bar for callers with their own format and
 *   non-terminal behaviour (downloads in bytes, `data synth`, `data prepare`).
 */
import cliProgress from 'cli-progress';

export interface Progress { update(done: number, extra?: string): void; stop(): void }

export function progress(label: string, total: number, quiet = false): Progress {
  if (quiet || total <= 0) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = terminalBar(`${label} {bar} {value}/{total} {extra} | {eta_formatted} left`);
    bar.start(total, 0, { extra: '' });
    return { update: (d, extra = '') => bar.update(d, { extra }), stop: () => bar.stop() };
  }
  let next = 0;
  return {
    update(d, extra = '') {
      if (d >= next || d === total) {
        process.stderr.write(`${label}: ${d}/${total} ${extra}\n`);
        next = d + Math.max(1, Math.ceil(total / 10));
      }
    },
    stop() {},
  };
}

export interface TerminalBar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  increment(): void;
  stop(): void;
}

/**
 * A single cli-progress bar on stderr (shades_classic, cursor hidden while it runs). `format` uses
 * cli-progress's tokens ({bar} {value} {total} {percentage} {eta_formatted}) and payload keys.
 */
export function terminalBar(format: string): TerminalBar {
  return new cliProgress.SingleBar({ stream: process.stderr, format, hideCursor: true }, cliProgress.Presets.shades_classic);
}
