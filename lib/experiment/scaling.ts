/**
 * Scaling (paper §VI-C): the cost of one text-tower finetuning step as the number of enrolled
 * identities grows. Every step encodes every identity's prompt (forward + backward + AdamW), so
 * the step is what grows with the gallery; the frozen image tower does not take part (its
 * features are computed once per image, whatever the number of people).
 *
 * One step = the training loop the runner uses (lib/train/finetune.ts) on a seeded random-init
 * text tower of a named architecture (tiny-rn for a smoke run, RN50 for the paper's size), a batch
 * of 16 random unit image features, and one "This is the image of a person named …" prompt per
 * identity. Each identity count runs in its own process by default, so the peak RSS reported is
 * that count's alone. `npm run bench` (lib/bench) measures the full RN50 cases against PyTorch.
 *
 *   node --import tsx lib/experiment/scaling.ts '{"ids":100,"arch":"tiny-rn"}'   # one count, JSON on stdout
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ClipModel } from '../clip/model.ts';
import { parseClipConfig } from '../clip/config.ts';
import { randomClipStateDict } from '../clip/random-init.ts';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { finetuneTextTower } from '../train/finetune.ts';
import { initTf, backendInfo } from '../runtime/tf.ts';
import { mulberry32 } from '../eval/stats.ts';
import { repoRoot } from '../util/paths.ts';
import { archConfigPath } from '../services/model-source.ts';

export const SCALING_TEMPLATE = 'This is the image of a person named {name}';

export interface ScalingCase {
  /** number of identities = prompts encoded per step */
  ids: number;
  /** models/configs preset (or config path) whose text tower is timed; default tiny-rn */
  arch?: string;
  /** timed steps (the median is reported), after `warmup` untimed ones; defaults 3 and 1 */
  steps?: number;
  warmup?: number;
  /** image features per step; default 16 (the paper's batch) */
  batchSize?: number;
  seed?: number;
}

/** A type (not an interface) so rows pass as plain records to tables. */
export type ScalingRow = {
  ids: number;
  arch: string;
  /** median ms of the timed steps */
  ms: number;
  /** peak resident memory of the process that ran the case (MiB) */
  rssMiB: number;
  /** every timed step, ms */
  runs: number[];
  backend: string;
};

/** n distinct names, one prompt each ("Person 1" … "Person n"; 2–3 BPE tokens, so prompt length barely varies). */
export function scalingNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `Person ${i + 1}`);
}

/** The text tower of `arch` with a toy image tower (the text step never touches it). */
function textOnlyConfig(arch: string) {
  const raw = JSON.parse(readFileSync(archConfigPath(arch, repoRoot), 'utf8')) as Record<string, unknown>;
  const model = ('model_cfg' in raw ? raw.model_cfg : raw) as Record<string, unknown>;
  return parseClipConfig({
    embed_dim: model.embed_dim, quick_gelu: model.quick_gelu ?? false, text_cfg: model.text_cfg,
    vision_cfg: { image_size: 32, layers: [1, 1, 1, 1], width: 8, head_width: 8 },
  }, `${arch} (text tower)`);
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

/** One identity count, in this process. */
export async function measureTextStep(c: ScalingCase): Promise<ScalingRow> {
  const arch = c.arch ?? 'tiny-rn';
  const steps = c.steps ?? 3, warmup = c.warmup ?? 1, batch = c.batchSize ?? 16, seed = c.seed ?? 0;
  if (!Number.isInteger(c.ids) || c.ids < 2) throw new RangeError(`measureTextStep: ids must be an integer ≥ 2, got ${c.ids}`);
  await initTf({ quiet: true });
  const cfg = textOnlyConfig(arch);
  const model = new ClipModel(cfg, randomClipStateDict(cfg, seed));
  try {
    const tokens = ClipTokenizer.load().tokenize(scalingNames(c.ids).map((n) => SCALING_TEMPLATE.replace('{name}', n)), cfg.text.contextLength).tokens;
    const n = batch * (warmup + steps), dim = cfg.embedDim;
    const rng = mulberry32(seed + 1);
    const feats = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      let sq = 0;
      for (let k = 0; k < dim; k++) { const v = rng() - 0.5; feats[i * dim + k] = v; sq += v * v; }
      for (let k = 0; k < dim; k++) feats[i * dim + k]! /= Math.sqrt(sq);
    }
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 7919) % c.ids);
    const { log, stopped } = await finetuneTextTower(model, feats, labels, tokens, {
      epochs: 1, batchSize: batch, weightDecay: 1e-3, betas: [0.9, 0.999], eps: 1e-8, seed,
      schedule: { kind: 'constant', lr: 1e-5 },
    });
    if (stopped) throw new Error(`measureTextStep: training stopped: ${stopped}`);
    const runs = log.slice(warmup).map((l) => Math.round(l.ms));
    return { ids: c.ids, arch, ms: Math.round(median(runs)), rssMiB: Math.round(process.resourceUsage().maxRSS / 1024), runs, backend: backendInfo()?.name ?? 'unknown' };
  } finally {
    model.dispose();
  }
}

function runChild(c: ScalingCase): Promise<ScalingRow> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(c)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`scaling case ${JSON.stringify(c)} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`));
      try { resolve(JSON.parse(out.trim().split('\n').pop()!) as ScalingRow); } catch (e) { reject(e); }
    });
  });
}

export interface ScalingOptions extends Omit<ScalingCase, 'ids'> {
  /** identity counts to measure, e.g. [10, 100, 1000] */
  ids: readonly number[];
  /** each count in a fresh process (true, default: honest peak RSS) or all in this one */
  isolate?: boolean;
  log?: (s: string) => void;
}

/** Time and memory of one text-tower step for each identity count, smallest first. */
export async function measureScaling(o: ScalingOptions): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = [];
  for (const ids of [...o.ids].sort((a, b) => a - b)) {
    const c: ScalingCase = { ids, arch: o.arch, steps: o.steps, warmup: o.warmup, batchSize: o.batchSize, seed: o.seed };
    const r = o.isolate === false ? await measureTextStep(c) : await runChild(c);
    o.log?.(`${r.arch}: ${ids} identities: ${r.ms} ms per step, peak RSS ${r.rssMiB} MiB`);
    rows.push(r);
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const c = JSON.parse(process.argv[2] ?? '{}') as ScalingCase;
  process.stdout.write(`${JSON.stringify(await measureTextStep(c))}\n`);
}
