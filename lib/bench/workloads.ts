/**
 * The benchmark's workloads (issue 7): one text-tower finetuning step at full RN50 text size
 * (width 512, 12 layers, 8 heads, 49408×512 token table, embed 1024; seeded random weights) =
 * every identity prompt forward + backward + AdamW, against a batch of 16 cached image features;
 * and RN50 image embedding, batch 16. Each is measured in its own process (bench/run.ts), so the
 * peak RSS belongs to one case.
 */
import { tf, backendInfo } from '../runtime/tf.ts';
import { ClipModel, l2normalize } from '../clip/model.ts';
import { loadClipConfig, parseClipConfig, type ClipConfig } from '../clip/config.ts';
import { randomClipStateDict } from '../clip/random-init.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { planTextLayout } from '../clip/text-layout.ts';
import { createImageEncoder, type ImageRuntime } from '../clip/image-ort.ts';
import { AdamW } from '../train/adamw.ts';
import { textTrainStep, type TextStepOptions } from '../train/text-step.ts';
import { repoRoot } from '../util/paths.ts';
import { CpuMeter } from './cpu.ts';

/** The paper's prompt (no final period, as PyTorch's anchor: 13 tokens at most). */
export const TEMPLATE = 'This is the image of a person named {name}';
const FIRST = ('James Mary John Linda Robert Susan Michael Karen David Lisa William Nancy Richard Betty Joseph Sandra Thomas Ashley '
  + 'Charles Emily Daniel Donna Matthew Carol Anthony Amanda Mark Melissa Paul Laura Steven Rebecca Andrew Sharon Kevin Cynthia Brian Amy George Anna').split(' ');
// 1-, 2- and 3-token surnames, so prompts vary in length like real names do
const LAST = ('Smith Johnson Williams Brown Jones Garcia Miller Davis Wilson Anderson Taylor Moore Jackson Martin Lee Thompson White Harris '
  + 'Clark Lewis Walker Young King Wright Okafor Nakamura Haddad Eriksen Mensah Quispe Abara Moreau Kowalski Yilmaz Umarov Jovanovic Wojcik Dubois Larsen Novak').split(' ');

/** n distinct "First Last" names (n ≤ 1600), deterministic. */
export function benchNames(n: number): string[] {
  if (n > FIRST.length * LAST.length) throw new Error(`benchNames: at most ${FIRST.length * LAST.length}`);
  return Array.from({ length: n }, (_, i) => {
    const a = i % FIRST.length, b = Math.floor(i / FIRST.length);
    return `${FIRST[a]} ${LAST[(17 * a + b) % LAST.length]}`;
  });
}

/** RN50's text tower (and embed_dim) with a toy image tower: the text step never touches it. */
export function rn50TextConfig(): ClipConfig {
  const rn50 = loadClipConfig(`${repoRoot}/models/configs/RN50.json`);
  return parseClipConfig({
    embed_dim: rn50.embedDim, quick_gelu: rn50.quickGelu,
    vision_cfg: { image_size: 32, layers: [1, 1, 1, 1], width: 8, head_width: 8 },
    text_cfg: { context_length: rn50.text.contextLength, vocab_size: rn50.text.vocabSize, width: rn50.text.width, heads: rn50.text.heads, layers: rn50.text.layers },
  });
}

export interface TextStepCase {
  ids: number;
  /** 'cut': every exact saving (default); '77': full 77-token prompts, no savings (PyTorch's 77-token step) */
  context: 'cut' | '77';
  steps: number;
  warmup: number;
  step?: TextStepOptions;
}

