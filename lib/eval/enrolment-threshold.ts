/**
 * A deployment threshold chosen on enrolment data only (issue 11), beside the paper's fixed 0.8
 * ("a confidence value lower than 80 % is unrecognized", arXiv 2411.12319 §IV-B), which is a
 * softmax number that means different things for different methods and class counts.
 *
 * Rule: look only at held-out photos of ENROLLED people (the 20 % split: taken at enrolment, never
 * trained on), never at an unknown person or a deployment frame. Of the photos the method names
 * correctly at rank 1, keep at least 1 − r accepted (r = 5 % by default): T is the highest
 * threshold that does so, the ⌊r·m⌋-th smallest of their m top-1 confidences (0-based, so at most
 * ⌊r·m⌋ of them fall below T). This is how an operator without impostor data sets a system: from
 * the false-reject rate the enrolled users will put up with (ISO/IEC 19795-1 calls that rate FRR;
 * NIST FRTE 1:N reports FNIR at fixed thresholds the same way). Whether it keeps unknown people
 * out is then a measurement, not a choice.
 */

/** Share of correctly named held-out enrolled photos the enrolment rule may reject. */
export const ENROLMENT_REJECTION = 0.05;

export const ENROLMENT_RULE = 'highest threshold that keeps ≥ 95 % of the correctly named held-out enrolled photos (20 % split) accepted; no unknown person and no deployment frame is looked at';

/** One held-out photo of an enrolled person. */
export interface HeldOutPhoto {
  /** the method's rank-1 identity is the right one */
  correct: boolean;
  /** that rank-1 identity's confidence */
  confidence: number;
}

export interface EnrolmentThreshold {
  /** NaN when no held-out photo is named correctly */
  threshold: number;
  /** the share of correct photos the rule may reject */
  rejection: number;
  /** held-out photos seen */
  photos: number;
  /** of which named correctly at rank 1 */
  correct: number;
  /** correct photos at or above the threshold / all held-out photos (1 − FNIR on the held-out split) */
  acceptedCorrect: number;
}

export function enrolmentThreshold(photos: readonly HeldOutPhoto[], rejection = ENROLMENT_REJECTION): EnrolmentThreshold {
  if (!(rejection >= 0 && rejection < 1)) throw new RangeError(`enrolmentThreshold: rejection must be in [0, 1), got ${rejection}`);
  const conf = photos.filter((p) => p.correct && Number.isFinite(p.confidence)).map((p) => p.confidence).sort((a, b) => a - b);
  const threshold = conf.length ? conf[Math.floor(rejection * conf.length)]! : NaN;
  return {
    threshold, rejection, photos: photos.length, correct: conf.length,
    acceptedCorrect: heldOutAcceptance(photos, threshold),
  };
}

/** Correct held-out photos at or above `threshold`, over all held-out photos (NaN without photos). */
export function heldOutAcceptance(photos: readonly HeldOutPhoto[], threshold: number): number {
  if (!photos.length) return NaN;
  return photos.filter((p) => p.correct && p.confidence >= threshold).length / photos.length;
}
