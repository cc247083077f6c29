/**
 * The building blocks CLIP's towers share (openai/CLIP clip/model.py: LayerNorm, QuickGELU,
 * ResidualAttentionBlock, Transformer), written for tfjs. Tensors are kept 2-D ([tokens, width])
 * wherever a linear layer runs: tfjs-wasm's rank-3·rank-2 matmul is 20–40× slower than the 2-D
 * one (PERF-NOTES Q1), and it costs nothing elsewhere.
 *
 * Linear weights are held transposed ([in, out], "tfjs layout") so that every projection is a
 * plain `x @ W`; `toTfLayout`/`toTorchLayout` convert at the checkpoint boundary.
 */
import { tf, type Tensor } from '../runtime/tf.ts';

export type T1 = tf.Tensor1D;
export type T2 = tf.Tensor2D;

/** Look-up of a tower's parameters by their PyTorch name (without the tower prefix). */
export type Params = (name: string) => Tensor;

/**
 * Column sums of a 2-D gradient as a `ones[1, N] · dy` product: the gradient of a broadcast bias
 * or gain. tfjs's own (Sum over axis 0) transposes the whole [N, C] tensor first on wasm and sums
 * on one thread; the product runs in the matmul route (PERF-NOTES Q1). Same sums, other order.
 */
function columnSums(dy: Tensor): T1 {
  const c = dy.shape[dy.rank - 1]!;
  const rows = dy.size / c;
  return tf.reshape(tf.matMul(tf.ones([1, rows]), tf.reshape(dy, [rows, c]) as T2), [c]) as T1;
}

/**
 * clip/model.py LayerNorm (fp32, two-pass variance like torch's native kernel) with its gradient
 * written out (torch's layer_norm_backward): dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dγ = Σ dy·x̂,
 * dβ = Σ dy, where x̂ = (x − μ)·r and dx̂ = dy·γ. tfjs's autodiff of the same forward takes ~20
 * kernels, two of them column sums through full transposes; this takes 10 (PERF-NOTES Q2, "every
 * pass over the activations costs"). test/nn-grads.test.ts checks it against autodiff.
 */
export function layerNorm(x: T2, g: Tensor, b: Tensor, eps = 1e-5): T2 {
  const f = tf.customGrad((...a: (Tensor | tf.GradSaveFunc)[]) => {
    const [xi, gi, bi, save] = a as [Tensor, Tensor, Tensor, tf.GradSaveFunc];
    const mean = tf.mean(xi, -1, true);
    const xc = tf.sub(xi, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps));
    const xhat = tf.mul(xc, rstd);
    save([xhat, rstd, gi]);
    return {
      value: tf.add(tf.mul(xhat, gi), bi),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xh, r, gain] = saved as [Tensor, Tensor, Tensor];
        const dxhat = tf.mul(dy, gain);
        const inner = tf.add(tf.mean(dxhat, -1, true), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true)));
        return [tf.mul(tf.sub(dxhat, inner), r), columnSums(tf.mul(dy, xh)), columnSums(dy)];
      },
    };
  });
  return f(x, g, b) as T2;
}

/** `x @ W + b` with W in tfjs layout [in, out]; the bias gradient is a column-sum product. */
export function linear(x: T2, w: Tensor, b?: Tensor): T2 {
  if (!b) return tf.matMul(x, w as T2) as T2;
  const f = tf.customGrad((...a: (Tensor | tf.GradSaveFunc)[]) => {
    const [xi, wi, bi, save] = a as [Tensor, Tensor, Tensor, tf.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.add(tf.matMul(xi as T2, wi as T2), bi),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, ws] = saved as [T2, T2];
        return [tf.matMul(dy as T2, ws, false, true), tf.matMul(xs, dy as T2, true, false), columnSums(dy)];
      },
    };
  });
  return f(x, w, b) as T2;
}

/**
 * nn.MultiheadAttention's packed in-projection (in_proj_weight = [W_q; W_k; W_v]) as three
 * products with column slices of the packed weight. Same numbers as one product then a split; but
 * the split then runs on the small weight, not on the [N, 3W] activations (whose wasm SplitV and
 * its Concat gradient took ~6 % of a pretraining step).
 */
export function inProjection(h: T2, w: Tensor, b: Tensor): [T2, T2, T2] {
  return [inProjectionPart(h, w, b, 0), inProjectionPart(h, w, b, 1), inProjectionPart(h, w, b, 2)];
}

