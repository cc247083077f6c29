/**
 * The parts of metrics.json that answer issue 11's question, from the same scores as the rest of
 * lib/experiment/evaluate.ts (every arm gives a probability row per image; its top entry is the
 * confidence the deployment decision thresholds, so every arm is measured the same way):
 * - `falseAccepts`: unknown people accepted as someone enrolled, by lookalike distance (d1, d2, …)
 *   and for distinct strangers (lib/eval/lookalike.ts), per deployment subject (the paper's
 *   protocol) and per image (their photos and frames), at each operating point;
 * - `thresholds`: the operating points (the paper's 0.8; one chosen on enrolment data only,
 *   lib/eval/enrolment-threshold.ts; the configured one when it differs) with Table I's numbers on
 *   the table's subjects, and the exact sweep of those numbers (lib/eval/deployment-sweep.ts).
 * Lookalike subjects never enter the paper's table: it is computed on the enrolled people and the
 * strangers exactly as before, and the lookalikes are reported beside it.
 */
import { argmax } from '../eval/closed-set.ts';
import { deploymentSweep, inPaperTable, type GroupedFrame } from '../eval/deployment-sweep.ts';
import { decideSubject, deploymentReport, PAPER_THRESHOLD, type Aggregation, type Counts } from '../eval/deployment.ts';
import { ENROLMENT_REJECTION, ENROLMENT_RULE, enrolmentThreshold, heldOutAcceptance, type HeldOutPhoto } from '../eval/enrolment-threshold.ts';
import { falseAcceptsByGroup, groupOrder, unknownGroup, type GroupRate, type UnknownOutcome } from '../eval/lookalike.ts';
import type { FalseAcceptMetrics, FalseAcceptPoint, OperatingPoint, StoredGroupRate, ThresholdMetrics } from '../report/threshold-metrics.ts';
import type { ScoredImage } from './evaluate.ts';

/** Unknown subject → its group and the enrolled person it looks like (`unknownGroupsOf`). */
export type UnknownGroups = Readonly<Record<string, { group: string; lookalikeOf?: string }>>;

export interface ThresholdEvalOptions {
  classes: string[];
  /** evaluation.threshold of the config */
  threshold: number;
  aggregation: Aggregation;
  enrolledRejected: 'fp' | 'tn';
  unknownGroups: UnknownGroups;
}

/** The unknown people of a manifest by group (lib/eval/lookalike.ts `unknownGroup`). */
export function unknownGroupsOf(identities: readonly { id: string; role: string; lookalikeOf?: string; lookalikeDistance?: number }[]): Record<string, { group: string; lookalikeOf?: string }> {
  return Object.fromEntries(identities.filter((i) => i.role !== 'known').map((i) => [i.id, {
    group: unknownGroup(i), ...(i.lookalikeOf !== undefined ? { lookalikeOf: i.lookalikeOf } : {}),
  }]));
}

/** True for an image of a lookalike: it stays out of the paper's table and the existing open-set numbers. */
export const isLookalikeImage = (im: Pick<ScoredImage, 'known' | 'subject'>, groups: UnknownGroups): boolean =>
  !im.known && (groups[im.subject]?.group ?? 'stranger') !== 'stranger';

const num = (x: number, d = 6): number | null => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

