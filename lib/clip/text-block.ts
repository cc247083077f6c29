/**
 * clip/model.py's ResidualAttentionBlock for the text tower's TextLayout, with a hand-written
 * backward (tf.customGrad). Same maths as text-forward.ts's autodiff block; what changes is what
 * the step keeps: tfjs's tape holds every op's inputs and every intermediate gradient until the
 * step ends (~140 floats × width per row and layer, PERF-NOTES Q2: ~3–4.5 MB of wasm heap per
 * row at CLIP size), this block saves x̂₁, q/k/v, the attention probabilities, a, x̂₂ and the MLP
 * pre-activation (~10 × width) and frees the rest at once. The backward is the textbook one
 * (LayerNorm, QuickGELU/erf GELU, softmax attention with the shared prefix: its K/V gradients are
 * the sum over every group); test/perf-exact compares it with autodiff.
 */
import { tf, type Tensor } from '../runtime/tf.ts';
import type { T2 } from './nn.ts';
import type { TextLayout } from './text-layout.ts';

type T3 = tf.Tensor3D;

/** A block of rows attending to [prefix keys; its own keys] (text-layout.ts). */
interface Segment { offset: number; members: number; len: number; withPrefix: boolean }

export function segmentsOf(layout: TextLayout): Segment[] {
  const P = layout.prefixLen;
  const segs: Segment[] = P ? [{ offset: 0, members: 1, len: P, withPrefix: false }] : [];
  for (const g of layout.groups) segs.push({ offset: g.offset, members: g.members.length, len: g.len, withPrefix: P > 0 });
  return segs;
}

const rows = (x: Tensor, s: Segment, w: number) => tf.slice(x, [s.offset, 0], [s.members * s.len, w]) as T2;
/** [B·S, W] → [H, B, S, d] */
const toHeads = (x: Tensor, b: number, s: number, h: number, d: number) => tf.transpose(tf.reshape(x, [b, s, h, d]), [2, 0, 1, 3]);
/** [H, B, S, d] → [B·S, W] */
const fromHeads = (x: Tensor, b: number, s: number, h: number, d: number) => tf.reshape(tf.transpose(tf.reshape(x, [h, b, s, d]), [1, 2, 0, 3]), [b * s, h * d]) as T2;
/** [P, W] → [H, P, d] and back */
const prefixHeads = (x: Tensor, p: number, h: number, d: number) => tf.transpose(tf.reshape(x, [p, h, d]), [1, 0, 2]) as T3;
const prefixRows = (x: Tensor, p: number, w: number) => tf.reshape(tf.transpose(x, [1, 0, 2]), [p, w]) as T2;

/**
 * Attention of one segment. The softmax over [prefix scores | own scores] is taken in two parts
 * (shared max and normaliser), so no strided slice or concat of the probabilities is needed.
 * Saves pOwn [H·B, S, S] and pPre [H, B·S, P].
 */
function attnForward(q: T2, k: T2, v: T2, kp: T2 | undefined, vp: T2 | undefined, s: Segment, heads: number, mask: Tensor) {
  const { members: b, len } = s;
  const d = q.shape[1] / heads, p = kp?.shape[0] ?? 0;
  const qh = toHeads(tf.mul(q, 1 / Math.sqrt(d)), b, len, heads, d);
  const kh = tf.reshape(toHeads(k, b, len, heads, d), [heads * b, len, d]) as T3;
  const vh = tf.reshape(toHeads(v, b, len, heads, d), [heads * b, len, d]) as T3;
  const sOwn = tf.add(tf.matMul(tf.reshape(qh, [heads * b, len, d]) as T3, kh, false, true), mask) as T3;
  if (!p) {
    const pOwn = tf.softmax(sOwn, -1) as T3;
    return { out: fromHeads(tf.matMul(pOwn, vh), b, len, heads, d), pOwn, pPre: undefined };
  }
  const sPre = tf.reshape(tf.matMul(tf.reshape(qh, [heads, b * len, d]) as T3, prefixHeads(kp!, p, heads, d), false, true), [heads * b, len, p]);
  const mx = tf.maximum(tf.max(sOwn, -1, true), tf.max(sPre, -1, true));
  const eOwn = tf.exp(tf.sub(sOwn, mx)), ePre = tf.exp(tf.sub(sPre, mx));
  const z = tf.add(tf.sum(eOwn, -1, true), tf.sum(ePre, -1, true));
  const pOwn = tf.div(eOwn, z) as T3;
  const pPre = tf.reshape(tf.div(ePre, z), [heads, b * len, p]) as T3;
  const out = tf.add(tf.matMul(pOwn, vh), tf.reshape(tf.matMul(pPre, prefixHeads(vp!, p, heads, d)), [heads * b, len, d]));
  return { out: fromHeads(out, b, len, heads, d), pOwn, pPre };
}

