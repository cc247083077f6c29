/**
 * Turns a finetuned CLIP's scores into the study's numbers: closed-set accuracy and confusion on
 * the 20 % split, the paper's deployment protocol (threshold 0.8, Table I accounting) beside the
 * ISO/IEC 19795-1 open-set measures, a DET sweep, image-to-prompt verification ROC/EER, CMC, and
 * bootstrap intervals. Pure: plain arrays in, a metrics object and prediction rows out.
 */
import { accuracy, argmax, confusionMatrix, perClassReport } from '../eval/closed-set.ts';
import { deploymentReport, UNRECOGNIZED, type DeploymentFrame } from '../eval/deployment.ts';
import { auc, cmc, eer, fnirAtFpir, identificationSweep, roc, tarAtFar, type IdentificationProbe } from '../eval/open-set.ts';
import { bootstrapCI, wilson } from '../eval/stats.ts';

/** One scored image: softmax probabilities over the enrolled identities (class order). */
export interface ScoredImage {
  path: string;
  kind: 'train' | 'test' | 'deployment' | 'probe';
  subject: string;
  known: boolean;
  /** class index of the true identity; -1 for unknown people */
  truth: number;
  probs: number[];
  /** cosine of the image with every class prompt (for verification ROC) */
  cosines: number[];
}

export interface EvalOptions {
  classes: string[];
  threshold: number;
  aggregation: 'majority' | 'mean-prob';
  enrolledRejected: 'fp' | 'tn';
  bootstrap: number;
  seed: number;
}

export interface PredictionCsvRow {
  kind: string; path: string; subject: string; known: boolean; truth: string; prediction: string;
  confidence: number; accepted: boolean;
}

const round = (x: number, d = 6) => (Number.isFinite(x) ? Number(x.toFixed(d)) : x);

export function evaluate(images: ScoredImage[], o: EvalOptions) {
  const name = (i: number) => (i >= 0 ? o.classes[i]! : 'unknown');
  const top = images.map((im) => { const k = argmax(im.probs); return { k, p: im.probs[k]! }; });
  const rows: PredictionCsvRow[] = images.map((im, i) => ({
    kind: im.kind, path: im.path, subject: im.subject, known: im.known, truth: im.known ? name(im.truth) : '',
    prediction: name(top[i]!.k), confidence: round(top[i]!.p), accepted: top[i]!.p >= o.threshold,
  }));

  // closed set: the 20 % split of enrolled people, top-1 without a threshold (Table I's "training acc" column is this on the train split)
  const testIdx = images.map((im, i) => (im.kind === 'test' ? i : -1)).filter((i) => i >= 0);
  const truthNames = testIdx.map((i) => name(images[i]!.truth));
  const predNames = testIdx.map((i) => name(top[i]!.k));
  const cm = confusionMatrix(truthNames, predNames, o.classes);
  const acc = accuracy(truthNames, predNames);
  const correct = testIdx.map((i) => top[i]!.k === images[i]!.truth);
  const closedSet = {
    images: testIdx.length,
    accuracy: round(acc),
    chance: round(1 / o.classes.length),
    wilson95: wilson(correct.filter(Boolean).length, correct.length),
    bootstrap95: o.bootstrap ? bootstrapCI(correct, (s) => s.filter(Boolean).length / s.length, { iterations: o.bootstrap, seed: o.seed }) : null,
    cmc: cmc(testIdx.map((i) => images[i]!.probs), testIdx.map((i) => images[i]!.truth)).map((x) => round(x)),
    confusion: cm,
    perClass: perClassReport(cm),
  };

  // deployment: every frame of every session subject, decided per subject (paper protocol)
  const frames: DeploymentFrame[] = images.flatMap((im, i) => im.kind !== 'deployment' ? [] : [{
    subject: im.subject, known: im.known, trueIdentity: im.known ? name(im.truth) : null,
    predicted: name(top[i]!.k), confidence: top[i]!.p,
    scores: Object.fromEntries(im.probs.map((p, c) => [o.classes[c]!, p])),
  }]);
  const dep = frames.length ? deploymentReport(frames, { threshold: o.threshold, aggregation: o.aggregation, enrolledRejected: o.enrolledRejected }) : null;
  const deployment = dep && {
    accounting: 'paper: enrolled subjects are negatives, unknown subjects positives (MISSION.md); standard: ISO/IEC 19795-1',
    threshold: dep.threshold, aggregation: dep.aggregation, enrolledRejected: dep.enrolledRejected,
    subjects: dep.decisions.length,
    ...dep.counts,
    accuracy: round(dep.paper.accuracy), fpr: round(dep.paper.fpr), fnr: round(dep.paper.fnr),
    standard: dep.standard,
    bootstrap95: o.bootstrap ? {
      accuracy: bootstrapCI(dep.decisions, (s) => s.filter((d) => d.cell === 'tp' || d.cell === 'tn').length / s.length, { iterations: o.bootstrap, seed: o.seed }),
    } : null,
    decisions: dep.decisions,
    identityConfusion: dep.identityConfusion,
  };

  // open set over single images: enrolled test images are mated probes; unknown people's images
  // (their dataset photos and deployment frames) are non-mated
  const probes: IdentificationProbe[] = images.flatMap((im, i) =>
    im.kind === 'test' || !im.known ? [{ known: im.known, truth: im.known ? name(im.truth) : null, predicted: name(top[i]!.k), score: top[i]!.p }] : []);
  const sweep = identificationSweep(probes);
  const genuine: number[] = [], impostor: number[] = [];
  for (const im of images) {
    if (im.kind !== 'test') continue;
    im.cosines.forEach((c, k) => (k === im.truth ? genuine : impostor).push(c));
  }
  const verification = genuine.length && impostor.length ? (() => {
    const r = roc(genuine, impostor);
    return { pairs: { genuine: genuine.length, impostor: impostor.length }, auc: round(auc(r)), eer: eer(genuine, impostor), tarAtFar: tarAtFar(genuine, impostor) };
  })() : null;
  const openSet = {
    probes: { mated: sweep.mated, nonMated: sweep.nonMated },
    fnirAtFpir: sweep.nonMated ? [0.01, 0.1, 0.2].map((t) => ({ targetFpir: t, ...fnirAtFpir(sweep, t) })) : [],
    det: { thresholds: sweep.thresholds.map((x) => round(x)), fpir: sweep.fpir.map((x) => round(x)), fnir: sweep.fnir.map((x) => round(x)) },
    verification,
  };
  return { closedSet, deployment, openSet, rows, unrecognized: UNRECOGNIZED };
}

/** Training-split accuracy (Table I's "training accuracy" column), from the same scores. */
export function splitAccuracy(images: { truth: number; probs: number[] }[]): number {
  if (!images.length) return NaN;
  return round(images.filter((im) => argmax(im.probs) === im.truth).length / images.length);
}