/** One of the three (0 q, 1 k, 2 v) for the rows `h` (vit.ts asks q of the class rows only). */
export function inProjectionPart(h: T2, w: Tensor, b: Tensor, i: 0 | 1 | 2): T2 {
  const width = h.shape[1];
  return linear(h, tf.slice(w, [0, i * width], [-1, width]), tf.slice(b, [i * width], [width]));
}

/**
 * QuickGELU (clip/model.py): x·σ(1.702x), with its derivative written out, σ + 1.702·x·σ·(1 − σ)
 * (5 kernels on the backward pass instead of autodiff's 8); the exact erf GELU when the config says so.
 */
export function gelu(x: Tensor, quick: boolean): Tensor {
  if (!quick) return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  const f = tf.customGrad((...a: (Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = a as [Tensor, tf.GradSaveFunc];
    const sig = tf.sigmoid(tf.mul(xi, 1.702));
    save([xi, sig]);
    return {
      value: tf.mul(xi, sig),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, sg] = saved as [Tensor, Tensor];
        return [tf.mul(dy, tf.mul(sg, tf.add(1, tf.mul(tf.mul(xs, 1.702), tf.sub(1, sg)))))];
      },
    };
  });
  return f(x);
}

/** [B·L, H·d] → [B, H, L, d] */
function splitHeads(x: T2, batch: number, len: number, heads: number): tf.Tensor4D {
  const d = x.shape[1] / heads;
  return tf.transpose(tf.reshape(x, [batch, len, heads, d]), [0, 2, 1, 3]);
}

/** [B, H, L, d] → [B·L, H·d] */
function mergeHeads(x: tf.Tensor4D): T2 {
  const [b, h, l, d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b * l, h * d]);
}

/**
 * Scaled dot-product attention over heads, as torch.nn.functional.multi_head_attention_forward:
 * q is scaled by 1/√d after its projection; `mask` is added to the scores (causal: −1e9 above the
 * diagonal, whose softmax weight is exactly 0 in float32, like torch's −inf).
 */
export function attention(q: T2, k: T2, v: T2, batch: number, qLen: number, kvLen: number, heads: number, mask?: Tensor): T2 {
  const d = q.shape[1] / heads;
  const qh = splitHeads(tf.mul(q, 1 / Math.sqrt(d)) as T2, batch, qLen, heads);
  const kh = splitHeads(k, batch, kvLen, heads);
  const vh = splitHeads(v, batch, kvLen, heads);
  let scores = tf.matMul(qh, kh, false, true); // [B, H, Lq, Lk]
  if (mask) scores = tf.add(scores, mask);
  return mergeHeads(tf.matMul(tf.softmax(scores, -1), vh));
}

/**
 * Attention of `members` sequences over [shared prefix keys; their own keys] (the text tower's
 * shared prompt prefix, see text-layout.ts). q: [members·qLen, W]; k, v: [members·kLen, W];
 * kp, vp: [P, W] or undefined. The softmax runs over the concatenated scores, so this is exactly
 * attention over P + kLen keys; the prefix's K/V get every member's gradient, summed.
 * `mask` [qLen, kLen] applies to the own keys (the prefix precedes every query: unmasked).
 * Heads-first layout [H, members, len, d]: 4-D transposes only, and the prefix product is one
 * [H, members·qLen, d]·[H, P, d]ᵀ batch (PERF-NOTES Q2: 5-D transposes are slow on wasm).
 */
