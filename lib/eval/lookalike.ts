/**
 * False accepts of unknown people, broken down by how much they look like someone enrolled
 * (issue 11). The paper's claim (arXiv 2411.12319 §V) is that CLIP rejects people it was not
 * trained on better than face-ID models; its test had 2 unknown strangers, which cannot tell
 * methods apart once they separate strangers. Lookalikes (an enrolled person with d identity
 * parts changed, manifest `lookalikeOf` / `lookalikeDistance`) are where false positives between
 * similar-looking people show, so the rate is reported per distance d1, d2, …, beside strangers.
 *
 * A false accept is an unknown person (or one image of them) given any enrolled identity at or
 * above the threshold; `asTwin` counts those given exactly the person they look like.
 */
import { wilson, type Interval } from './stats.ts';

/** 'd<k>' for a lookalike at distance k, 'lookalike' for one without a distance, 'stranger' otherwise. */
export function unknownGroup(person: { lookalikeOf?: string; lookalikeDistance?: number }): string {
  if (person.lookalikeOf === undefined) return 'stranger';
  return person.lookalikeDistance === undefined ? 'lookalike' : `d${person.lookalikeDistance}`;
}

/** Groups in reading order: d1, d2, … (numerically), then lookalike, then stranger. */
export function groupOrder(groups: Iterable<string>): string[] {
  const rank = (g: string) => (g === 'stranger' ? Infinity : g === 'lookalike' ? 1e9 : Number(g.slice(1)));
  return [...new Set(groups)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** One unknown person or image: the group it belongs to and what the system did. */
export interface UnknownOutcome {
  group: string;
  /** given an enrolled identity at or above the threshold */
  accepted: boolean;
  /** the identity given (when accepted) */
  claimed?: string | null;
  /** the enrolled person this one looks like (lookalikes only) */
  lookalikeOf?: string;
}

export interface GroupRate {
  group: string;
  /** people (or images) in the group */
  n: number;
  accepted: number;
  /** accepted / n: the false-accept rate (NaN when n = 0) */
  rate: number;
  /** Wilson score interval of the rate (few people per group: the interval is the honest number) */
  wilson95: Interval;
  /** accepted as the very person they look like (lookalikes; 0 for strangers) */
  asTwin: number;
}

/** False-accept rate per group, in `groupOrder`. */
export function falseAcceptsByGroup(items: readonly UnknownOutcome[]): GroupRate[] {
  return groupOrder(items.map((i) => i.group)).map((group) => {
    const mine = items.filter((i) => i.group === group);
    const accepted = mine.filter((i) => i.accepted);
    return {
      group, n: mine.length, accepted: accepted.length,
      rate: mine.length ? accepted.length / mine.length : NaN,
      wilson95: wilson(accepted.length, mine.length),
      asTwin: accepted.filter((i) => i.lookalikeOf !== undefined && i.claimed === i.lookalikeOf).length,
    };
  });
}
