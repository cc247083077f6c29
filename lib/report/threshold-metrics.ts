/**
 * The parts of metrics.json for issue 11, as stored (written by lib/experiment/evaluate-thresholds.ts,
 * part of RunMetrics, described in data-spec/run-metrics.schema.json): false accepts of unknown
 * people by lookalike distance, and the operating points and threshold sweep of the deployment test.
 * Numbers that can be undefined (0/0) or infinite (the "accept nothing" threshold) are null in JSON.
 */
import type { Outcome } from '../eval/deployment.ts';

type Num = number | null;

/** False accepts of one group of unknown people at one threshold (lib/eval/lookalike.ts). */
export interface StoredGroupRate {
  /** d1, d2, … (lookalikes by identity parts changed), lookalike (no distance given), stranger */
  group: string;
  /** people (or images) in the group */
  n: number;
  accepted: number;
  /** accepted / n */
  rate: Num;
  wilson95: { estimate: Num; lower: Num; upper: Num; level: number };
  /** accepted as the very person they look like */
  asTwin: number;
}

export interface FalseAcceptPoint {
  /** paper | enrolment | configured (see ThresholdMetrics.points) */
  name: string;
  threshold: Num;
  /** one decision per deployment subject (the paper's protocol) */
  subjects: StoredGroupRate[];
  /** every photo and deployment frame of an unknown person, top-1 confidence ≥ threshold */
  images: StoredGroupRate[];
}

/** A type, not an interface, so that rows of it are plain records (htmlTable). */
export type LookalikeDecision = {
  subject: string;
  group: string;
  lookalikeOf: string | null;
  decision: string;
  confidence: number;
  outcome: Outcome;
};

export interface FalseAcceptMetrics {
  /** in reading order: d1, d2, …, lookalike, stranger */
  groups: string[];
  points: FalseAcceptPoint[];
  /** each lookalike subject's decision at the paper's 0.8: who they were taken for */
  lookalikeDecisions: LookalikeDecision[];
}

export interface OperatingPoint {
  /** paper (0.8) | enrolment (chosen on held-out enrolled photos) | configured (evaluation.threshold, when not 0.8) */
  name: string;
  threshold: Num;
  /** correctly named held-out enrolled photos at or above the threshold / held-out photos */
  heldOutAcceptance: Num;
  /** Table I's counts and rates on the enrolled people and the strangers (lookalikes left out) */
  deployment: { tp: number; fn: number; fp: number; tn: number; accuracy: Num; fpr: Num; fnr: Num } | null;
}

export interface ThresholdMetrics {
  /** the enrolment threshold's rule, in words */
  enrolmentRule: string;
  enrolment: { threshold: Num; rejection: number; heldOutPhotos: number; correct: number };
  points: OperatingPoint[];
  /** Table I's numbers and FAR per group at every threshold where one changes (lib/eval/deployment-sweep.ts); null without a deployment session */
  sweep: {
    /** ascending; each point holds for T in (previous, own]; the last (null) accepts nobody */
    thresholds: Num[];
    accuracy: Num[];
    fpr: Num[];
    fnr: Num[];
    far: Record<string, Num[]>;
    subjects: { enrolled: number; unknown: Record<string, number> };
  } | null;
}
