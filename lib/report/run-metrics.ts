/**
 * RunMetrics: the one type of `results/<run>/metrics.json`. lib/experiment/outputs.ts writes it
 * (the numbers come from lib/experiment/evaluate.ts); report/, grid/ and the notebooks read it
 * through lib/report/read-metrics.ts. `data-spec/run-metrics.schema.json` describes the same file
 * for other tools, and test/run-metrics.test.ts keeps the two equal (property names, which are
 * required, which may be null) and validates a real run's file against the schema.
 *
 * JSON has no NaN or ±Infinity: a number that is undefined for a run (0/0, e.g. FNR with no
 * unknown subject) or infinite (the "accept nothing" threshold) is written as null. The fields
 * where that can happen are `NumberOrNull`; every other number is always finite.
 *
 * Two accuracies that the paper's wording could confuse have names that cannot be:
 * - `train.trainSplitAccuracy`: top-1 accuracy on the 80 % the text tower was trained on;
 * - `tableI.heldOutAccuracy`: Table I's "Training Accuracy" column, which we read as top-1 accuracy
 *   on the held-out 20 % of the training data (MISSION.md); it equals `closedSet.accuracy`.
 */
import type { Aggregation, Counts, Outcome, SubjectDecision } from '../eval/deployment.ts';
import type { FalseAcceptMetrics, ThresholdMetrics } from './threshold-metrics.ts';

/** A number, or null where it is undefined for this run (0/0) or infinite. */
export type NumberOrNull = number | null;

/** A 95 % interval as stored (Wilson, or percentile bootstrap with its resample counts). */
export interface StoredInterval { estimate: NumberOrNull; lower: NumberOrNull; upper: NumberOrNull; level: number }
export interface StoredBootstrap extends StoredInterval {
  iterations: number;
  /** resamples whose statistic was undefined (e.g. no unknown subject drawn) */
  dropped: number;
}

/** Rows are the truth, columns the prediction, both in `labels` order. */
export interface StoredConfusion { labels: string[]; matrix: number[][] }

export interface PathReason { path: string; reason: string }

export interface DataCounts {
  /** the dataset folder */
  root: string;
  /** images per role in the split (after the dataset's own problems, before preprocessing) */
  train: number;
  test: number;
  unknownImages: number;
  deploymentFrames: number;
  /** images preprocessing could not use (no face, unreadable), with the reason */
  skipped: PathReason[];
  /** every dataset problem, warnings included */
  problems: number;
  /** dataset entries with errors, left out of the run (dataset.maxProblems) */
  leftOut: PathReason[];
}

export interface TrainMetrics {
  /** optimiser steps taken (0 for training-free arms) */
  steps: number;
  /** training.epochs of the config */
  epochs: number;
  /** one loss per step */
  losses: number[];
  firstLoss: number | null;
  finalLoss: number | null;
  /** top-1 accuracy on the training split itself (the 80 %), after training */
  trainSplitAccuracy: NumberOrNull;
}

/** `kind` is method.kind; the rest is method-specific (options used, labels, zero-shot baseline). */
export interface MethodMetrics {
  kind: string;
  /** how baselines and extra arms name themselves in tables */
  label?: string;
  /** the finetune arm: zero-shot accuracy on the test split before training */
  zeroShotTestAccuracy?: number;
  [key: string]: unknown;
}

/** Table I's four columns for this run (fractions); present when the run had a deployment session. */
export interface TableIMetrics {
  /** the paper's "Training Accuracy": top-1 on the held-out 20 % (= closedSet.accuracy) */
  heldOutAccuracy: NumberOrNull;
  deploymentAccuracy: NumberOrNull;
  fpr: NumberOrNull;
  fnr: NumberOrNull;
}

export interface ClassMetrics {
  label: string;
  support: number;
  predicted: number;
  recall: NumberOrNull;
  precision: NumberOrNull;
  f1: NumberOrNull;
}

/** The held-out split of enrolled people, top-1 without a threshold. */
export interface ClosedSetMetrics {
  images: number;
  accuracy: NumberOrNull;
  chance: number;
  wilson95: StoredInterval;
  bootstrap95: StoredBootstrap | null;
  /** rank-k identification rate, k = 1..classes */
  cmc: number[];
  confusion: StoredConfusion;
  perClass: ClassMetrics[];
}

/** SubjectDecision as stored; a mapped type, not an interface, so that its rows are plain records (htmlTable, showTable). */
export type StoredDecision = { [K in keyof SubjectDecision]: SubjectDecision[K] };

/** The paper's deployment protocol, one decision per subject, beside ISO/IEC 19795-1. */
export interface DeploymentMetrics {
  accounting: string;
  threshold: number;
  aggregation: Aggregation;
  enrolledRejected: 'fp' | 'tn';
  subjects: number;
  tp: number;
  fn: number;
  fp: number;
  tn: number;
  accuracy: NumberOrNull;
  /** FP / (FP + TN): enrolled subjects mishandled (paper accounting) */
  fpr: NumberOrNull;
  /** FN / (FN + TP): unknown subjects let in (paper accounting) */
  fnr: NumberOrNull;
  standard: {
    mated: number;
    nonMated: number;
    fpir: NumberOrNull;
    fnir: NumberOrNull;
    misidentificationRate: NumberOrNull;
    rejectionRate: NumberOrNull;
  };
  bootstrap95: { accuracy: StoredBootstrap } | null;
  decisions: StoredDecision[];
  identityConfusion: StoredConfusion;
}

export interface VerificationMetrics {
  pairs: { genuine: number; impostor: number };
  auc: number;
  eer: { eer: number; threshold: NumberOrNull };
  tarAtFar: { targetFar: number; threshold: NumberOrNull; far: NumberOrNull; tar: NumberOrNull }[];
}

/** Single-image open-set identification (enrolled test images mated, unknown people non-mated). */
export interface OpenSetMetrics {
  probes: { mated: number; nonMated: number };
  /** the operating points; threshold, fnir and fpir are absent when no threshold reaches the target */
  fnirAtFpir: { targetFpir: number; threshold?: NumberOrNull; fnir?: NumberOrNull; fpir?: number }[];
  det: { thresholds: NumberOrNull[]; fpir: NumberOrNull[]; fnir: NumberOrNull[] };
  /** image-to-prompt verification; null when there are no genuine or no impostor pairs */
  verification: VerificationMetrics | null;
}

export interface RunMetrics {
  /** the stand-in weights' stamp (random init, teaching CLIP); absent for real weights */
  stamp?: string;
  /** config.name */
  experiment: string;
  configHash: string;
  /** what produced the scores */
  model: string;
  /** the enrolled identities in class order, with the prompt each class used (null: no prompts) */
  classes: { id: string; name: string; prompt: string | null }[];
  data: DataCounts;
  train: TrainMetrics;
  method: MethodMetrics;
  tableI: TableIMetrics | null;
  closedSet: ClosedSetMetrics;
  deployment: DeploymentMetrics | null;
  openSet: OpenSetMetrics;
  /** false accepts by lookalike distance (lib/report/threshold-metrics.ts); null without unknown people; absent in files written before issue 11 */
  falseAccepts?: FalseAcceptMetrics | null;
  /** the operating points (0.8, an enrolment-only threshold) and the deployment sweep; absent in files written before issue 11 */
  thresholds?: ThresholdMetrics;
}
