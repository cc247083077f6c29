/**
 * A finished run's files: metrics.json (numbers only, nothing time-dependent, so the same config
 * and seed give the same file), predictions.csv, train-log.csv, features.json, report.md and
 * report.html.
 */
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.ts';
import { writeReportHtml } from '../report/report-html.ts';
import type { MethodResult, RunContext } from '../methods/types.ts';
import { writeTrainLog } from '../services/train-log.ts';
import { configHash } from './config.ts';
import { toCsv } from '../util/csv.ts';
import { evaluate, splitAccuracy, type ScoredImage } from './evaluate.ts';
import { writeReportMd } from './report-md.ts';

export function writeOutputs(ctx: RunContext, method: string, r: MethodResult, skipped: Map<string, string>) {
  const { cfg, dir, classes } = ctx;
  const classIndex = new Map(classes.map((c, i) => [c.id, i]));
  const all: ScoredImage[] = r.scored.map((u, i) => ({
    path: u.entry.path, kind: u.kind, subject: u.entry.identity, known: classIndex.has(u.entry.identity),
    truth: classIndex.get(u.entry.identity) ?? -1, probs: r.probs[i]!, cosines: r.cosines[i]!,
  }));
  const ev = evaluate(all, {
    classes: classes.map((c) => c.id), threshold: cfg.evaluation.threshold, aggregation: cfg.evaluation.aggregation,
    enrolledRejected: cfg.evaluation.enrolledRejected, bootstrap: cfg.evaluation.bootstrap, seed: cfg.seed,
  });
  const count = (k: string) => ctx.images.filter((i) => i.kind === k).length;
  const metrics = {
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
      accuracy: splitAccuracy(all.filter((a) => a.kind === 'train')),
    },
    method: { kind: method, ...r.extra },
    // Table I's "training accuracy": we read it as the accuracy on the 20 % held-out split of the
    // training data (the only closed-set number the paper reports); train.accuracy is the 80 % itself
    tableI: ev.deployment ? { trainingAccuracy: ev.closedSet.accuracy, deploymentAccuracy: ev.deployment.accuracy, fpr: ev.deployment.fpr, fnr: ev.deployment.fnr } : null,
    closedSet: ev.closedSet,
    deployment: ev.deployment,
    openSet: ev.openSet,
  };
  writeJsonAtomic(join(dir, 'metrics.json'), metrics);
  writeFileAtomic(join(dir, 'predictions.csv'), toCsv(['kind', 'path', 'subject', 'known', 'truth', 'prediction', 'confidence', 'accepted'],
    ev.rows.map((x) => [x.kind, x.path, x.subject, x.known, x.truth, x.prediction, x.confidence, x.accepted])));
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
