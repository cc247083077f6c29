/**
 * The latest `npm run bench` result (lib/bench writes results/bench/<date>.json), read as plain
 * JSON: its text-step cases at RN50 size are the full-size counterpart of notebook 8's curve.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/paths.ts';
import type { ScalingPoint } from '../figures/scaling.ts';

export interface BenchTextSteps {
  file: string;
  createdAt: string;
  backend: string;
  points: ScalingPoint[];
}

/** textStep.ids<N> → {ms, peakRssMiB} of the newest bench file that has any; null when none does. */
export function latestBenchTextSteps(dir = join(repoRoot, 'results', 'bench')): BenchTextSteps | null {
  if (!existsSync(dir)) return null;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort().reverse()) {
    let j: { createdAt?: string; backend?: string | null; textStep?: Record<string, { ms?: number; peakRssMiB?: number } | null> };
    try { j = JSON.parse(readFileSync(join(dir, f), 'utf8')); } catch { continue; }
    const points = Object.entries(j.textStep ?? {})
      .map(([k, v]) => ({ ids: Number(/^ids(\d+)$/.exec(k)?.[1]), ms: v?.ms ?? NaN, rssMiB: v?.peakRssMiB ?? NaN }))
      .filter((p) => Number.isFinite(p.ids) && Number.isFinite(p.ms))
      .sort((a, b) => a.ids - b.ids);
    if (points.length) return { file: join(dir, f), createdAt: j.createdAt ?? '', backend: j.backend ?? 'unknown', points };
  }
  return null;
}

/** This machine's rows, plus the bench's RN50 rows when there are any, as scalingFigure series. */
export function scalingSeries(rows: readonly ScalingPoint[], label: string, bench: BenchTextSteps | null = latestBenchTextSteps()): { name: string; points: ScalingPoint[] }[] {
  return [
    { name: label, points: [...rows] },
    ...(bench ? [{ name: `npm run bench: RN50 text tower (${bench.backend}, ${bench.createdAt.slice(0, 10)})`, points: bench.points }] : []),
  ];
}
