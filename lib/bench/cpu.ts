/**
 * How many cores other processes kept busy while a case was timed (Linux /proc/stat minus our own
 * CPU time). The bench boxes are shared and noisy (PERF-NOTES "Detailed measurements": ±15–25 %,
 * and 2-thread kernels lose up to 5× when another process holds a core), so every number carries it.
 */
import { readFileSync } from 'node:fs';

function busySeconds(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100; // USER_HZ
  } catch {
    return null;
  }
}

export class CpuMeter {
  private t0 = 0;
  private busy0: number | null = null;
  private own0 = 0;

  start(): void {
    this.t0 = performance.now();
    this.busy0 = busySeconds();
    const u = process.cpuUsage();
    this.own0 = (u.user + u.system) / 1e6;
  }

  /** average foreign cores since start(), 2 decimals; null off Linux */
  foreignCores(): number | null {
    const busy = busySeconds();
    if (busy === null || this.busy0 === null) return null;
    const u = process.cpuUsage();
    const own = (u.user + u.system) / 1e6 - this.own0;
    const wall = (performance.now() - this.t0) / 1000;
    return wall > 0 ? Math.max(0, Math.round(((busy - this.busy0 - own) / wall) * 100) / 100) : null;
  }
}

/** Busy cores (all processes) over `ms`, from /proc/stat; null off Linux. */
export async function busyCores(ms = 1000): Promise<number | null> {
  const a = busySeconds();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const b = busySeconds();
  return a === null || b === null ? null : (b - a) / ((performance.now() - t0) / 1000);
}

/**
 * Wait (up to `maxSec`) until other processes use under `below` cores, as PERF-NOTES' timings
 * did; returns the last reading (the bench records it either way).
 */
export async function waitForIdle(maxSec: number, below = 0.25, log?: (s: string) => void): Promise<number | null> {
  const end = performance.now() + maxSec * 1000;
  const t0 = performance.now();
  let busy = await busyCores(1000);
  if (busy !== null && busy >= below) log?.(`bench: waiting up to ${maxSec} s for the box to go idle (${busy.toFixed(2)} cores busy)`);
  while (busy !== null && busy >= below && performance.now() < end) busy = await busyCores(2000);
  if (performance.now() - t0 > 1500) log?.(`bench: ${busy !== null && busy < below ? 'idle' : 'still busy'} after ${((performance.now() - t0) / 1000).toFixed(0)} s (${busy?.toFixed(2)} cores busy)`);
  return busy;
}
