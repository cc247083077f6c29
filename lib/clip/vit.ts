/**
 * CLIP's VisionTransformer image tower (openai/CLIP clip/model.py VisionTransformer), inference
 * only: patchify conv (no bias) → [class token; patches] + positional embedding → ln_pre →
 * Transformer (no mask) → ln_post on the class token → proj.
 */
import { tf } from '../runtime/tf.ts';
import type { ClipConfig } from './config.ts';
import { blockShapes, isLinearWeight, layerNorm, residualAttentionBlock, transpose2d, type T2 } from './nn.ts';
import type { StateDict } from './safetensors.ts';

export class VisionTransformer {
  private readonly t = new Map<string, tf.Tensor>();
  private readonly heads: number;

  constructor(readonly cfg: ClipConfig, sd: StateDict, prefix = 'visual.') {
    this.heads = cfg.vision.width / cfg.vision.headWidth;
    for (const [name] of vitParamShapes(cfg)) {
      const st = sd.get(prefix + name)!;
      let tensor: tf.Tensor;
      if (name === 'conv1.weight') {
        // [W, 3, P, P] → [P, P, 3, W] for an NHWC conv with stride P (= one matmul per patch)
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
      this.t.set(name, tf.keep(tensor));
    }
  }

  /** encode_image: pixels NCHW float32 (CLIP-normalised) → [N, embed_dim], raw. */
  encode(pixels: Float32Array, n: number): T2 {
    const { imageSize: s, patchSize, width, layers } = this.cfg.vision;
    const p = (name: string) => this.t.get(name)!;
    const grid = s / patchSize!;
    const len = grid * grid + 1;
    return tf.tidy(() => {
      const img = tf.transpose(tf.tensor4d(pixels, [n, 3, s, s]), [0, 2, 3, 1]) as tf.Tensor4D;
      const patches = tf.reshape(tf.conv2d(img, p('conv1.weight') as tf.Tensor4D, patchSize!, 'valid'), [n, grid * grid, width]);
      const cls = tf.tile(tf.reshape(p('class_embedding'), [1, 1, width]), [n, 1, 1]);
      let x = tf.reshape(tf.add(tf.concat([cls, patches], 1), p('positional_embedding')), [n * len, width]) as T2;
      x = layerNorm(x, p('ln_pre.weight'), p('ln_pre.bias'));
      for (let i = 0; i < (layers as number); i++) x = residualAttentionBlock(x, p, `transformer.resblocks.${i}`, n, len, this.heads, this.cfg.quickGelu);
      const clsOut = tf.reshape(tf.slice(tf.reshape(x, [n, len, width]), [0, 0, 0], [n, 1, width]), [n, width]) as T2;
      return tf.matMul(layerNorm(clsOut, p('ln_post.weight'), p('ln_post.bias')), p('proj') as T2);
    });
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
