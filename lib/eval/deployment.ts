/**
 * The paper's deployment test (arXiv 2411.12319 §IV-B): 10 enrolled people and 2 people not in the
 * data each stand before the camera for 5 s; a prediction with confidence < 0.8 is "unrecognized";
 * the paper reports accuracy, FPR and FNR with the formulas elided.
 *
 * Paper accounting (the only one that reproduces every row of Table I, see MISSION.md "Reading
 * the counts"): accuracy has denominator 12, FPR denominator 10 and FNR denominator 2, so with the
 * usual FPR = FP/(FP+TN) and FNR = FN/(FN+TP) the 10 ENROLLED subjects are the NEGATIVES and the 2
 * UNKNOWN subjects the POSITIVES. Each subject's outcome is then right or wrong:
 *   unknown  rejected (below threshold)          → TP      unknown accepted as anyone → FN
 *   enrolled identified as themselves (≥ T)      → TN      enrolled misidentified     → FP
 *   enrolled rejected                            → FP by default ('fp'); 'tn' is the lenient reading
 * so accuracy = subjects handled correctly / all, FPR = error rate on enrolled people, FNR = the
 * rate at which unknown people get in. The default counts a rejected enrolled person as an error:
 * with 'tn', a system that rejects everyone would score 100 % accuracy, 0 % FPR and 0 % FNR.
 * The paper's sentence "unrecognized ... classified as either false negatives or true negatives"
 * cannot hold together with these denominators (an unknown rejected must be a TP), so Table I wins.
 *
 * Standard accounting, side by side (ISO/IEC 19795-1 open-set identification, NIST FRTE 1:N):
 *   FPIR = unknown probes returning any candidate ≥ T / unknown probes   (= the paper's FNR)
 *   FNIR = enrolled probes whose mate is not the rank-1 candidate ≥ T / enrolled probes
 *          (= the paper's FPR with the default 'fp'; misidentifications included, as NIST does)
 * Note the paper's "FPR"/"FNR" names are thus swapped relative to FPIR/FNIR.
 */
import { UserError } from '../util/errors.ts';
import { confusionMatrix, type ConfusionMatrix } from './closed-set.ts';

/** The decision label for "no identity claimed". */
export const UNRECOGNIZED = 'unrecognized';
/** The paper's confidence cut-off: "a confidence value lower than 80% is unrecognized". */
export const PAPER_THRESHOLD = 0.8;

export interface Counts { tp: number; fn: number; fp: number; tn: number }

export interface PaperRates {
  /** (TP + TN) / all, a fraction (multiply by 100 for the paper's %); NaN when there is nothing */
  accuracy: number;
  /** FP / (FP + TN): the error rate on enrolled subjects */
  fpr: number;
  /** FN / (FN + TP): the rate at which unknown subjects are accepted */
  fnr: number;
}

/** Table I's three numbers from counts (equations (2)–(4) of the paper, as fractions). */
export function paperRatesFromCounts({ tp, fn, fp, tn }: Counts): PaperRates {
  for (const [k, v] of Object.entries({ tp, fn, fp, tn })) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`paperRatesFromCounts: ${k} must be a non-negative integer, got ${v}`);
  }
  const div = (a: number, b: number) => (b > 0 ? a / b : NaN);
  return { accuracy: div(tp + tn, tp + tn + fp + fn), fpr: div(fp, fp + tn), fnr: div(fn, fn + tp) };
}

/** One camera frame (or one already-aggregated prediction) for a deployment subject. */
export interface DeploymentFrame {
  subject: string;
  /** true when the subject is enrolled (in the training data) */
  known: boolean;
  /** the enrolled identity; null for unknown subjects */
  trueIdentity: string | null;
  /** the classifier's top identity; null or "unrecognized" when no face / no claim */
  predicted: string | null;
  /** the top identity's confidence (softmax probability or similarity), 0..1 */
  confidence: number;
  /** optional full score vector (identity → probability), used by the 'mean-prob' aggregation */
  scores?: Readonly<Record<string, number>>;
}

/**
 * How a subject's frames become one decision:
 * - 'majority': threshold every frame, then the most frequent frame decision wins. Ties go to
 *   "unrecognized" (a system that cannot make up its mind claims nobody), then to the identity
 *   with the larger summed confidence, then to name order, so the result is deterministic.
 * - 'mean-prob': average the frames' score vectors (frames without `scores` contribute
 *   {predicted: confidence}), take the top identity, and threshold its mean probability once.
 */