export interface Measured {
  ms: number;
  peakRssMiB: number;
  /** every timed repetition, ms */
  runs: number[];
  /** CPU cores other processes used during the timed runs (the box is shared: PERF-NOTES) */
  foreignCores: number | null;
  [k: string]: unknown;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
export const peakRssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

/**
 * Times `warmup + steps` calls of `step` (each returns its loss): the median of the timed ones,
 * every run, and how busy other processes kept the cores meanwhile. `label` prefixes each log line.
 */
export function timeSteps(warmup: number, steps: number, step: () => number, label: string, log: (s: string) => void): { ms: number; runs: number[]; foreignCores: number | null; loss: number } {
  const runs: number[] = [];
  const meter = new CpuMeter();
  let loss = NaN;
  for (let s = 0; s < warmup + steps; s++) {
    if (s === warmup) meter.start();
    const t0 = performance.now();
    loss = step();
    const ms = performance.now() - t0;
    if (s >= warmup) runs.push(ms);
    log(`${label}: step ${s + 1}/${warmup + steps} ${ms.toFixed(0)} ms${s < warmup ? ' (warm-up)' : ''}, loss ${loss.toFixed(4)}`);
  }
  return { ms: median(runs), runs: runs.map(Math.round), foreignCores: meter.foreignCores(), loss };
}

export function runTextStep(c: TextStepCase, log: (s: string) => void): Measured {
  const cfg = rn50TextConfig();
  const model = new ClipModel(cfg, randomClipStateDict(cfg, 0));
  const tokens = ClipTokenizer.load().tokenize(benchNames(c.ids).map((n) => TEMPLATE.replace('{name}', n)), cfg.text.contextLength).tokens;
  const step: TextStepOptions = c.context === '77' ? { cut: false, sharedPrefix: false, ...c.step } : { ...c.step };
  const layout = planTextLayout(tokens, cfg.text.contextLength, { cut: step.cut, sharedPrefix: step.sharedPrefix ?? true });
  model.text.beginTraining(tokens);
  const img = tf.tidy(() => l2normalize(tf.randomNormal([16, cfg.embedDim], 0, 1, 'float32', 1) as tf.Tensor2D));
  const labels = Int32Array.from({ length: 16 }, (_, i) => (i * 7919) % c.ids);
  const opt = new AdamW({ weightDecay: 1e-3 });
  const t = timeSteps(c.warmup, c.steps, () => textTrainStep(model, opt, img, tokens, labels, 1e-5, step).loss, `${c.ids} ids (${c.context})`, log);
  return {
    ms: Math.round(t.ms), peakRssMiB: peakRssMiB(), runs: t.runs, foreignCores: t.foreignCores,
    rows: layout.rows, prefixLen: layout.prefixLen, loss: t.loss, backend: backendInfo()?.name, kernels: backendInfo()?.kernels,
  };
}

export interface ImageCase { batch: number; reps: number; runtime: ImageRuntime; compareTfjs?: boolean }

/** RN50 image tower (random weights, BN at identity statistics), `reps` timed batches after one warm-up. */
export async function runImageEmbed(c: ImageCase, log: (s: string) => void): Promise<Measured> {
  const rn50 = loadClipConfig(`${repoRoot}/models/configs/RN50.json`);
  const cfg = parseClipConfig({
    embed_dim: rn50.embedDim, quick_gelu: true,
    vision_cfg: { image_size: 224, layers: rn50.vision.layers, width: rn50.vision.width, head_width: rn50.vision.headWidth },
    text_cfg: { context_length: 77, vocab_size: 49408, width: 64, heads: 1, layers: 1 },
  });
  const model = new ClipModel(cfg, randomClipStateDict(cfg, 0));
  const enc = createImageEncoder(model, { runtime: c.runtime, batchSize: c.batch });
  const per = 3 * 224 * 224;
  const px = Float32Array.from({ length: c.batch * per }, (_, i) => Math.sin(i * 1e-3));
  const runs: number[] = [];
  const meter = new CpuMeter();
  for (let r = 0; r <= c.reps; r++) {
    if (r === 1) meter.start();
    const t0 = performance.now();
    await enc.encode(px, c.batch);
    const ms = performance.now() - t0;
    if (r > 0) runs.push(ms);
    log(`image embed (${enc.runtime}), batch ${c.batch}: ${ms.toFixed(0)} ms${r === 0 ? ' (warm-up)' : ''}`);
  }
  enc.dispose();
  const foreignCores = meter.foreignCores();
  const ms = median(runs);
  // the other runtime once, for the record ("whichever measures faster": image-ort.ts)
  let tfjsImagesPerSec: number | undefined;
  if (c.compareTfjs && enc.runtime === 'ort') {
    const t = createImageEncoder(model, { runtime: 'tfjs', batchSize: c.batch });
    const t0 = performance.now();
    await t.encode(px, c.batch);
    tfjsImagesPerSec = Number(((c.batch * 1000) / (performance.now() - t0)).toFixed(2));
    log(`image embed (tfjs), batch ${c.batch}: ${(performance.now() - t0).toFixed(0)} ms (one cold run)`);
  }
  return {
    ms: Math.round(ms), imagesPerSec: Number(((c.batch * 1000) / ms).toFixed(2)), runtime: enc.runtime, batch: c.batch,
    peakRssMiB: peakRssMiB(), runs: runs.map(Math.round), foreignCores, ...(tfjsImagesPerSec ? { tfjsImagesPerSec } : {}),
    backend: backendInfo()?.name, kernels: backendInfo()?.kernels,
  };
}
