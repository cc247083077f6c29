/**
 * CLIP = an image tower + a text tower + logit_scale (openai/CLIP clip/model.py CLIP), with
 * open_clip's API shape: encodeImage / encodeText (raw features) and logits = exp(logit_scale) ×
 * cosine. The image tower is frozen (inference tensors); the text tower holds trainable variables.
 */
import { tf } from '../runtime/tf.ts';
import { isResNet, loadClipConfig, type ClipConfig } from './config.ts';
import { ModifiedResNet, type ResNetWeights } from './modified-resnet.ts';
import { readSafetensors, type StateDict } from './safetensors.ts';
import { TextTower } from './text.ts';
import { VisionTransformer, type VitWeights } from './vit.ts';
import { assertStateDictMatches } from './weights.ts';
import type { T2 } from './nn.ts';

/** The weights of either image tower, told apart by `arch` (for exporters: clip/onnx-export.ts). */
export type ImageTowerWeights = ResNetWeights | VitWeights;

export interface ImageTower {
  encode(pixels: Float32Array, n: number): T2;
  /** the tensors `encode` computes with, typed per architecture */
  weights(): ImageTowerWeights;
  dispose(): void;
}

export class ClipModel {
  readonly visual: ImageTower;
  readonly text: TextTower;
  /** log of the logit scale (CLIP learns it; the paper keeps it frozen) */
  readonly logitScale: number;

  constructor(readonly cfg: ClipConfig, sd: StateDict, readonly source: { config?: string; weights?: string } = {}) {
    assertStateDictMatches(sd, cfg, source.weights ?? 'weights');
    this.visual = isResNet(cfg) ? new ModifiedResNet(cfg, sd) : new VisionTransformer(cfg, sd);
    this.text = new TextTower(cfg, sd);
    this.logitScale = sd.get('logit_scale')!.data![0]!;
  }

  static load(configPath: string, weightsPath: string): ClipModel {
    const cfg = loadClipConfig(configPath);
    const { tensors } = readSafetensors(weightsPath);
    return new ClipModel(cfg, tensors, { config: configPath, weights: weightsPath });
  }

  /** encode_image for a batch of preprocessed images (NCHW float32), in chunks to bound memory. */
  encodeImage(pixels: Float32Array, n: number, batchSize = 16): T2 {
    const per = 3 * this.cfg.vision.imageSize ** 2;
    if (pixels.length !== n * per) throw new Error(`encodeImage: expected ${n}×${per} values, got ${pixels.length}`);
    if (n <= batchSize) return this.visual.encode(pixels, n);
    const parts: T2[] = [];
    for (let i = 0; i < n; i += batchSize) {
      const m = Math.min(batchSize, n - i);
      parts.push(this.visual.encode(pixels.subarray(i * per, (i + m) * per), m));
    }
    const out = tf.concat(parts, 0);
    parts.forEach((p) => p.dispose());
    return out;
  }

  encodeText(tokens: Int32Array[], opts: { cut?: boolean } = {}): T2 {
    return this.text.encode(tokens, opts);
  }

  /** exp(logit_scale) · normalise(img) @ normalise(txt)ᵀ: [n_images, n_texts] (CLIP.forward). */
  logits(imageFeatures: T2, textFeatures: T2): T2 {
    return tf.tidy(() => tf.mul(tf.matMul(l2normalize(imageFeatures), l2normalize(textFeatures), false, true), Math.exp(this.logitScale)) as T2);
  }

  dispose(): void {
    this.visual.dispose();
    this.text.dispose();
  }
}

/** x / ‖x‖ along the last axis (rsqrt of the sum of squares: differentiable on every backend). */
export function l2normalize(x: T2): T2 {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.sum(tf.square(x), -1, true))) as T2);
}
