/**
 * A pretrained CLIP written as an open_clip hub folder (`open_clip_config.json` with `model_cfg`
 * and `preprocess_cfg`, `open_clip_model.safetensors` with OpenAI's tensor names), so it loads
 * through exactly the code path that loads real open_clip weights (models/registry.ts
 * resolveLocalModel → ClipModel.load). fp16 keeps the shipped file under 16 MB.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClipConfig } from '../clip/config.ts';
import type { ClipModel } from '../clip/model.ts';
import { writeSafetensors } from '../clip/safetensors.ts';
import type { VisionTransformer } from '../clip/vit.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';

/** The whole model in PyTorch names and layout (text tower after endTraining()). */
export function clipStateDict(model: ClipModel, logitScale: number): Map<string, { shape: number[]; data: Float32Array }> {
  const sd = new Map(model.text.stateDict());
  for (const [n, t] of (model.visual as VisionTransformer).stateDict()) sd.set(`visual.${n}`, t);
  sd.set('logit_scale', { shape: [], data: Float32Array.of(Math.log(logitScale)) });
  return sd;
}

/** open_clip's model config JSON (the inverse of clip/config.ts parseClipConfig, for ViT towers). */
export function openClipModelCfg(cfg: ClipConfig): Record<string, unknown> {
  return {
    embed_dim: cfg.embedDim, quick_gelu: cfg.quickGelu,
    vision_cfg: { image_size: cfg.vision.imageSize, layers: cfg.vision.layers, width: cfg.vision.width, patch_size: cfg.vision.patchSize, head_width: cfg.vision.headWidth, mlp_ratio: cfg.vision.mlpRatio },
    text_cfg: { context_length: cfg.text.contextLength, vocab_size: cfg.text.vocabSize, width: cfg.text.width, heads: cfg.text.heads, layers: cfg.text.layers, mlp_ratio: cfg.text.mlpRatio },
  };
}

export function writeOpenClipFolder(dir: string, cfg: ClipConfig, model: ClipModel, logitScale: number, metadata: Record<string, string>): { weights: string; sha256: string; bytes: number } {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'open_clip_config.json'), {
    model_cfg: openClipModelCfg(cfg),
    preprocess_cfg: { mean: cfg.preprocess.mean, std: cfg.preprocess.std, interpolation: 'bicubic', resize_mode: 'shortest' },
  });
  const weights = join(dir, 'open_clip_model.safetensors');
  writeSafetensors(weights, clipStateDict(model, logitScale), metadata, 'F16');
  const bytes = readFileSync(weights);
  return { weights, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}
