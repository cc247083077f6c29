/**
 * train-log.csv: one row per optimiser step. Written by the finetune arm at every checkpoint (so
 * an interrupted run keeps its curve) and once more when the run's outputs are written;
 * lib/report/load-run.ts `parseTrainLog` reads it back by header name.
 */
import { join } from 'node:path';
import type { StepLog } from '../train/finetune.ts';
import { toCsv } from '../util/csv.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';

export function writeTrainLog(dir: string, log: readonly StepLog[]): void {
  writeFileAtomic(join(dir, 'train-log.csv'), toCsv(['step', 'epoch', 'lr', 'loss', 'batch_accuracy', 'ms'], log.map((l) => [l.step, l.epoch, l.lr, l.loss, l.batchAccuracy, Math.round(l.ms)])));
}
