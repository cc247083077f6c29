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

export function layerNorm(x: T2, g: Tensor, b: Tensor, eps = 1e-5): T2 {
  // clip/model.py LayerNorm computes in fp32; two-pass variance like torch's native kernel
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true);
    const xc = tf.sub(x, mean);
    const variance = tf.mean(tf.square(xc), -1, true);
    return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), g), b) as T2;
  });
}

/** `x @ W + b` with W in tfjs layout [in, out]. */
export function linear(x: T2, w: Tensor, b?: Tensor): T2 {
  const y = tf.matMul(x, w as T2) as T2;
  return b ? (tf.add(y, b) as T2) : y;
}

/** QuickGELU (clip/model.py): x·σ(1.702x); the exact erf GELU when the config says so. */
export function gelu(x: Tensor, quick: boolean): Tensor {
  if (quick) return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
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
  const w = x.shape[1];
  const h = layerNorm(x, p(`${prefix}.ln_1.weight`), p(`${prefix}.ln_1.bias`));
  const qkv = linear(h, p(`${prefix}.attn.in_proj_weight`), p(`${prefix}.attn.in_proj_bias`));
  const [q, k, v] = tf.split(qkv, [w, w, w], 1) as [T2, T2, T2];
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