/** dq, dk, dv of the segment's rows, and its contribution to the prefix's dK, dV ([H, P, d]). */
function attnBackward(dout: T2, q: T2, k: T2, v: T2, kp: T2 | undefined, vp: T2 | undefined, pOwn: T3, pPre: T3 | undefined, s: Segment, heads: number) {
  const { members: b, len } = s;
  const d = q.shape[1] / heads, p = kp?.shape[0] ?? 0, c = 1 / Math.sqrt(d);
  const flat = (x: Tensor) => tf.reshape(x, [heads * b, len, d]) as T3;
  const byHead = (x: Tensor, cols: number) => tf.reshape(x, [heads, b * len, cols]) as T3;
  const qh = flat(toHeads(tf.mul(q, c), b, len, heads, d)), kh = flat(toHeads(k, b, len, heads, d)), vh = flat(toHeads(v, b, len, heads, d));
  const dO = flat(toHeads(dout, b, len, heads, d)); // [H·B, S, d]
  const dvh = tf.matMul(pOwn, dO, true, false);
  const dPown = tf.matMul(dO, vh, false, true); // [H·B, S, S]
  let r = tf.sum(tf.mul(dPown, pOwn), -1, true); // softmax backward: rowsum(dP ⊙ P) over all keys
  let dPpre: Tensor | undefined, dkp: T3 | undefined, dvp: T3 | undefined;
  if (p) {
    dvp = tf.matMul(pPre!, byHead(dO, d), true, false) as T3; // [H, P, d]
    dPpre = tf.matMul(byHead(dO, d), prefixHeads(vp!, p, heads, d), false, true); // [H, B·S, P]
    r = tf.add(r, tf.reshape(tf.sum(tf.mul(dPpre, pPre!), -1, true), [heads * b, len, 1]));
  }
  const dZown = tf.mul(pOwn, tf.sub(dPown, r)) as T3;
  let dqh: Tensor = tf.matMul(dZown, kh);
  const dkh = tf.matMul(dZown, qh, true, false);
  if (p) {
    const dZpre = tf.mul(pPre!, tf.sub(dPpre!, tf.reshape(r, [heads, b * len, 1]))) as T3;
    dqh = tf.add(dqh, tf.reshape(tf.matMul(dZpre, prefixHeads(kp!, p, heads, d)), [heads * b, len, d]));
    dkp = tf.matMul(dZpre, byHead(qh, d), true, false) as T3;
  }
  const back = (x: Tensor) => fromHeads(x, b, len, heads, d);
  return { dq: tf.mul(back(dqh), c) as T2, dk: back(dkh), dv: back(dvh), dkp, dvp };
}

function lnForward(x: T2): { xhat: T2; rstd: T2 } {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), 1e-5)) as T2;
  return { xhat: tf.mul(xc, rstd) as T2, rstd };
}

/** dx of LayerNorm given dxhat (= dy·γ): rstd · (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) */
function lnBackward(dxhat: T2, xhat: T2, rstd: T2): T2 {
  return tf.mul(rstd, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true)))) as T2;
}

