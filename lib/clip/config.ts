/**
 * CLIP architecture config, as open_clip writes it (`model_configs/RN50.json`: `{embed_dim,
 * vision_cfg, text_cfg, quick_gelu?}`) or as the HF hub stores it beside the weights
 * (`open_clip_config.json`: `{model_cfg, preprocess_cfg}`). The vision tower follows open_clip's
 * rule (model.py `_build_vision_tower`): `layers` a list → ModifiedResNet, a number → ViT.
 * Unknown keys are errors (a typo must not silently change the architecture); keys open_clip
 * writes that do not change the maths of these towers are accepted only at their neutral value.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../util/errors.ts';

export interface VisionCfg {
  imageSize: number;
  /** list (RN: blocks per stage) or number (ViT: transformer layers) */
  layers: number[] | number;
  width: number;
  /** ViT only */
  patchSize: number | null;
  /** heads = width*32/headWidth for RN (clip/model.py), width/headWidth for ViT */
  headWidth: number;
  mlpRatio: number;
}

export interface TextCfg {
  contextLength: number;
  vocabSize: number;
  width: number;
  heads: number;
  layers: number;
  mlpRatio: number;
}

export interface PreprocessCfg {
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
  interpolation: 'bicubic';
  resizeMode: 'shortest';
}

export interface ClipConfig {
  embedDim: number;
  quickGelu: boolean;
  vision: VisionCfg;
  text: TextCfg;
  preprocess: PreprocessCfg;
}

/** OpenAI CLIP's normalisation (clip/clip.py `_transform`). */
export const OPENAI_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

type Json = Record<string, unknown>;

/** Keys accepted only at a value that leaves these towers unchanged (open_clip CLIPVisionCfg/CLIPTextCfg defaults). */
const NEUTRAL: Record<string, unknown[]> = {
  ls_init_value: [null], patch_dropout: [0], attentional_pool: [false], no_ln_pre: [false],
  pos_embed_type: ['learnable'], final_ln_after_pool: [false], pool_type: ['tok', 'argmax'],
  output_tokens: [false], embed_cls: [false], pad_id: [0], no_causal_mask: [false],
  proj_bias: [false], output_dim: [null], act_kwargs: [null], norm_kwargs: [null],
  timm_model_name: [null], hf_model_name: [null], text_mask: ['first', null], tokenizer_kwargs: [null],
  proj_type: ['linear'], init_logit_scale: [null], init_logit_bias: [null], custom_text: [false],
};

function checkKeys(where: string, obj: Json, known: string[], file: string): void {
  for (const [k, v] of Object.entries(obj)) {
    if (known.includes(k)) continue;
    const neutral = NEUTRAL[k];
    if (neutral && neutral.some((n) => JSON.stringify(n) === JSON.stringify(v))) continue;
    const hint = neutral ? ` (supported only as ${neutral.map((n) => JSON.stringify(n)).join(' or ')})` : ` (known: ${known.join(', ')})`;
    throw new UserError(`${file}: unsupported key "${where}${k}" = ${JSON.stringify(v)}${hint}`);
  }
}

function num(obj: Json, key: string, file: string, where: string, dflt?: number): number {
  const v = obj[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new UserError(`${file}: "${where}${key}" must be a positive number, got ${JSON.stringify(obj[key])}`);
  return v;
}

function triple(v: unknown, name: string, file: string): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) throw new UserError(`${file}: preprocess_cfg.${name} must be 3 numbers`);
  return v as [number, number, number];
}