export type Aggregation = 'majority' | 'mean-prob';

export interface DeploymentOptions {
  /** confidence < threshold → unrecognized; default 0.8 (the paper) */
  threshold?: number;
  aggregation?: Aggregation;
  /** where an enrolled subject who is rejected is counted; default 'fp' (see the file header) */
  enrolledRejected?: 'fp' | 'tn';
}

export type Outcome = 'identified' | 'misidentified' | 'rejected' | 'accepted';

export interface SubjectDecision {
  subject: string;
  known: boolean;
  trueIdentity: string | null;
  /** the claimed identity, or "unrecognized" */
  decision: string;
  /** the aggregated confidence behind the decision */
  confidence: number;
  frames: number;
  /** identified/misidentified/rejected for enrolled subjects; rejected/accepted for unknown ones */
  outcome: Outcome;
  /** the paper's cell for this subject */
  cell: keyof Counts;
}

/** Decide one subject from its frames. */
export function decideSubject(frames: readonly DeploymentFrame[], opts: DeploymentOptions = {}): SubjectDecision {
  const threshold = opts.threshold ?? PAPER_THRESHOLD;
  const first = frames[0];
  if (!first) throw new RangeError('decideSubject: no frames');
  for (const f of frames) {
    if (f.known !== first.known || f.trueIdentity !== first.trueIdentity) {
      throw new UserError(`subject "${first.subject}": frames disagree on known/truth; give every row of one subject the same values`);
    }
  }
  if (first.known && !first.trueIdentity) {
    throw new UserError(`subject "${first.subject}" is marked known but has no true identity; fill its truth column`);
  }
  const { decision, confidence } = (opts.aggregation ?? 'majority') === 'majority'
    ? majority(frames, threshold)
    : meanProb(frames, threshold);
  const outcome: Outcome = first.known
    ? decision === UNRECOGNIZED ? 'rejected' : decision === first.trueIdentity ? 'identified' : 'misidentified'
    : decision === UNRECOGNIZED ? 'rejected' : 'accepted';
  return {
    subject: first.subject, known: first.known, trueIdentity: first.trueIdentity,
    decision, confidence, frames: frames.length, outcome, cell: paperCell(first.known, outcome, opts.enrolledRejected ?? 'fp'),
  };
}

/** The paper's cell for a subject's outcome (see the file header). */
export function paperCell(known: boolean, outcome: Outcome, enrolledRejected: 'fp' | 'tn' = 'fp'): keyof Counts {
  if (!known) return outcome === 'rejected' ? 'tp' : 'fn';
  if (outcome === 'identified') return 'tn';
  if (outcome === 'rejected') return enrolledRejected;
  return 'fp';
}

function frameDecision(f: DeploymentFrame, threshold: number): string {
  return !f.predicted || f.predicted === UNRECOGNIZED || !(f.confidence >= threshold) ? UNRECOGNIZED : f.predicted;
}

function majority(frames: readonly DeploymentFrame[], threshold: number) {
  const votes = new Map<string, { n: number; conf: number }>();
  for (const f of frames) {
    const d = frameDecision(f, threshold);
    const v = votes.get(d) ?? { n: 0, conf: 0 };
    v.n++;
    v.conf += Number.isFinite(f.confidence) ? f.confidence : 0;
    votes.set(d, v);
  }
  const ranked = [...votes].sort(([a, va], [b, vb]) =>
    vb.n - va.n
    || Number(b === UNRECOGNIZED) - Number(a === UNRECOGNIZED)
    || vb.conf - va.conf
    || (a < b ? -1 : a > b ? 1 : 0));
  const [decision, v] = ranked[0]!;
  return { decision, confidence: v.conf / v.n };
}

function meanProb(frames: readonly DeploymentFrame[], threshold: number) {
  const sum = new Map<string, number>();
  for (const f of frames) {
    const s = f.scores ?? (f.predicted && f.predicted !== UNRECOGNIZED ? { [f.predicted]: f.confidence } : {});
    for (const [id, p] of Object.entries(s)) sum.set(id, (sum.get(id) ?? 0) + p);
  }
  let best: string | null = null;
  let bestP = -Infinity;
  for (const [id, p] of [...sum].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (p > bestP) { best = id; bestP = p; }
  }
  const confidence = best === null ? 0 : bestP / frames.length;
  return { decision: best !== null && confidence >= threshold ? best : UNRECOGNIZED, confidence };
}