export function prefixAttention(
  q: T2, k: T2, v: T2, kp: T2 | undefined, vp: T2 | undefined,
  members: number, qLen: number, kLen: number, heads: number, mask?: Tensor,
): T2 {
  const w = q.shape[1];
  const d = w / heads;
  const toHeads = (x: Tensor, len: number) => tf.transpose(tf.reshape(x, [members, len, heads, d]), [2, 0, 1, 3]); // [H, B, len, d]
  const qh = toHeads(tf.mul(q, 1 / Math.sqrt(d)), qLen);
  const kh = tf.reshape(toHeads(k, kLen), [heads * members, kLen, d]);
  const vh = tf.reshape(toHeads(v, kLen), [heads * members, kLen, d]);
  let scores: Tensor = tf.matMul(tf.reshape(qh, [heads * members, qLen, d]), kh, false, true); // [H·B, qLen, kLen]
  if (mask) scores = tf.add(scores, mask);
  const p = kp?.shape[0] ?? 0;
  let kph: tf.Tensor3D | undefined, vph: tf.Tensor3D | undefined;
  if (kp && vp && p > 0) {
    kph = tf.transpose(tf.reshape(kp, [p, heads, d]), [1, 0, 2]) as tf.Tensor3D; // [H, P, d]
    vph = tf.transpose(tf.reshape(vp, [p, heads, d]), [1, 0, 2]) as tf.Tensor3D;
    const sp = tf.matMul(tf.reshape(qh, [heads, members * qLen, d]), kph, false, true); // [H, B·qLen, P]
    scores = tf.concat([tf.reshape(sp, [heads * members, qLen, p]), scores], 2);
  }
  const probs = tf.softmax(scores, -1);
  let out: Tensor;
  if (kph && vph) {
    const pp = tf.reshape(tf.slice(probs, [0, 0, 0], [-1, -1, p]), [heads, members * qLen, p]);
    const ps = tf.slice(probs, [0, 0, p], [-1, -1, kLen]);
    out = tf.add(tf.reshape(tf.matMul(pp, vph), [heads * members, qLen, d]), tf.matMul(ps as tf.Tensor3D, vh));
  } else {
    out = tf.matMul(probs as tf.Tensor3D, vh);
  }
  return tf.reshape(tf.transpose(tf.reshape(out, [heads, members, qLen, d]), [1, 2, 0, 3]), [members * qLen, w]);
}

/** Causal additive mask [L, L] (clip/model.py build_attention_mask). */
export function causalMask(len: number): tf.Tensor2D {
  return tf.tidy(() => {
    const lower = tf.linalg.bandPart(tf.ones([len, len]), -1, 0);
    return tf.mul(tf.sub(1, lower), -1e9) as tf.Tensor2D;
  });
}

/**
 * clip/model.py ResidualAttentionBlock: x + attn(ln_1(x)); x + mlp(ln_2(x)); nn.MultiheadAttention
 * with a packed in_proj [q; k; v]. `x` is [B·L, W].
 */
export function residualAttentionBlock(x: T2, p: Params, prefix: string, batch: number, len: number, heads: number, quickGelu: boolean, mask?: Tensor): T2 {
  const h = layerNorm(x, p(`${prefix}.ln_1.weight`), p(`${prefix}.ln_1.bias`));
  const [q, k, v] = inProjection(h, p(`${prefix}.attn.in_proj_weight`), p(`${prefix}.attn.in_proj_bias`));
  const a = attention(q, k, v, batch, len, len, heads, mask);
  x = tf.add(x, linear(a, p(`${prefix}.attn.out_proj.weight`), p(`${prefix}.attn.out_proj.bias`))) as T2;
  const h2 = layerNorm(x, p(`${prefix}.ln_2.weight`), p(`${prefix}.ln_2.bias`));
  const m = gelu(linear(h2, p(`${prefix}.mlp.c_fc.weight`), p(`${prefix}.mlp.c_fc.bias`)), quickGelu) as T2;
  return tf.add(x, linear(m, p(`${prefix}.mlp.c_proj.weight`), p(`${prefix}.mlp.c_proj.bias`))) as T2;
}

/** Expected PyTorch shapes of one ResidualAttentionBlock (for the strict weight report). */
export function blockShapes(prefix: string, width: number, mlpRatio: number): [string, number[]][] {
  const m = Math.round(width * mlpRatio);
  return [
    [`${prefix}.attn.in_proj_weight`, [3 * width, width]], [`${prefix}.attn.in_proj_bias`, [3 * width]],
    [`${prefix}.attn.out_proj.weight`, [width, width]], [`${prefix}.attn.out_proj.bias`, [width]],
    [`${prefix}.ln_1.weight`, [width]], [`${prefix}.ln_1.bias`, [width]],
    [`${prefix}.mlp.c_fc.weight`, [m, width]], [`${prefix}.mlp.c_fc.bias`, [m]],
    [`${prefix}.mlp.c_proj.weight`, [width, m]], [`${prefix}.mlp.c_proj.bias`, [width]],
    [`${prefix}.ln_2.weight`, [width]], [`${prefix}.ln_2.bias`, [width]],
  ];
}

/** Which PyTorch parameters are nn.Linear weights ([out, in]) that we hold transposed. */
export function isLinearWeight(name: string): boolean {
  return /(in_proj_weight|out_proj\.weight|c_fc\.weight|c_proj\.weight|[qkv]_proj\.weight)$/.test(name);
}

/** [rows, cols] row-major → [cols, rows] row-major. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}