/** Parse either config shape; `file` is only used in error messages. */
export function parseClipConfig(raw: unknown, file = 'config'): ClipConfig {
  if (typeof raw !== 'object' || raw === null) throw new UserError(`${file}: a CLIP config must be a JSON object`);
  let modelCfg = raw as Json;
  let pre: Json = {};
  if ('model_cfg' in modelCfg) {
    checkKeys('', modelCfg, ['model_cfg', 'preprocess_cfg'], file);
    pre = (modelCfg.preprocess_cfg ?? {}) as Json;
    modelCfg = modelCfg.model_cfg as Json;
  }
  checkKeys('', modelCfg, ['embed_dim', 'quick_gelu', 'vision_cfg', 'text_cfg', 'cast_dtype'], file);
  const v = (modelCfg.vision_cfg ?? {}) as Json;
  const t = (modelCfg.text_cfg ?? {}) as Json;
  if (!modelCfg.vision_cfg || !modelCfg.text_cfg) throw new UserError(`${file}: needs "vision_cfg" and "text_cfg" (an open_clip model config)`);
  checkKeys('vision_cfg.', v, ['image_size', 'layers', 'width', 'patch_size', 'head_width', 'mlp_ratio'], file);
  checkKeys('text_cfg.', t, ['context_length', 'vocab_size', 'width', 'heads', 'layers', 'mlp_ratio'], file);
  checkKeys('preprocess_cfg.', pre, ['mean', 'std', 'interpolation', 'resize_mode', 'size', 'fill_color'], file);

  const layers = v.layers;
  const isResNet = Array.isArray(layers);
  if (isResNet ? !(layers as unknown[]).every((x) => Number.isInteger(x) && (x as number) > 0) || (layers as unknown[]).length !== 4 : !Number.isInteger(layers)) {
    throw new UserError(`${file}: vision_cfg.layers must be 4 integers (ResNet) or one integer (ViT), got ${JSON.stringify(layers)}`);
  }
  if (!isResNet && !v.patch_size) throw new UserError(`${file}: a ViT vision_cfg needs "patch_size"`);
  if (pre.interpolation !== undefined && pre.interpolation !== 'bicubic') throw new UserError(`${file}: preprocess_cfg.interpolation "${pre.interpolation}" is not supported (bicubic only, as CLIP)`);
  if (pre.resize_mode !== undefined && pre.resize_mode !== 'shortest') throw new UserError(`${file}: preprocess_cfg.resize_mode "${pre.resize_mode}" is not supported (shortest only, as CLIP)`);
  if (modelCfg.cast_dtype !== undefined && modelCfg.cast_dtype !== null && modelCfg.cast_dtype !== 'fp32' && modelCfg.cast_dtype !== 'fp16') {
    throw new UserError(`${file}: cast_dtype "${modelCfg.cast_dtype}" is not supported`);
  }
  const imageSize = num(v, 'image_size', file, 'vision_cfg.', 224);
  return {
    embedDim: num(modelCfg, 'embed_dim', file, ''),
    quickGelu: modelCfg.quick_gelu === true,
    vision: {
      imageSize,
      layers: layers as number[] | number,
      width: num(v, 'width', file, 'vision_cfg.'),
      patchSize: isResNet ? null : num(v, 'patch_size', file, 'vision_cfg.'),
      headWidth: num(v, 'head_width', file, 'vision_cfg.', 64),
      mlpRatio: num(v, 'mlp_ratio', file, 'vision_cfg.', 4),
    },
    text: {
      contextLength: num(t, 'context_length', file, 'text_cfg.', 77),
      vocabSize: num(t, 'vocab_size', file, 'text_cfg.', 49408),
      width: num(t, 'width', file, 'text_cfg.', 512),
      heads: num(t, 'heads', file, 'text_cfg.', 8),
      layers: num(t, 'layers', file, 'text_cfg.', 12),
      mlpRatio: num(t, 'mlp_ratio', file, 'text_cfg.', 4),
    },
    preprocess: {
      size: pre.size === undefined ? imageSize : Array.isArray(pre.size) ? Number(pre.size[0]) : Number(pre.size),
      mean: pre.mean === undefined ? OPENAI_MEAN : triple(pre.mean, 'mean', file),
      std: pre.std === undefined ? OPENAI_STD : triple(pre.std, 'std', file),
      interpolation: 'bicubic',
      resizeMode: 'shortest',
    },
  };
}

export function loadClipConfig(path: string): ClipConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`${path}: config file not found; pass --config <open_clip_config.json or model config>`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return parseClipConfig(raw, path);
}

export function isResNet(cfg: ClipConfig): boolean {
  return Array.isArray(cfg.vision.layers);
}
