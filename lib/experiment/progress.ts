/** Progress on stderr: a bar on a terminal, a line every ~10 % elsewhere (CI logs stay short). */
import cliProgress from 'cli-progress';

export interface Progress { update(done: number, extra?: string): void; stop(): void }

export function progress(label: string, total: number, quiet = false): Progress {
  if (quiet || total <= 0) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ stream: process.stderr, format: `${label} {bar} {value}/{total} {extra} | {eta_formatted} left`, hideCursor: true }, cliProgress.Presets.shades_classic);
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