export function evaluateThresholds(images: readonly ScoredImage[], o: ThresholdEvalOptions): { falseAccepts: FalseAcceptMetrics | null; thresholds: ThresholdMetrics } {
  const top = images.map((im) => { const k = argmax(im.probs); return { k, p: im.probs[k]! }; });
  const name = (k: number) => o.classes[k]!;
  const group = (subject: string) => o.unknownGroups[subject]?.group ?? 'stranger';
  const lookalikeOf = (subject: string) => o.unknownGroups[subject]?.lookalikeOf;

  const heldOut: HeldOutPhoto[] = images.flatMap((im, i) => (im.kind === 'test' ? [{ correct: top[i]!.k === im.truth, confidence: top[i]!.p }] : []));
  const enrol = enrolmentThreshold(heldOut);
  const named: [string, number][] = [['paper', PAPER_THRESHOLD], ['enrolment', enrol.threshold]];
  if (o.threshold !== PAPER_THRESHOLD) named.push(['configured', o.threshold]);

  const frames: GroupedFrame[] = images.flatMap((im, i) => (im.kind !== 'deployment' ? [] : [{
    subject: im.subject, known: im.known, trueIdentity: im.known ? name(im.truth) : null,
    predicted: name(top[i]!.k), confidence: top[i]!.p,
    scores: Object.fromEntries(im.probs.map((p, c) => [o.classes[c]!, p])),
    ...(im.known ? {} : { group: group(im.subject) }),
  }]));
  const decide = { aggregation: o.aggregation, enrolledRejected: o.enrolledRejected };
  const bySubject = new Map<string, GroupedFrame[]>();
  for (const f of frames) bySubject.set(f.subject, [...(bySubject.get(f.subject) ?? []), f]);
  const unknownImages = images.map((im, i) => ({ im, i })).filter(({ im }) => !im.known);

  const points: OperatingPoint[] = [];
  const farPoints: FalseAcceptPoint[] = [];
  for (const [pointName, t] of named) {
    const table = frames.filter(inPaperTable);
    const dep = Number.isFinite(t) && table.length ? deploymentReport(table, { ...decide, threshold: t }) : null;
    points.push({
      name: pointName, threshold: num(t), heldOutAcceptance: num(heldOutAcceptance(heldOut, t)),
      deployment: dep && { ...dep.counts, accuracy: num(dep.paper.accuracy), fpr: num(dep.paper.fpr), fnr: num(dep.paper.fnr) },
    });
    if (!Number.isFinite(t)) continue;
    const subjects: UnknownOutcome[] = [...bySubject.values()].filter((fs) => !fs[0]!.known).map((fs) => {
      const d = decideSubject(fs, { ...decide, threshold: t });
      return { group: fs[0]!.group!, accepted: d.outcome === 'accepted', claimed: d.decision, lookalikeOf: lookalikeOf(d.subject) };
    });
    const perImage: UnknownOutcome[] = unknownImages.map(({ im, i }) => ({
      group: group(im.subject), accepted: top[i]!.p >= t, claimed: name(top[i]!.k), lookalikeOf: lookalikeOf(im.subject),
    }));
    farPoints.push({ name: pointName, threshold: num(t), subjects: rounded(falseAcceptsByGroup(subjects)), images: rounded(falseAcceptsByGroup(perImage)) });
  }

  const lookalikeDecisions = [...bySubject.values()].filter((fs) => !fs[0]!.known && fs[0]!.group !== 'stranger').map((fs) => {
    const d = decideSubject(fs, { ...decide, threshold: PAPER_THRESHOLD });
    return { subject: d.subject, group: fs[0]!.group!, lookalikeOf: lookalikeOf(d.subject) ?? null, decision: d.decision, confidence: num(d.confidence) ?? 0, outcome: d.outcome };
  });
  const s = frames.length ? deploymentSweep(frames, decide) : null;
  return {
    falseAccepts: unknownImages.length ? { groups: groupOrder(unknownImages.map(({ im }) => group(im.subject))), points: farPoints, lookalikeDecisions } : null,
    thresholds: {
      enrolmentRule: ENROLMENT_RULE,
      enrolment: { threshold: num(enrol.threshold), rejection: ENROLMENT_REJECTION, heldOutPhotos: enrol.photos, correct: enrol.correct },
      points,
      sweep: s && {
        thresholds: s.thresholds.map((x) => num(x)), accuracy: s.accuracy.map((x) => num(x)), fpr: s.fpr.map((x) => num(x)), fnr: s.fnr.map((x) => num(x)),
        far: Object.fromEntries(Object.entries(s.far).map(([g, xs]) => [g, xs.map((x) => num(x))])), subjects: s.subjects,
      },
    },
  };
}

function rounded(rates: GroupRate[]): StoredGroupRate[] {
  return rates.map((r) => ({ ...r, rate: num(r.rate), wilson95: { estimate: num(r.wilson95.estimate), lower: num(r.wilson95.lower), upper: num(r.wilson95.upper), level: r.wilson95.level } }));
}