function activation(u: Tensor, quick: boolean): { m: Tensor; dm: (g: Tensor) => Tensor } {
  if (quick) {
    const sg = tf.sigmoid(tf.mul(u, 1.702));
    return { m: tf.mul(u, sg), dm: (g) => tf.mul(g, tf.add(sg, tf.mul(tf.mul(tf.mul(u, 1.702), sg), tf.sub(1, sg)))) };
  }
  const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2))), 0.5);
  const pdf = tf.mul(tf.exp(tf.mul(tf.square(u), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return { m: tf.mul(u, cdf), dm: (g) => tf.mul(g, tf.add(cdf, tf.mul(u, pdf))) };
}

export const BLOCK_PARAMS = ['ln_1.weight', 'ln_1.bias', 'attn.in_proj_weight', 'attn.in_proj_bias', 'attn.out_proj.weight', 'attn.out_proj.bias',
  'ln_2.weight', 'ln_2.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias'] as const;

/** Σ over rows as a [1, R]·[R, N] product (the BatchMatMul route is multi-threaded; wasm's axis-0 Sum transposes first). */
function sumRows(t: Tensor): Tensor {
  const [r, n] = t.shape as [number, number];
  return tf.reshape(tf.matMul(tf.ones([1, r]), t as T2), [n]);
}

/** One block over every row of `layout`; `params` in BLOCK_PARAMS order (linear weights [in, out]). */
export function fusedBlock(x: T2, params: Tensor[], layout: TextLayout, heads: number, quickGelu: boolean, mask: (len: number) => Tensor): T2 {
  const segs = segmentsOf(layout);
  const P = layout.prefixLen;
  const w = x.shape[1];
  const f = tf.customGrad(((...args: unknown[]) => {
    const [xin, g1, b1, wIn, bIn, wO, bO, g2, b2, wFc, bFc, wP, bP] = args as T2[];
    const save = args[args.length - 1] as (ts: Tensor[]) => void;
    // q, k, v as three products: no strided split of [R, 3W] activations (nor concat of their gradients)
    const col = (j: number) => tf.slice(wIn!, [0, j * w], [w, w]) as T2;
    const bias = (j: number) => tf.slice(bIn!, [j * w], [w]);
    const [y, ...kept] = tf.tidy(() => {
      const ln1 = lnForward(xin!);
      const h1 = tf.add(tf.mul(ln1.xhat, g1!), b1!) as T2;
      const [q, k, v] = [0, 1, 2].map((j) => tf.add(tf.matMul(h1, col(j)), bias(j)) as T2) as [T2, T2, T2];
      const kp = P ? rows(k, segs[0]!, w) : undefined, vp = P ? rows(v, segs[0]!, w) : undefined;
      const att = segs.map((s) => attnForward(rows(q, s, w), rows(k, s, w), rows(v, s, w), s.withPrefix ? kp : undefined, s.withPrefix ? vp : undefined, s, heads, mask(s.len)));
      const a = att.length === 1 ? att[0]!.out : tf.concat(att.map((r) => r.out), 0);
      const x2 = tf.add(xin!, tf.add(tf.matMul(a, wO!), bO!)) as T2;
      const ln2 = lnForward(x2);
      const u = tf.add(tf.matMul(tf.add(tf.mul(ln2.xhat, g2!), b2!) as T2, wFc!), bFc!);
      const y = tf.add(x2, tf.add(tf.matMul(activation(u, quickGelu).m as T2, wP!), bP!));
      return [y, ln1.xhat, ln1.rstd, q, k, v, a, ln2.xhat, ln2.rstd, u, ...att.flatMap((r) => (r.pPre ? [r.pOwn, r.pPre] : [r.pOwn]))];
    });
    save(kept);
    const gradFunc = (dy: Tensor, saved: Tensor[]) => tf.tidy(() => {
      const [xhat1, rstd1, q, k, v, a, xhat2, rstd2, u, ...probs] = saved as T2[];
      const act = activation(u!, quickGelu);
      const dU = act.dm(tf.matMul(dy as T2, wP!, false, true)) as T2;
      const h2 = tf.add(tf.mul(xhat2!, g2!), b2!) as T2;
      const dH2 = tf.matMul(dU, wFc!, false, true);
      const dX2 = tf.add(dy, lnBackward(tf.mul(dH2, g2!) as T2, xhat2!, rstd2!)) as T2;
      const dA = tf.matMul(dX2, wO!, false, true);
      const kp = P ? rows(k!, segs[0]!, w) : undefined, vp = P ? rows(v!, segs[0]!, w) : undefined;
      let pi = 0;
      const parts = segs.map((s) => {
        const pOwn = probs[pi++] as unknown as T3, pPre = s.withPrefix ? (probs[pi++] as unknown as T3) : undefined;
        return attnBackward(rows(dA, s, w), rows(q!, s, w), rows(k!, s, w), rows(v!, s, w), s.withPrefix ? kp : undefined, s.withPrefix ? vp : undefined, pOwn, pPre, s, heads);
      });
      const cat = (xs: T2[]) => (xs.length === 1 ? xs[0]! : (tf.concat(xs, 0) as T2));
      let dK = parts.map((r) => r.dk), dV = parts.map((r) => r.dv);
      if (P) { // the prefix rows' K/V gradients: their own attention plus every group's
        const from = (key: 'dkp' | 'dvp') => prefixRows(tf.addN(parts.filter((r) => r[key]).map((r) => r[key]!)), P, w);
        dK = [tf.add(dK[0]!, from('dkp')) as T2, ...dK.slice(1)];
        dV = [tf.add(dV[0]!, from('dvp')) as T2, ...dV.slice(1)];
      }
      const dQKV = [cat(parts.map((r) => r.dq)), cat(dK), cat(dV)];
      const h1 = tf.add(tf.mul(xhat1!, g1!), b1!) as T2;
      const dH1 = tf.addN(dQKV.map((g, j) => tf.matMul(g, col(j), false, true)));
      const dX = tf.add(dX2, lnBackward(tf.mul(dH1, g1!) as T2, xhat1!, rstd1!));
      return [dX,
        sumRows(tf.mul(dH1, xhat1!)), sumRows(dH1), tf.concat(dQKV.map((g) => tf.matMul(h1, g, true, false)), 1), tf.concat(dQKV.map(sumRows), 0),
        tf.matMul(a!, dX2, true, false), sumRows(dX2),
        sumRows(tf.mul(dH2, xhat2!)), sumRows(dH2), tf.matMul(h2, dU, true, false), sumRows(dU),
        tf.matMul(act.m as T2, dy as T2, true, false), sumRows(dy)];
    });
    return { value: y, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, ...params) as T2;
}
