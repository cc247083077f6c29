/**
 * A seeded random-initialised CLIP state dict for any config, in the checkpoint's own names and
 * layout, so it loads through the same strict path as real weights. Used when real weights are
 * absent (every output is then stamped "random weights: pipeline check, not a result") and by
 * the benchmarks (RN50-sized towers without downloading anything).
 *
 * Follows clip/model.py CLIP.initialize_parameters: token N(0, .02), positions N(0, .01),
 * attention/MLP std from width and depth, text_projection N(0, width^-½), attnpool projections
 * N(0, in^-½), bn3 weights zero in every bottleneck, logit_scale ln(1/0.07). Convolutions, which
 * CLIP leaves at PyTorch's default, get He-normal (std √(2/fan_in)).
 *
 * ResNet BatchNorm running statistics are then calibrated on seeded smooth synthetic images (as
 * the golden models were): with identity statistics a random ReLU network maps every image to
 * nearly the same direction (cosine ≈ 1 between any two faces), which would make a pipeline check
 * meaningless; standardised layers keep images apart.
 */
import { isResNet, type ClipConfig } from './config.ts';
import type { StateDict } from './safetensors.ts';
import { expectedShapes } from './weights.ts';
import { gauss, streamRng } from '../util/rng.ts';
import { ModifiedResNet, convBnPairs } from './modified-resnet.ts';

/** Bump when the initialisation changes: it keys cached embeddings of random models. */
export const RANDOM_INIT_VERSION = 2;

function stdFor(name: string, shape: number[], cfg: ClipConfig): number | 'ones' | 'zeros' | 'logit' {
  const isVisual = name.startsWith('visual.');
  const width = isVisual ? cfg.vision.width : cfg.text.width;
  const layers = isVisual && !isResNet(cfg) ? (cfg.vision.layers as number) : cfg.text.layers;
  if (name === 'logit_scale') return 'logit';
  if (name === 'token_embedding.weight') return 0.02;
  if (name === 'positional_embedding') return 0.01;
  if (name === 'text_projection') return cfg.text.width ** -0.5;
  if (/running_var$/.test(name)) return 'ones';
  if (/running_mean$/.test(name)) return 'zeros';
  if (/layer\d\.\d+\.bn3\.weight$/.test(name)) return 'zeros'; // clip/model.py zero-inits each bottleneck's last BN (not the stem's)
  if (/(bn\d|downsample\.1|ln_\w+|ln_final)\.weight$/.test(name)) return 'ones';
  if (/bias$/.test(name)) return 'zeros';
  if (/attnpool\.\w_proj\.weight$/.test(name)) return shape[1]! ** -0.5;
  if (/attnpool\.positional_embedding$/.test(name)) return shape[1]! ** -0.5;
  if (/conv1\.weight$/.test(name) && !isResNet(cfg) && isVisual) return (3 * shape[2]! * shape[3]!) ** -0.5;
  if (/(conv\d|downsample\.0)\.weight$/.test(name)) return Math.sqrt(2 / (shape[1]! * shape[2]! * shape[3]!));
  if (/in_proj_weight$/.test(name)) return width ** -0.5;
  if (/(out_proj|c_proj)\.weight$/.test(name)) return width ** -0.5 * (2 * layers) ** -0.5;
  if (/c_fc\.weight$/.test(name)) return (2 * width) ** -0.5;
  if (/(class_embedding|visual\.positional_embedding|visual\.proj)$/.test(name)) return width ** -0.5;
  throw new Error(`random-init: no rule for ${name}`);
}

/** Deterministic for (config, seed): each tensor has its own random stream. */
export function randomClipStateDict(cfg: ClipConfig, seed: number): StateDict {
  const sd: StateDict = new Map();
  for (const [name, shape] of expectedShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const rule = stdFor(name, shape, cfg);
    if (rule === 'ones') data.fill(1);
    else if (rule === 'logit') data[0] = Math.log(1 / 0.07);
    else if (rule !== 'zeros') {
      const rng = streamRng(seed, 'clip-init', name);
      for (let i = 0; i < n; i++) data[i] = gauss(rng) * rule;
    }
    sd.set(name, { shape, dtype: 'F32', data });
  }
  if (isResNet(cfg)) calibrateResNet(cfg, sd, seed);
  return sd;
}

/** Smooth random images (sums of a few oriented sinusoids), roughly CLIP-normalised. */
function calibrationImages(size: number, n: number, seed: number): Float32Array {
  const rng = streamRng(seed, 'bn-calibration');
  const px = new Float32Array(n * 3 * size * size);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) {
    const waves = Array.from({ length: 4 }, () => ({ fx: gauss(rng) * 0.05, fy: gauss(rng) * 0.05, ph: rng() * 6.283, a: gauss(rng) }));
    const base = (i * 3 + c) * size * size;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      let v = 0;
      for (const w of waves) v += w.a * Math.sin(w.fx * x + w.fy * y + w.ph);
      px[base + y * size + x] = v / 2;
    }
  }
  return px;
}

function calibrateResNet(cfg: ClipConfig, sd: StateDict, seed: number): void {
  const bnOf = new Map(convBnPairs(cfg));
  const net = new ModifiedResNet(cfg, sd);
  try {
    net.calibrateBatchNorm(calibrationImages(cfg.vision.imageSize, 8, seed), 8, (conv, mean, variance) => {
      // measured through BN(mean 0, var 1): undo its 1/√(1+eps) to get the conv's own statistics
      const k = Math.sqrt(1 + 1e-5);
      sd.get(`visual.${bnOf.get(conv)}.running_mean`)!.data = Float32Array.from(mean, (m) => m * k);
      sd.get(`visual.${bnOf.get(conv)}.running_var`)!.data = Float32Array.from(variance, (v) => v * k * k);
    });
  } finally {
    net.dispose();
  }
}
