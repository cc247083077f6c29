/**
 * Closed-set identification metrics (every probe's identity is enrolled): top-1 accuracy, the
 * confusion matrix, per-class recall/precision, rank of the true class, top-k accuracy.
 * Definitions follow ISO/IEC 19795-1 "rank-k identification rate" (see ANCHORS.md §7.2).
 * Pure functions: plain arrays in, plain objects out.
 */

export type Label = string | number;

/** Fraction of positions where `pred[i] === truth[i]`; NaN for empty input. */
export function accuracy(truth: ArrayLike<Label>, pred: ArrayLike<Label>): number {
  sameLength(truth, pred, 'accuracy');
  if (truth.length === 0) return NaN;
  let hit = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === pred[i]) hit++;
  return hit / truth.length;
}

export interface ConfusionMatrix {
  /** row and column names, in order: matrix[i][j] = #(truth = labels[i], prediction = labels[j]) */
  labels: string[];
  matrix: number[][];
}

/**
 * Rows are the truth, columns the prediction (scikit-learn's convention). `labels` fixes the order;
 * labels seen in the data but missing from `labels` are appended in sorted order rather than
 * dropped, so "unrecognized" or an unknown person's name always shows up as its own column/row.
 */
export function confusionMatrix(
  truth: ArrayLike<Label>,
  pred: ArrayLike<Label>,
  labels: readonly Label[] = [],
): ConfusionMatrix {
  sameLength(truth, pred, 'confusionMatrix');
  const names = labels.map(String);
  const seen = new Set(names);
  const extra = new Set<string>();
  for (let i = 0; i < truth.length; i++) {
    for (const l of [String(truth[i]), String(pred[i])]) if (!seen.has(l)) extra.add(l);
  }
  names.push(...[...extra].sort());
  const index = new Map(names.map((l, i) => [l, i] as const));
  const matrix = names.map(() => names.map(() => 0));
  for (let i = 0; i < truth.length; i++) {
    matrix[index.get(String(truth[i]))!]![index.get(String(pred[i]))!]!++;
  }
  return { labels: names, matrix };
}

export interface ClassReport {
  label: string;
  /** how many probes truly belong to the class (row sum) */
  support: number;
  /** how many probes were predicted as the class (column sum) */
  predicted: number;
  /** correct / support; NaN when support is 0 */
  recall: number;
  /** correct / predicted; NaN when nothing was predicted as this class */
  precision: number;
  /** harmonic mean of precision and recall; NaN when either is NaN or both are 0 */
  f1: number;
}

/** Per-class recall (= per-identity identification rate) and precision from a confusion matrix. */
export function perClassReport(cm: ConfusionMatrix): ClassReport[] {
  return cm.labels.map((label, i) => {
    const row = cm.matrix[i]!;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = cm.matrix.reduce((a, r) => a + r[i]!, 0);
    const correct = row[i]!;
    const recall = support ? correct / support : NaN;
    const precision = predicted ? correct / predicted : NaN;
    const f1 = recall + precision > 0 ? (2 * precision * recall) / (precision + recall) : NaN;
    return { label, support, predicted, recall, precision, f1 };
  });
}

/** Unweighted mean of per-class recall over classes with support (balanced accuracy). */
export function balancedAccuracy(cm: ConfusionMatrix): number {
  const r = perClassReport(cm).filter((c) => c.support > 0).map((c) => c.recall);
  return r.length ? r.reduce((a, b) => a + b, 0) / r.length : NaN;
}

/** Index of the largest score; the first one wins a tie, as numpy/torch argmax do. */
export function argmax(scores: ArrayLike<number>): number {
  let best = -1;
  let bestScore = -Infinity;
  for (let j = 0; j < scores.length; j++) {
    if (scores[j]! > bestScore || best < 0) { best = j; bestScore = scores[j]!; }
  }
  return best;
}

/**
 * 1-based rank of the true class in one row of scores. Ties are broken the way `argmax` breaks
 * them (lower index first), so rank 1 ⇔ argmax(scores) === truth, and the CMC's first point is
 * exactly top-1 accuracy.
 */
export function truthRank(scores: ArrayLike<number>, truth: number): number {
  if (!(truth >= 0 && truth < scores.length)) throw new RangeError(`truth index ${truth} outside 0..${scores.length - 1}`);
  const s = scores[truth]!;
  let rank = 1;
  for (let j = 0; j < scores.length; j++) {
    if (scores[j]! > s || (scores[j] === s && j < truth)) rank++;
  }
  return rank;
}

/** Fraction of probes (rows of `scores`) whose true class index is among the top k. */
export function topKAccuracy(scores: readonly ArrayLike<number>[], truth: ArrayLike<number>, k: number): number {
  sameLength(scores, truth, 'topKAccuracy');
  if (scores.length === 0) return NaN;
  let hit = 0;
  for (let i = 0; i < scores.length; i++) if (truthRank(scores[i]!, truth[i]!) <= k) hit++;
  return hit / scores.length;
}

export function sameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, fn: string): void {
  if (a.length !== b.length) throw new RangeError(`${fn}: lengths differ (${a.length} vs ${b.length})`);
}
