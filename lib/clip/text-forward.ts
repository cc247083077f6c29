/**
 * The text tower's Transformer over a TextLayout (text-layout.ts): clip/model.py's
 * ResidualAttentionBlock stack, with every linear layer on all rows at once ([rows, W], 2-D, the
 * fast matmul shape: PERF-NOTES Q1) and attention per block of rows (prefix, then each
 * length group attending to [prefix; itself]).
 *
 * Every block but the last uses text-block.ts (same maths, hand-written backward that keeps ~14×
 * less per row); the last layer only computes what the EOT rows need (exact): keys and values of every row, but
 * the query, attention output, out_proj, ln_2 and MLP of the EOT rows alone — the feature is read
 * there, and no later layer looks at the other rows.
 */
import { tf } from '../runtime/tf.ts';
import { gelu, inProjection, layerNorm, linear, prefixAttention, type Params, type T2 } from './nn.ts';
import type { TextLayout } from './text-layout.ts';
import { BLOCK_PARAMS, fusedBlock } from './text-block.ts';

export interface ForwardContext {
  p: Params;
  layout: TextLayout;
  layers: number;
  heads: number;
  quickGelu: boolean;
  /** causal additive mask [len, len], cached by the caller */
  mask(len: number): tf.Tensor2D;
  /** `x[rows]` with a gradient (tfjs-wasm has no gather gradient: text.ts gatherRows) */
  gatherRows(x: T2, rows: Int32Array): T2;
  /** tfjs autodiff for every block instead of text-block.ts's hand-written backward (the reference) */
  autodiff?: boolean;
}

function slice(x: T2, row: number, rows: number): T2 {
  return tf.slice(x, [row, 0], [rows, -1]);
}

/** x + mlp(ln_2(x)) */
function mlp(x: T2, c: ForwardContext, b: string): T2 {
  const h = layerNorm(x, c.p(`${b}.ln_2.weight`), c.p(`${b}.ln_2.bias`));
  const m = gelu(linear(h, c.p(`${b}.mlp.c_fc.weight`), c.p(`${b}.mlp.c_fc.bias`)), c.quickGelu) as T2;
  return tf.add(x, linear(m, c.p(`${b}.mlp.c_proj.weight`), c.p(`${b}.mlp.c_proj.bias`))) as T2;
}

function qkv(x: T2, c: ForwardContext, b: string): [T2, T2, T2] {
  const h = layerNorm(x, c.p(`${b}.ln_1.weight`), c.p(`${b}.ln_1.bias`));
  return inProjection(h, c.p(`${b}.attn.in_proj_weight`), c.p(`${b}.attn.in_proj_bias`));
}

/** One full block over every row of the layout. */
function block(x: T2, c: ForwardContext, b: string): T2 {
  const { layout, heads } = c;
  const [q, k, v] = qkv(x, c, b);
  const P = layout.prefixLen;
  const parts: T2[] = [];
  const kp = P ? slice(k, 0, P) : undefined, vp = P ? slice(v, 0, P) : undefined;
  if (P) parts.push(prefixAttention(slice(q, 0, P), kp!, vp!, undefined, undefined, 1, P, P, heads, c.mask(P)));
  for (const g of layout.groups) {
    const n = g.members.length * g.len;
    parts.push(prefixAttention(slice(q, g.offset, n), slice(k, g.offset, n), slice(v, g.offset, n), kp, vp, g.members.length, g.len, g.len, heads, c.mask(g.len)));
  }
  const a = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
  x = tf.add(x, linear(a, c.p(`${b}.attn.out_proj.weight`), c.p(`${b}.attn.out_proj.bias`))) as T2;
  return mlp(x, c, b);
}

/** The last block for the EOT rows only; returns [prompts, W] in the layout's group order. */
function lastBlockAtEot(x: T2, c: ForwardContext, b: string, eotInGroupOrder: Int32Array): T2 {
  const { layout, heads } = c;
  const [q, k, v] = qkv(x, c, b);
  const P = layout.prefixLen;
  const kp = P ? slice(k, 0, P) : undefined, vp = P ? slice(v, 0, P) : undefined;
  const qe = c.gatherRows(q, eotInGroupOrder);
  const parts: T2[] = [];
  let first = 0;
  for (const g of layout.groups) {
    const m = g.members.length, n = m * g.len;
    // the EOT is the last row of each member: it attends to all of them, so no mask
    parts.push(prefixAttention(slice(qe, first, m), slice(k, g.offset, n), slice(v, g.offset, n), kp, vp, m, 1, g.len, heads));
    first += m;
  }
  const a = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
  const xe = tf.add(c.gatherRows(x, eotInGroupOrder), linear(a, c.p(`${b}.attn.out_proj.weight`), c.p(`${b}.attn.out_proj.bias`))) as T2;
  return mlp(xe, c, b);
}

/** Residual stream at each prompt's EOT after the last block: [prompts, W], input order. */
export function transformerAtEot(x: T2, c: ForwardContext): T2 {
  const { layout, layers } = c;
  const name = (i: number) => `transformer.resblocks.${i}`;
  for (let i = 0; i < layers - 1; i++) {
    // one tidy per block: without a tape nothing of a block outlives it (the tape keeps what it saved)
    const xi = x;
    x = tf.tidy(() => (c.autodiff ? block(xi, c, name(i)) : fusedBlock(xi, BLOCK_PARAMS.map((n) => c.p(`${name(i)}.${n}`)), layout, c.heads, c.quickGelu, c.mask)));
  }
  if (!layout.eotLast || layers === 0) {
    if (layers > 0) x = block(x, c, name(layers - 1));
    return c.gatherRows(x, layout.eotRows);
  }
  const order = layout.groups.flatMap((g) => g.members);
  const eotInGroupOrder = Int32Array.from(order, (m) => layout.eotRows[m]!);
  const xe = lastBlockAtEot(x, c, name(layers - 1), eotInGroupOrder);
  const back = new Int32Array(order.length);
  order.forEach((m, k) => { back[m] = k; });
  const inOrder = order.every((m, k) => m === k);
  return inOrder ? xe : c.gatherRows(xe, back);
}
