/**
 * CLIP's VisionTransformer image tower (openai/CLIP clip/model.py VisionTransformer): patchify
 * conv (no bias) → [class token; patches] + positional embedding → ln_pre → Transformer (no mask)
 * → ln_post on the class token → proj.
 *
 * The parameters are tfjs variables, so the same tower runs frozen (the paper's finetune, the
 * embedding cache) and trains (`clipface pretrain`, the teaching CLIP).
 *
 * Patch embedding = patchify on the host + one 2-D matmul. With stride = kernel = patch size the
 * conv is exactly `patches[N·g², P·P·3] @ W[P·P·3, width]` (the same products, summed in a
 * different order). It is written that way because tfjs-wasm has no `Conv2DBackpropFilter`
 * kernel (PERF-NOTES Q2): the matmul's gradient is a plain `aᵀ·b` that the wasm matmul fix runs
 * fast. test/pretrain.test.ts checks value and gradient against tf.conv2d autodiff on the cpu
 * backend. The pixels need no gradient, so patchifying them in JS costs nothing on the tape.
 */
import { tf } from '../runtime/tf.ts';
import type { ClipConfig } from './config.ts';
import { attention, blockShapes, gelu, inProjectionPart, isLinearWeight, layerNorm, linear, residualAttentionBlock, transpose2d, type T2 } from './nn.ts';
import type { HostStateDict, StateDict } from './safetensors.ts';

let towerCount = 0;

/**
 * What the tower computes with, for exporters (clip/onnx-export.ts): the live variables, not copies
 * (read them; the tower owns them). tfjs layout, unlike stateDict(): linear weights [in, out],
 * conv1 [P, P, 3, width].
 */
export interface VitWeights {
  arch: 'vit';
  /** by PyTorch name without the `visual.` prefix (vitParamShapes) */
  params: ReadonlyMap<string, tf.Tensor>;
  heads: number;
}

/** NCHW pixels → [N·g·g, P·P·3] rows, each patch flattened in (y, x, channel) order (NHWC conv order). */
export function patchify(pixels: Float32Array, n: number, size: number, patch: number): Float32Array {
  const g = size / patch, row = patch * patch * 3, plane = size * size;
  const out = new Float32Array(n * g * g * row);
  let o = 0;
  for (let b = 0; b < n; b++) {
    const base = b * 3 * plane;
    for (let gy = 0; gy < g; gy++) for (let gx = 0; gx < g; gx++) {
      for (let y = 0; y < patch; y++) {
        const rowOff = base + (gy * patch + y) * size + gx * patch;
        for (let x = 0; x < patch; x++) for (let c = 0; c < 3; c++) out[o++] = pixels[rowOff + c * plane + x]!;
      }
    }
  }
  return out;
}

export class VisionTransformer {
  /** parameters by PyTorch name; linear weights in tfjs layout [in, out], conv1 as [P, P, 3, W] */
  readonly t = new Map<string, tf.Variable>();
  private readonly heads: number;
  private readonly scope = `vit${++towerCount}`;

