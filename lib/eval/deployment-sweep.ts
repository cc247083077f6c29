/**
 * The paper's deployment protocol swept over the threshold (issue 11): at every threshold where a
 * decision can change, the Table I numbers on the table's subjects (enrolled people and distinct
 * strangers, lib/eval/deployment.ts) and the false-accept rate of every group of unknown subjects
 * (lib/eval/lookalike.ts: d1, d2, …, stranger). Plotting FNR against FPR gives the deployment DET
 * (in ISO/IEC 19795-1 names, FPIR against FNIR: the paper's names are swapped, see deployment.ts);
 * the paper reports one point of it, at 0.8.
 *
 * Exact, not on a grid. A score s is accepted when s ≥ T, so every decision is constant for T in
 * (c_i, c_{i+1}] between consecutive candidate values c: the frames' confidences ('majority') and
 * the subjects' mean top probabilities ('mean-prob'), plus +∞ (nobody accepted). Evaluating at each
 * candidate is therefore every distinct outcome; runs of identical points are kept once, at the
 * highest threshold of the run, so a point's numbers hold for every T above the previous point's
 * threshold up to and including its own.
 */
import { decideSubject, paperRatesFromCounts, type Counts, type DeploymentFrame, type DeploymentOptions } from './deployment.ts';
import { groupOrder } from './lookalike.ts';

/** A deployment frame; `group` (lib/eval/lookalike.ts `unknownGroup`) for unknown subjects. */
export interface GroupedFrame extends DeploymentFrame { group?: string }

export interface DeploymentSweep {
  /** ascending; each point holds for T in (previous threshold, this one]; the last is +Infinity (nobody accepted) */
  thresholds: number[];
  /** Table I's numbers on the table's subjects (enrolled + strangers) at each threshold */
  accuracy: number[];
  fpr: number[];
  fnr: number[];
  /** unknown subjects accepted / unknown subjects, per group, at each threshold */
  far: Record<string, number[]>;
  subjects: { enrolled: number; unknown: Record<string, number> };
}

/** Enrolled people and strangers make the paper's table; lookalikes are reported beside it. */
export const inPaperTable = (f: Pick<GroupedFrame, 'known' | 'group'>): boolean => f.known || (f.group ?? 'stranger') === 'stranger';

export function deploymentSweep(frames: readonly GroupedFrame[], opts: Omit<DeploymentOptions, 'threshold'> = {}): DeploymentSweep {
  const bySubject = new Map<string, GroupedFrame[]>();
  for (const f of frames) bySubject.set(f.subject, [...(bySubject.get(f.subject) ?? []), f]);
  const subjects = [...bySubject.values()];
  const groups = groupOrder(subjects.filter((fs) => !fs[0]!.known).map((fs) => fs[0]!.group ?? 'stranger'));
  const candidates = new Set<number>([Infinity]);
  for (const fs of subjects) {
    for (const f of fs) if (Number.isFinite(f.confidence)) candidates.add(f.confidence);
    if (opts.aggregation === 'mean-prob') candidates.add(decideSubject(fs, { ...opts, threshold: Infinity }).confidence);
  }
  const out: DeploymentSweep = {
    thresholds: [], accuracy: [], fpr: [], fnr: [], far: Object.fromEntries(groups.map((g) => [g, []])),
    subjects: {
      enrolled: subjects.filter((fs) => fs[0]!.known).length,
      unknown: Object.fromEntries(groups.map((g) => [g, subjects.filter((fs) => !fs[0]!.known && (fs[0]!.group ?? 'stranger') === g).length])),
    },
  };
  let last = '';
  for (const threshold of [...candidates].sort((a, b) => a - b)) {
    const counts: Counts = { tp: 0, fn: 0, fp: 0, tn: 0 };
    const accepted = new Map<string, number>();
    for (const fs of subjects) {
      const d = decideSubject(fs, { ...opts, threshold });
      if (inPaperTable(fs[0]!)) counts[d.cell]++;
      if (!fs[0]!.known && d.outcome === 'accepted') accepted.set(fs[0]!.group ?? 'stranger', (accepted.get(fs[0]!.group ?? 'stranger') ?? 0) + 1);
    }
    const r = paperRatesFromCounts(counts);
    const far = groups.map((g) => (accepted.get(g) ?? 0) / out.subjects.unknown[g]!);
    const key = JSON.stringify([r.accuracy, r.fpr, r.fnr, far]);
    if (key === last) { out.thresholds[out.thresholds.length - 1] = threshold; continue; }
    last = key;
    out.thresholds.push(threshold);
    out.accuracy.push(r.accuracy);
    out.fpr.push(r.fpr);
    out.fnr.push(r.fnr);
    groups.forEach((g, i) => out.far[g]!.push(far[i]!));
  }
  return out;
}