export interface StandardOpenSet {
  /** enrolled (mated) probes */
  mated: number;
  /** unknown (non-mated) probes */
  nonMated: number;
  /** ISO/IEC 19795-1 FPIR(N, T): non-mated probes returning a candidate ≥ T / non-mated */
  fpir: number;
  /** ISO/IEC 19795-1 FNIR(N, R=1, T): mated probes whose mate is not the rank-1 candidate ≥ T / mated */
  fnir: number;
  /** mated probes returned as a WRONG identity ≥ T / mated (part of FNIR; reported apart, ANCHORS §7.3) */
  misidentificationRate: number;
  /** mated probes rejected (below T) / mated (the other part of FNIR) */
  rejectionRate: number;
}

export interface DeploymentReport {
  threshold: number;
  aggregation: Aggregation;
  enrolledRejected: 'fp' | 'tn';
  decisions: SubjectDecision[];
  counts: Counts;
  paper: PaperRates;
  standard: StandardOpenSet;
  /** the counts as a 2×2 confusion matrix, [[TP, FN], [FP, TN]] (see `paperConfusion`) */
  paperConfusion: ConfusionMatrix;
  /** truth identity (or "unknown") × decision (identity or "unrecognized") */
  identityConfusion: ConfusionMatrix;
}

/** Group frames by subject (first-seen order), decide each subject, and count. */
export function deploymentReport(frames: readonly DeploymentFrame[], opts: DeploymentOptions = {}): DeploymentReport {
  const bySubject = new Map<string, DeploymentFrame[]>();
  for (const f of frames) {
    const list = bySubject.get(f.subject) ?? [];
    list.push(f);
    bySubject.set(f.subject, list);
  }
  const decisions = [...bySubject.values()].map((fs) => decideSubject(fs, opts));
  const counts: Counts = { tp: 0, fn: 0, fp: 0, tn: 0 };
  for (const d of decisions) counts[d.cell]++;
  return {
    threshold: opts.threshold ?? PAPER_THRESHOLD,
    aggregation: opts.aggregation ?? 'majority',
    enrolledRejected: opts.enrolledRejected ?? 'fp',
    decisions,
    counts,
    paper: paperRatesFromCounts(counts),
    standard: standardOpenSet(decisions),
    paperConfusion: paperConfusion(counts),
    identityConfusion: confusionMatrix(
      decisions.map((d) => d.trueIdentity ?? 'unknown'),
      decisions.map((d) => d.decision),
    ),
  };
}

/** FPIR/FNIR (ISO/IEC 19795-1) at the report's single threshold, from per-subject outcomes. */
export function standardOpenSet(decisions: readonly Pick<SubjectDecision, 'known' | 'outcome'>[]): StandardOpenSet {
  const mated = decisions.filter((d) => d.known);
  const nonMated = decisions.filter((d) => !d.known);
  const rate = (xs: typeof decisions, o: Outcome[]) => (xs.length ? xs.filter((d) => o.includes(d.outcome)).length / xs.length : NaN);
  return {
    mated: mated.length,
    nonMated: nonMated.length,
    fpir: rate(nonMated, ['accepted']),
    fnir: rate(mated, ['misidentified', 'rejected']),
    misidentificationRate: rate(mated, ['misidentified']),
    rejectionRate: rate(mated, ['rejected']),
  };
}

/**
 * The paper's counts as a binary confusion matrix over labels [unknown, enrolled] (positive class
 * first): rows = who the subject is; columns = how the system treated them, where "unknown" means
 * it did not name them correctly (rejected, or an enrolled person named as someone else) and
 * "enrolled" means it named an enrolled identity that was right for them (or, for an unknown
 * person, named anyone). Cells: [[TP, FN], [FP, TN]].
 */
export function paperConfusion({ tp, fn, fp, tn }: Counts): ConfusionMatrix {
  return { labels: ['unknown', 'enrolled'], matrix: [[tp, fn], [fp, tn]] };
}

/** The column of `paperConfusion` a subject falls in (for building that matrix from decisions). */
export function paperTreatedAs(d: Pick<SubjectDecision, 'cell'>): 'unknown' | 'enrolled' {
  return d.cell === 'tp' || d.cell === 'fp' ? 'unknown' : 'enrolled';
}
