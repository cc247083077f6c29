/**
 * A CLIP image tower shipped on its own (the ArcFace tower of `objective: "arcface"`, which has no
 * text tower worth shipping): the open_clip folder layout (`open_clip_config.json` with the
 * architecture it shares with the teaching CLIP, `open_clip_model.safetensors` in fp16), holding the
 * `visual.*` tensors only. It resolves through the registry like any open_clip folder
 * (models/registry.ts resolveLocalModel); ClipModel.load refuses it with a line naming the missing
 * text tensors, and this loader refuses anything but exactly the ViT tower's tensors.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadClipConfig, type ClipConfig } from '../clip/config.ts';
import type { T2 } from '../clip/nn.ts';
import { readSafetensors, writeSafetensors } from '../clip/safetensors.ts';
import { VisionTransformer, vitParamShapes } from '../clip/vit.ts';
import { tf } from '../runtime/tf.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';
import { openClipModelCfg } from './export.ts';

export class ImageTowerModel {
  constructor(readonly cfg: ClipConfig, readonly visual: VisionTransformer, readonly source: { config?: string; weights?: string } = {}) {}

  /** An image-tower folder's config and weights; every `visual.*` tensor present and shaped as the config says, nothing else. */
  static load(configPath: string, weightsPath: string): ImageTowerModel {
    const cfg = loadClipConfig(configPath);
    if (typeof cfg.vision.layers !== 'number') throw new UserError(`${configPath}: an image-tower folder holds a ViT (vision_cfg.layers one integer)`);
    const { tensors } = readSafetensors(weightsPath);
    const want = new Map(vitParamShapes(cfg).map(([n, s]) => [`visual.${n}`, s]));
    const bad: string[] = [];
    for (const [n, s] of want) {
      const t = tensors.get(n);
      if (!t?.data) bad.push(`${n} missing`);
      else if (t.shape.join() !== s.join()) bad.push(`${n} [${t.shape}] (config expects [${s}])`);
    }
    for (const n of tensors.keys()) if (!want.has(n)) bad.push(`${n} unexpected`);
    if (bad.length) throw new UserError(`${weightsPath}: not the image tower ${configPath} describes: ${bad.slice(0, 4).join(', ')}${bad.length > 4 ? ', …' : ''}; check that the two files belong to the same model`);
    return new ImageTowerModel(cfg, new VisionTransformer(cfg, tensors), { config: configPath, weights: weightsPath });
  }

  /** encode_image of n NCHW CLIP-normalised images, in chunks of `batchSize` (as ClipModel.encodeImage). */
  encodeImage(pixels: Float32Array, n: number, batchSize = 16): T2 {
    const per = 3 * this.cfg.vision.imageSize ** 2;
    if (pixels.length !== n * per) throw new Error(`encodeImage: expected ${n}×${per} values, got ${pixels.length}`);
    const parts: T2[] = [];
    for (let i = 0; i < n; i += batchSize) {
      const m = Math.min(batchSize, n - i);
      parts.push(this.visual.encode(pixels.subarray(i * per, (i + m) * per), m));
    }
    if (parts.length === 1) return parts[0]!;
    const out = tf.concat(parts, 0);
    parts.forEach((p) => p.dispose());
    return out;
  }

  dispose(): void {
    this.visual.dispose();
  }
}

/** Write `vis` as an image-tower folder (fp16 weights); returns the weights' path, sha256 and size. */
export function writeImageTowerFolder(dir: string, cfg: ClipConfig, vis: VisionTransformer, metadata: Record<string, string>): { weights: string; sha256: string; bytes: number } {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'open_clip_config.json'), {
    model_cfg: openClipModelCfg(cfg),
    preprocess_cfg: { mean: cfg.preprocess.mean, std: cfg.preprocess.std, interpolation: 'bicubic', resize_mode: 'shortest' },
  });
  const sd = new Map([...vis.stateDict()].map(([n, t]) => [`visual.${n}`, t]));
  const weights = join(dir, 'open_clip_model.safetensors');
  writeSafetensors(weights, sd, { ...metadata, contents: 'image tower only (visual.*)' }, 'F16');
  const bytes = readFileSync(weights);
  return { weights, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}
