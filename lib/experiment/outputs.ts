/**
 * A finished run's files, written from numbers already computed (lib/experiment/evaluate.ts):
 * metrics.json (a RunMetrics, lib/report/run-metrics.ts: numbers only, nothing time-dependent, so
 * the same config and seed give the same file), predictions.csv, train-log.csv, features.json,
 * report.md and report.html. Nothing here evaluates.
 */
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.ts';
import { toCsv } from '../util/csv.ts';
import { writeReportHtml } from '../report/report-html.ts';
import type { RunMetrics } from '../report/run-metrics.ts';
import type { MethodResult, RunContext } from '../methods/types.ts';
import { writeTrainLog } from '../services/train-log.ts';
import { configHash } from './config.ts';
import type { Score } from './evaluate.ts';
import { writeReportMd } from './report-md.ts';

export interface RunOutcome {
  /** method.kind */
  method: string;
  result: MethodResult;
  score: Score;
  /** manifest path → why preprocessing skipped it */
  skipped: Map<string, string>;
}

/** metrics.json's content: the run's facts beside the score. */
export function runMetrics(ctx: RunContext, { method, result: r, score, skipped }: RunOutcome): RunMetrics {
  const { cfg, classes } = ctx;
  const count = (k: string) => ctx.images.filter((i) => i.kind === k).length;
  return {
    ...(r.stamp ? { stamp: r.stamp } : {}),
    experiment: cfg.name, configHash: configHash(cfg), model: r.description,
    classes: classes.map((c, i) => ({ id: c.id, name: c.name, prompt: r.prompts === null ? null : r.prompts?.[i] ?? cfg.prompt.template.replaceAll('{name}', c.name) })),
    data: {
      root: ctx.ds.root, train: count('train'), test: count('test'), unknownImages: count('probe'), deploymentFrames: count('deployment'),
      skipped: [...skipped].map(([path, reason]) => ({ path, reason })), problems: ctx.ds.problems.length,
      leftOut: ctx.ds.problems.filter((p) => p.severity === 'error').map(({ path, reason }) => ({ path, reason })),
    },
    train: {
      steps: r.log.length, epochs: cfg.training.epochs, losses: r.log.map((l) => l.loss),
      firstLoss: r.log[0]?.loss ?? null, finalLoss: r.log[r.log.length - 1]?.loss ?? null,
      trainSplitAccuracy: score.trainSplitAccuracy,
    },
    method: { kind: method, ...r.extra },
    tableI: score.tableI,
    closedSet: score.closedSet,
    deployment: score.deployment,
    openSet: score.openSet,
    falseAccepts: score.falseAccepts,
    thresholds: score.thresholds,
  };
}

/** Writes every output file of the run; returns what metrics.json holds. */
export function writeRunOutputs(ctx: RunContext, outcome: RunOutcome): RunMetrics {
  const { cfg, dir } = ctx;
  const { result: r, score } = outcome;
  const metrics = runMetrics(ctx, outcome);
  writeJsonAtomic(join(dir, 'metrics.json'), metrics);
  writeFileAtomic(join(dir, 'predictions.csv'), toCsv(['kind', 'path', 'subject', 'known', 'truth', 'prediction', 'confidence', 'accepted'],
    score.rows.map((x) => [x.kind, x.path, x.subject, x.known, x.truth, x.prediction, x.confidence, x.accepted])));
  writeTrainLog(dir, r.log);
  if (r.features) {
    // image embeddings of the held-out split, for the similarity heatmaps (paper §VI-B)
    const { dim, data } = r.features;
    const rows = r.scored.map((u, i) => (u.kind === 'test' ? i : -1)).filter((i) => i >= 0);
    writeJsonAtomic(join(dir, 'features.json'), {
      labels: rows.map((i) => r.scored[i]!.entry.identity), paths: rows.map((i) => r.scored[i]!.entry.path), dim,
      features: rows.flatMap((i) => Array.from(data.subarray(i * dim, (i + 1) * dim), (x) => Math.round(x * 1e6) / 1e6)),
    });
  }
  writeReportMd(dir, cfg, metrics);
  writeReportHtml(dir, { standaloneFigures: false });
  return metrics;
}