  constructor(readonly cfg: ClipConfig, sd: StateDict, prefix = 'visual.') {
    this.heads = cfg.vision.width / cfg.vision.headWidth;
    for (const [name] of vitParamShapes(cfg)) {
      const st = sd.get(prefix + name)!;
      let tensor: tf.Tensor;
      if (name === 'conv1.weight') {
        const [w, c, p] = st.shape as [number, number, number];
        const out = new Float32Array(st.data!.length);
        for (let o = 0; o < w; o++) for (let i = 0; i < c; i++) for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) {
          out[((y * p + x) * c + i) * w + o] = st.data![((o * c + i) * p + y) * p + x]!;
        }
        tensor = tf.tensor4d(out, [p, p, c, w]);
      } else if (isLinearWeight(name)) {
        tensor = tf.tensor2d(transpose2d(st.data!, st.shape[0]!, st.shape[1]!), [st.shape[1]!, st.shape[0]!]);
      } else {
        tensor = tf.tensor(st.data!, st.shape);
      }
      this.t.set(name, tf.variable(tensor, true, `${this.scope}/${name}`));
      tensor.dispose();
    }
  }

  /** conv1 of clip/model.py VisionTransformer (stride = kernel = patch): [N, g², width], as patchify + matmul. */
  patchEmbedding(pixels: Float32Array, n: number): tf.Tensor3D {
    const { imageSize: s, patchSize, width } = this.cfg.vision;
    const P = patchSize!, grid = s / P;
    const rows = patchify(pixels, n, s, P);
    return tf.tidy(() => {
      const w = tf.reshape(this.t.get('conv1.weight')!, [P * P * 3, width]) as T2;
      return tf.reshape(tf.matMul(tf.tensor2d(rows, [n * grid * grid, P * P * 3]), w), [n, grid * grid, width]);
    });
  }

  /** encode_image: pixels NCHW float32 (CLIP-normalised) → [N, embed_dim], raw. Differentiable in the variables. */
  encode(pixels: Float32Array, n: number): T2 {
    const { imageSize: s, patchSize, width, layers } = this.cfg.vision;
    const p = (name: string) => this.t.get(name)! as tf.Tensor;
    const grid = s / patchSize!;
    const len = grid * grid + 1;
    return tf.tidy(() => {
      const patches = this.patchEmbedding(pixels, n);
      // [0; patches] + [cls; 0] + pos: the class token enters by a broadcast add (no Tile kernel on the tape)
      const padded = tf.pad(patches, [[0, 0], [1, 0], [0, 0]]);
      const clsRow = tf.pad(tf.reshape(p('class_embedding'), [1, width]), [[0, len - 1], [0, 0]]);
      let x = tf.reshape(tf.add(padded, tf.add(clsRow, p('positional_embedding'))), [n * len, width]) as T2;
      x = layerNorm(x, p('ln_pre.weight'), p('ln_pre.bias'));
      const last = (layers as number) - 1;
      for (let i = 0; i < last; i++) x = residualAttentionBlock(x, p, `transformer.resblocks.${i}`, n, len, this.heads, this.cfg.quickGelu);
      const clsOut = last < 0 ? (tf.reshape(tf.slice(tf.reshape(x, [n, len, width]), [0, 0, 0], [n, 1, width]), [n, width]) as T2) : this.classTokenBlock(x, `transformer.resblocks.${last}`, n, len);
      return tf.matMul(layerNorm(clsOut, p('ln_post.weight'), p('ln_post.bias')), p('proj') as T2);
    });
  }

  /**
   * The last ResidualAttentionBlock, computed for the class token only: encode_image reads nothing
   * else of its output (ln_post(x[:, 0, :])). Keys and values still come from every token; the
   * query, out_proj and MLP run on one row per image instead of g² + 1. Exact (attention rows are
   * independent), and a fifth fewer FLOPs in a 4-layer tower, forward and backward, like the text
   * tower's EOT-only last block (text-forward.ts).
   */
  private classTokenBlock(x: T2, b: string, n: number, len: number): T2 {
    const p = (name: string) => this.t.get(name)! as tf.Tensor;
    const w = x.shape[1];
    const cls = (t: T2) => tf.reshape(tf.slice(tf.reshape(t, [n, len, w]), [0, 0, 0], [n, 1, w]), [n, w]) as T2;
    const h = layerNorm(x, p(`${b}.ln_1.weight`), p(`${b}.ln_1.bias`));
    const wIn = p(`${b}.attn.in_proj_weight`), bIn = p(`${b}.attn.in_proj_bias`);
    const a = attention(inProjectionPart(cls(h), wIn, bIn, 0), inProjectionPart(h, wIn, bIn, 1), inProjectionPart(h, wIn, bIn, 2), n, 1, len, this.heads);
    const xc = tf.add(cls(x), linear(a, p(`${b}.attn.out_proj.weight`), p(`${b}.attn.out_proj.bias`))) as T2;
    const m = gelu(linear(layerNorm(xc, p(`${b}.ln_2.weight`), p(`${b}.ln_2.bias`)), p(`${b}.mlp.c_fc.weight`), p(`${b}.mlp.c_fc.bias`)), this.cfg.quickGelu) as T2;
    return tf.add(xc, linear(m, p(`${b}.mlp.c_proj.weight`), p(`${b}.mlp.c_proj.bias`))) as T2;
  }

  /** The parameters `encode` computes with, in tfjs layout (see VitWeights). */
  weights(): VitWeights {
    return { arch: 'vit', params: this.t, heads: this.heads };
  }

  /** The tower's tensors in PyTorch names and layout, without the `visual.` prefix. */
  stateDict(): HostStateDict {
    const out: HostStateDict = new Map();
    for (const [name, v] of this.t) {
      const data = v.dataSync() as Float32Array;
      if (name === 'conv1.weight') {
        const [p, , c, w] = v.shape as [number, number, number, number];
        const o = new Float32Array(data.length);
        for (let k = 0; k < w; k++) for (let i = 0; i < c; i++) for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) {
          o[((k * c + i) * p + y) * p + x] = data[((y * p + x) * c + i) * w + k]!;
        }
        out.set(name, { shape: [w, c, p, p], data: o });
      } else if (isLinearWeight(name)) {
        out.set(name, { shape: [v.shape[1]!, v.shape[0]!], data: transpose2d(data, v.shape[0]!, v.shape[1]!) });
      } else {
        out.set(name, { shape: [...v.shape], data: Float32Array.from(data) });
      }
    }
    return out;
  }

  dispose(): void {
    for (const t of this.t.values()) t.dispose();
    this.t.clear();
  }
}

/** PyTorch names and shapes of the ViT tower (without the `visual.` prefix). */
export function vitParamShapes(cfg: ClipConfig): [string, number[]][] {
  const { width: w, patchSize, imageSize, layers, mlpRatio } = cfg.vision;
  const grid = imageSize / patchSize!;
  const out: [string, number[]][] = [
    ['class_embedding', [w]], ['positional_embedding', [grid * grid + 1, w]], ['conv1.weight', [w, 3, patchSize!, patchSize!]],
    ['ln_pre.weight', [w]], ['ln_pre.bias', [w]],
  ];
  for (let i = 0; i < (layers as number); i++) out.push(...blockShapes(`transformer.resblocks.${i}`, w, mlpRatio));
  out.push(['ln_post.weight', [w]], ['ln_post.bias', [w]], ['proj', [w, cfg.embedDim]]);
  return out;
}
