/**
 * How the text tower lays a batch of prompts out as rows, so that no row is computed that cannot
 * change a feature (PERF-NOTES Q2 "exact savings"; all of it is exact under the causal mask):
 * - the cut: a prompt ends at its EOT (position p never sees positions > p, and the feature is
 *   read at the EOT), so rows after it are dropped;
 * - no padding: prompts are grouped by length, every group is a dense [members × len] block;
 * - the shared prefix: every class prompt starts with "<SOT> this is the image of a person named";
 *   its rows are computed once, and every suffix attends to [prefix; own suffix]. The prefix's
 *   keys and values then receive the gradients of all suffixes, summed (autodiff does that).
 * Rows are [prefix (P rows); group 0 (B0·S0 rows, member-major); group 1; ...].
 */

export interface LayoutGroup {
  /** prompt indices (input order) in this group */
  members: number[];
  /** suffix rows per member (the positions P .. P+len-1) */
  len: number;
  /** first row of the group */
  offset: number;
}

export interface TextLayout {
  /** shared prefix length P (0: none) */
  prefixLen: number;
  groups: LayoutGroup[];
  /** total rows = P + Σ members·len */
  rows: number;
  /** token id of every row */
  ids: Int32Array;
  /** absolute position of every row (into the positional embedding) */
  positions: Int32Array;
  /** the EOT row of every prompt, in input order */
  eotRows: Int32Array;
  /** true when every prompt's EOT is the last row of its block (the last layer may then compute EOT rows only) */
  eotLast: boolean;
}

export interface LayoutOptions {
  /** drop rows after each prompt's EOT (default true) */
  cut?: boolean;
  /** compute the common prefix once (default true) */
  sharedPrefix?: boolean;
  /** pad to the longest prompt instead of grouping by length (the reference layout) */
  pad?: boolean;
}

/** The EOT position of a prompt: the argmax of its ids (EOT = 49407 is the largest id, as clip/model.py uses). */
export function eotPosition(t: Int32Array): number {
  let best = 0;
  for (let i = 1; i < t.length; i++) if (t[i]! > t[best]!) best = i;
  return best;
}

/** Length of the prefix shared by every prompt, leaving each prompt at least its EOT row. */
export function commonPrefixLength(tokens: Int32Array[], eot: number[]): number {
  if (tokens.length < 2) return 0;
  let p = Math.min(...eot);
  const first = tokens[0]!;
  for (const t of tokens) {
    let i = 0;
    while (i < p && t[i] === first[i]) i++;
    p = i;
  }
  return p;
}

export function planTextLayout(tokens: Int32Array[], contextLength: number, opts: LayoutOptions = {}): TextLayout {
  const cut = opts.cut ?? true;
  const eot = tokens.map(eotPosition);
  const prefixLen = opts.sharedPrefix ?? true ? commonPrefixLength(tokens, eot) : 0;
  const end = (i: number) => (cut ? eot[i]! + 1 : contextLength);
  const longest = Math.max(...tokens.map((_, i) => end(i)));
  const byLen = new Map<number, number[]>();
  tokens.forEach((_, i) => {
    const len = (opts.pad ? longest : end(i)) - prefixLen;
    byLen.set(len, [...(byLen.get(len) ?? []), i]);
  });
  const groups: LayoutGroup[] = [];
  let rows = prefixLen;
  for (const [len, members] of [...byLen].sort((a, b) => a[0] - b[0])) {
    groups.push({ members, len, offset: rows });
    rows += members.length * len;
  }
  const ids = new Int32Array(rows);
  const positions = new Int32Array(rows);
  const eotRows = new Int32Array(tokens.length);
  let eotLast = true;
  for (let p = 0; p < prefixLen; p++) { ids[p] = tokens[0]![p]!; positions[p] = p; }
  for (const g of groups) {
    g.members.forEach((m, j) => {
      const base = g.offset + j * g.len;
      for (let s = 0; s < g.len; s++) { ids[base + s] = tokens[m]![prefixLen + s]!; positions[base + s] = prefixLen + s; }
      eotRows[m] = base + eot[m]! - prefixLen;
      if (eot[m]! - prefixLen !== g.len - 1) eotLast = false;
    });
  }
  return { prefixLen, groups, rows, ids, positions, eotRows, eotLast };
}

/** Split prompts into consecutive chunks whose layouts stay under `maxRows` rows (at least one prompt each). */
export function chunkByRows(tokens: Int32Array[], maxRows: number, contextLength: number, opts: LayoutOptions = {}): number[][] {
  const all = planTextLayout(tokens, contextLength, opts);
  const perPrompt = new Array<number>(tokens.length);
  for (const g of all.groups) for (const m of g.members) perPrompt[m] = g.len;
  const chunks: number[][] = [];
  let cur: number[] = [], rows = all.prefixLen;
  perPrompt.forEach((r, i) => {
    if (cur.length && rows + r > maxRows) { chunks.push(cur); cur = []; rows = all.prefixLen; }
    cur.push(i);
    rows += r;
  });
  if (cur.length) chunks.push(cur);
  return chunks;
}
