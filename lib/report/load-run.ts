/**
 * Reads a results folder (as lib/experiment/outputs.ts writes it) into plain objects for the
 * report. Every part is optional: a missing or unreadable file becomes a note in `missing`, never
 * an exception, so a half-finished run still gets a report saying what is absent.
 *
 *   metrics.json      a RunMetrics (lib/report/run-metrics.ts), checked against its schema
 *   config.json       the resolved ExperimentConfig
 *   train-log.csv     step,epoch,lr,loss,batch_accuracy,ms
 *   predictions.csv   kind,path,subject,known,truth,prediction,confidence,accepted
 *   features.json     optional {labels: string[], dim, features: number[]} (image embeddings) or
 *                     {labels, matrix} (cosines), for the similarity heatmap
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv, parsePredictionsCsv, type PredictionRow } from '../eval/predictions.ts';
import type { TrainStep } from '../figures/training.ts';
import { readRunMetrics } from './read-metrics.ts';
import type { RunMetrics } from './run-metrics.ts';

type Obj = Record<string, unknown>;

export interface LoadedRun {
  dir: string;
  metrics: RunMetrics | null;
  config: Obj | null;
  trainLog: (TrainStep & { epoch?: number; ms?: number })[] | null;
  predictions: PredictionRow[] | null;
  similarity: { labels: string[]; features?: number[]; dim?: number; matrix?: number[][] } | null;
  /** one human-readable line per absent or unreadable part */
  missing: string[];
}

function readJson(path: string, missing: string[]): unknown {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    missing.push(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    return null;
  }
}

/** train-log.csv by header name (case-insensitive); rows without a numeric step or loss are skipped. */
export function parseTrainLog(text: string): (TrainStep & { epoch?: number; ms?: number })[] {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  const header = (rows.shift()?.cells ?? []).map((h) => h.trim().toLowerCase());
  const col = (...names: string[]) => header.findIndex((h) => names.includes(h));
  const c = { step: col('step'), epoch: col('epoch'), lr: col('lr', 'learning_rate'), loss: col('loss'), acc: col('batch_accuracy', 'batchaccuracy', 'accuracy'), ms: col('ms') };
  const num = (cells: string[], i: number) => (i >= 0 && cells[i] !== undefined && cells[i]!.trim() !== '' ? Number(cells[i]) : NaN);
  return rows.map(({ cells }) => ({
    step: num(cells, c.step), epoch: num(cells, c.epoch), lr: num(cells, c.lr), loss: num(cells, c.loss),
    batchAccuracy: num(cells, c.acc), ms: num(cells, c.ms),
  })).filter((r) => Number.isFinite(r.step) && Number.isFinite(r.loss));
}

export function loadRun(dir: string): LoadedRun {
  const missing: string[] = [];
  const { metrics, problem } = readRunMetrics(dir);
  if (problem) missing.push(problem);
  const config = readJson(join(dir, 'config.json'), missing) as Obj | null;
  if (!config) missing.push('config.json: not found');

  let trainLog: LoadedRun['trainLog'] = null;
  const logPath = join(dir, 'train-log.csv');
  if (existsSync(logPath)) trainLog = parseTrainLog(readFileSync(logPath, 'utf8'));
  else if (metrics?.train?.losses?.length) {
    trainLog = metrics.train.losses.map((loss, i) => ({ step: i + 1, loss, lr: NaN, batchAccuracy: NaN }));
    missing.push('train-log.csv: not found; the training curve uses metrics.train.losses (no learning rate, no batch accuracy)');
  } else missing.push('train-log.csv: not found (no training curve)');

  let predictions: PredictionRow[] | null = null;
  const predPath = join(dir, 'predictions.csv');
  if (existsSync(predPath)) {
    try {
      predictions = parsePredictionsCsv(readFileSync(predPath, 'utf8'), predPath);
    } catch (e) {
      missing.push(`predictions.csv: ${(e as Error).message}`);
    }
  } else missing.push('predictions.csv: not found');

  let similarity: LoadedRun['similarity'] = null;
  const featPath = ['features.json', 'similarity.json'].map((f) => join(dir, f)).find(existsSync);
  if (featPath) {
    const f = readJson(featPath, missing) as LoadedRun['similarity'];
    const ok = f && Array.isArray(f.labels) && ((Array.isArray(f.features) && typeof f.dim === 'number') || Array.isArray(f.matrix));
    if (ok) similarity = f;
    else if (f) missing.push(`${featPath}: expected {labels, dim, features} or {labels, matrix}`);
  } else missing.push('features.json: not found (no similarity heatmap)');

  return { dir, metrics, config, trainLog, predictions, similarity, missing };
}
