/**
 * Runs a grid (spec.ts): each run through the same `runExperiment` as `clipface run`, one after the
 * other in this process, each in its own results folder. Resumable: a run whose folder holds a
 * finished run of the identical resolved config (same config hash) is skipped; an interrupted one
 * with a checkpoint is resumed; a failed run is reported and the grid goes on. Ctrl-C stops the
 * grid after the current run saved its checkpoint. Timings go to `<resultsDir>/grid-log.jsonl`
 * (never into the summary, which stays a pure function of the finished runs).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runExperiment } from '../experiment/run.ts';
import { UserError } from '../util/errors.ts';
import { locateRun } from './locate.ts';
import { loadGrid, runConfig, runSets, shardRuns, type Grid } from './spec.ts';
import { writeSummary, type SummaryResult } from './summary.ts';

export interface GridOptions {
  shard?: { i: number; n: number };
  /** only rebuild the summary from finished runs */
  summaryOnly?: boolean;
  /** extra `key=value` overrides for every run (after the grid's own) */
  sets?: string[];
  quiet?: boolean;
  say?: (s: string) => void;
}

export interface GridReport {
  grid: Grid;
  ran: { id: string; dir: string; seconds: number }[];
  skipped: string[];
  failed: { id: string; error: string }[];
  summary: SummaryResult;
}

export async function runGrid(file: string, o: GridOptions = {}): Promise<GridReport> {
  const g = loadGrid(file, o.sets ?? []);
  const say = o.say ?? ((s: string) => process.stderr.write(`grid: ${s}\n`));
  const mine = shardRuns(g.runs, o.shard);
  // validate every run's config before spending time on any
  const hashes = new Map(mine.map((r) => [r.id, runConfig(g, r).hash]));
  const report: GridReport = { grid: g, ran: [], skipped: [], failed: [], summary: undefined as unknown as SummaryResult };
  if (!o.summaryOnly) {
    mkdirSync(g.resultsDir, { recursive: true });
    const logFile = join(g.resultsDir, 'grid-log.jsonl');
    say(`${g.spec.name}: ${g.runs.length} runs${o.shard ? `, shard ${o.shard.i}/${o.shard.n}: ${mine.length} of them` : ''}; results in ${g.resultsDir}`);
    for (const [k, run] of mine.entries()) {
      const where = locateRun(g, run, hashes.get(run.id));
      if (where.state === 'finished') {
        report.skipped.push(run.id);
        say(`[${k + 1}/${mine.length}] ${run.id}: finished already (${where.dir}), skipped`);
        continue;
      }
      say(`[${k + 1}/${mine.length}] ${run.id}${where.state === 'resumable' ? ' (resuming)' : ''}`);
      const t0 = performance.now();
      try {
        const dir = await runExperiment(g.base, { sets: runSets(g, run), quiet: o.quiet, resume: where.state === 'resumable' ? where.dir : false });
        const seconds = (performance.now() - t0) / 1000;
        report.ran.push({ id: run.id, dir, seconds });
        appendFileSync(logFile, JSON.stringify({ run: run.id, state: 'finished', seconds: Number(seconds.toFixed(2)), dir, at: new Date().toISOString() }) + '\n');
      } catch (e) {
        if (e instanceof UserError && e.exitCode === 130) throw e; // Ctrl-C: stop the grid, the run kept its checkpoint
        const error = (e as Error).message.split('\n')[0]!;
        report.failed.push({ id: run.id, error });
        appendFileSync(logFile, JSON.stringify({ run: run.id, state: 'failed', error, at: new Date().toISOString() }) + '\n');
        say(`${run.id} FAILED: ${error}`);
      }
    }
  }
  report.summary = await writeSummary(g);
  return report;
}
