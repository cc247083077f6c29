/**
 * `npm run bench` / `clipface bench`: issue 7's benchmark. Every case runs in a child process
 * (its own peak RSS), progress goes to stderr, and results/bench/<date>.json is written atomically
 * with the keys others read: textStep.ids10|ids100|ids1000 and textStep77.ids10 → {ms, peakRssMiB},
 * imageEmbed.imagesPerSec, pretrain.pairsPerSec (+ peakRssMiB), demoEndToEndSec, backend, and the same under `pytorch` when
 * `python3 -c 'import torch'` works (same run, same token ids; else `pytorch: null` + the reason).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClipTokenizer } from '../clip/tokenizer.ts';
import { repoRoot } from '../util/paths.ts';
import { writeJsonAtomic } from '../util/fs-atomic.ts';
import { UserError } from '../util/errors.ts';
import { pytorchUnavailable, runPytorchCase } from './pytorch.ts';
import { waitForIdle } from './cpu.ts';
import { benchNames, TEMPLATE } from './workloads.ts';
import { benchCaptions, recipeStepShape } from './pretrain-step.ts';
import { synthDataset } from '../data/synth.ts';
import { evaluateDetection } from '../preprocess/evaluate-detection.ts';

/** PyTorch 1.13 CPU on this kind of box, from the issue text (a reference, not a same-run peer). */
export const ISSUE_ANCHORS = { ids10cutMs: 933, ids10x77Ms: 3190, ids100Ms: 4000, ids1000Ms: 35600, imagesPerSec: 9.75 };

export const CASE_NAMES = ['ids10', 'ids77', 'ids100', 'ids1000', 'image', 'pretrain', 'preprocess', 'negatives', 'demo'] as const;
export type CaseName = (typeof CASE_NAMES)[number];

export interface BenchOptions {
  /** cases to run (default: all; with quick: ids10, ids77, image) */
  only?: CaseName[];
  /** fewer repetitions, and the short case list: about a minute */
  quick?: boolean;
  /** output folder (default results/bench) */
  outDir?: string;
  /** before each case, wait up to this many seconds for other processes to go idle (default 60; quick 0) */
  waitIdleSec?: number;
  log?: (s: string) => void;
}

type Json = Record<string, unknown>;
const here = fileURLToPath(new URL('.', import.meta.url));

function runNode(args: string[], log: (s: string) => void): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', errTail = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { errTail = (errTail + d).slice(-2000); String(d).split('\n').filter(Boolean).forEach(log); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve({ code: 0, stdout }) : reject(new Error(`exit ${code}: ${errTail.trim().split('\n').pop()}`))));
  });
}

let idleWait = 0;

/**
 * The PyTorch peer at 1 and at 2 threads (2 threads oversubscribe a 2-core box for small
 * products, 1 thread leaves a core idle for big ones): the faster one is the peer, both are kept.
 */
function pytorchBest(input: Json, log: (s: string) => void): Json {
  const byThreads: Json = {};
  let best: Json | undefined;
  for (const threads of [1, 2]) {
    const r = runPytorchCase(input, log, threads);
    byThreads[String(threads)] = { ms: r.ms, runs: r.runs };
    if (!best || (r.ms as number) < (best.ms as number)) best = r;
  }
  return { ...best!, byThreads };
}

async function child(c: Json, log: (s: string) => void): Promise<Json> {
  const busyBefore = idleWait > 0 ? await waitForIdle(idleWait, 0.25, log) : null;
  const { stdout } = await runNode([join(here, 'child.ts'), JSON.stringify(c)], log);
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Json;
  return busyBefore === null ? r : { ...r, busyCoresBefore: Number(busyBefore.toFixed(2)) };
}

function textCase(name: CaseName, quick: boolean): Json {
  const ids = name === 'ids100' ? 100 : name === 'ids1000' ? 1000 : 10;
  const steps = quick ? (ids >= 100 ? 1 : 2) : ids >= 1000 ? 2 : name === 'ids77' ? 3 : 5;
  // two warm-up steps: the first ones grow the wasm heap (a copy each time) and plan ORT shapes
  return { kind: 'text', ids, context: name === 'ids77' ? '77' : 'cut', steps, warmup: ids >= 1000 ? 1 : 2 };
}

export async function runBench(opts: BenchOptions = {}): Promise<string> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const quick = opts.quick ?? false;
  idleWait = opts.waitIdleSec ?? (quick ? 0 : 60);
  const cases = opts.only?.length ? opts.only : quick ? (['ids10', 'ids77', 'image'] as CaseName[]) : [...CASE_NAMES];
  for (const c of cases) if (!CASE_NAMES.includes(c)) throw new UserError(`bench: unknown case "${c}" (cases: ${CASE_NAMES.join(', ')})`);
  const noTorch = pytorchUnavailable();
  const notes: string[] = [];
  const out: Json = { createdAt: new Date().toISOString(), machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version }, quick };
  const torch: Json = {};
  const textStep: Json = {}, textStep77: Json = {};
  const failed = (name: string, e: unknown) => { notes.push(`${name} failed: ${(e as Error).message}`); log(`bench: ${name} failed: ${(e as Error).message}`); return null; };

  for (const name of cases.filter((c) => c.startsWith('ids'))) {
    const c = textCase(name, quick);
    const target = name === 'ids77' ? textStep77 : textStep;
    const key = name === 'ids77' ? 'ids10' : name;
    log(`bench: text step, ${c.ids} identities${name === 'ids77' ? ', 77-token prompts (no savings)' : ''}`);
    target[key] = await child(c, log).catch((e) => failed(name, e));
    out.backend ??= (target[key] as Json | null)?.backend;
    if (!noTorch) {
      const tokens = ClipTokenizer.load().tokenize(benchNames(c.ids as number).map((n) => TEMPLATE.replace('{name}', n))).tokens.map((t) => [...t]);
      const labels = Array.from({ length: 16 }, (_, i) => (i * 7919) % (c.ids as number));
      try {
        const r = pytorchBest({ case: 'text', tokens, labels, context: c.context, steps: c.steps, warmup: c.warmup }, log);
        ((torch[name === 'ids77' ? 'textStep77' : 'textStep'] ??= {}) as Json)[key] = r;
      } catch (e) { failed(`pytorch ${name}`, e); }
    }
  }
  out.textStep = textStep;
  out.textStep77 = textStep77;
  if (cases.includes('image')) {
    log('bench: RN50 image embedding, batch 16');
    out.imageEmbed = await child({ kind: 'image', batch: 16, reps: quick ? 1 : 3, runtime: 'auto', compareTfjs: !quick }, log).catch((e) => failed('image', e));
    out.backend ??= (out.imageEmbed as Json | null)?.backend;
    if (!noTorch) {
      try { torch.imageEmbed = pytorchBest({ case: 'image', batch: 16, reps: quick ? 1 : 3 }, log); } catch (e) { failed('pytorch image', e); }
    }
  }
  if (cases.includes('pretrain')) {
    const c = { kind: 'pretrain', pairs: 64, steps: quick ? 2 : 5, warmup: 2, ...recipeStepShape() };
    log(`bench: one pretraining step of the teaching CLIP (both towers, 64 pairs, ${c.negatives} hard negatives, photo term ×${c.photoPairWeight})`);
    out.pretrain = await child(c, log).catch((e) => failed('pretrain', e));
    out.backend ??= (out.pretrain as Json | null)?.backend;
    if (!noTorch) {
      const arch = JSON.parse(readFileSync(join(repoRoot, 'models', 'configs', 'teaching-vit.json'), 'utf8')) as Json;
      try {
        torch.pretrain = pytorchBest({ case: 'pretrain', tokens: benchCaptions(2 * c.pairs + c.negatives).map((t) => [...t, ...new Array(77 - t.length).fill(0)]), photos: 2 * c.pairs, photo_weight: c.photoPairWeight, steps: c.steps, warmup: c.warmup,
          embed_dim: arch.embed_dim, vision: arch.vision_cfg, text: arch.text_cfg }, log);
      } catch (e) { failed('pytorch pretrain', e); }
    }
  }
  if (cases.includes('preprocess')) out.preprocess = await preprocessCase(quick, log).catch((e) => failed('preprocess', e));
  if (cases.includes('negatives')) {
    log('bench: accuracy cost of sampled negatives (an approximation)');
    out.approximations = { sampledNegatives: await child({ kind: 'negatives', quick }, log).catch((e) => failed('negatives', e)) };
  }
  out.demoEndToEndSec = null;
  if (cases.includes('demo')) out.demoEndToEndSec = await demo(log, notes);
  out.backend ??= null;
  out.pytorch = noTorch ? null : torch;
  if (noTorch) out.pytorchUnavailable = noTorch;
  if (noTorch) notes.push(`pytorch: null: ${noTorch}; compare with the issue's anchors (PyTorch 1.13, 2 threads, same kind of box) in vsIssueAnchors`);
  else out.ratios = ratios(out, torch);
  out.vsIssueAnchors = vsAnchors(out);
  out.notes = notes;
  const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, '');
  const path = join(opts.outDir ?? join(repoRoot, 'results', 'bench'), `${stamp}.json`);
  writeJsonAtomic(path, out);
  return path;
}

/**
 * Face preprocessing speed and quality (issue 3): the union detector on a fresh synthetic set
 * (seed 1; 12 people × 10 photos, or × 30 without --quick), against its exact 5 points.
 */
async function preprocessCase(quick: boolean, log: (s: string) => void): Promise<Json> {
  const tmp = mkdtempSync(join(tmpdir(), 'clipface-bench-prep-'));
  try {
    log('bench: face detection + 5 points (union) on a synthetic set');
    await synthDataset(join(tmp, 'data'), { seed: 1, identities: 10, unknown: 2, perIdentity: quick ? 10 : 30, deployFrames: 0 });
    const r = (await evaluateDetection({ dataset: join(tmp, 'data'), detectors: ['union'] })).results[0]!;
    return { detector: 'union', images: r.images, imagesPerSec: r.imagesPerSecond, detectionRate: r.detectionRate, nmeMedian: r.nme.median, seconds: r.seconds };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `clipface run experiments/demo.json` at RN50 size (the issue's end-to-end), timed, into a temp results folder. */
async function demo(log: (s: string) => void, notes: string[]): Promise<number | null> {
  const file = join(repoRoot, 'experiments', 'demo.json');
  if (!existsSync(file)) { notes.push('demoEndToEndSec: null: experiments/demo.json does not exist'); return null; }
  const tmp = mkdtempSync(join(tmpdir(), 'clipface-bench-'));
  if (idleWait > 0) await waitForIdle(idleWait, 0.25, log);
  log('bench: clipface run experiments/demo.json --set model.random=true --set model.randomInit.arch=RN50');
  const t0 = performance.now();
  try {
    await runNode([join(repoRoot, 'lib', 'cli', 'main.ts'), 'run', file, '--set', 'model.random=true', '--set', 'model.randomInit.arch=RN50', '--set', `output.resultsDir=${tmp}`,
      '--set', `preprocess.cacheDir=${join(tmp, 'cache')}`, '--quiet'], log);
    notes.push('demoEndToEndSec: experiments/demo.json with model.random=true, model.randomInit.arch=RN50 (RN50-sized random weights), cold crop and embedding caches, results in a temp folder; the dataset as found (synthesised once if absent)');
    return Math.round((performance.now() - t0) / 100) / 10;
  } catch (e) {
    notes.push(`demoEndToEndSec: null: the demo run failed (${(e as Error).message})`);
    return null;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const get = (o: unknown, ...path: string[]): number | undefined => {
  let x: unknown = o;
  for (const k of path) x = (x as Json | null | undefined)?.[k];
  return typeof x === 'number' ? x : undefined;
};
const ratio = (a?: number, b?: number) => (a !== undefined && b ? Number((a / b).toFixed(3)) : null);

/** ours / PyTorch (time: < 1 is faster; images/s: > 1 is faster) */
function ratios(out: Json, torch: Json): Json {
  return {
    'textStep.ids10': ratio(get(out, 'textStep', 'ids10', 'ms'), get(torch, 'textStep', 'ids10', 'ms')),
    'textStep.ids10 vs pytorch 77-token': ratio(get(out, 'textStep', 'ids10', 'ms'), get(torch, 'textStep77', 'ids10', 'ms')),
    'textStep.ids100': ratio(get(out, 'textStep', 'ids100', 'ms'), get(torch, 'textStep', 'ids100', 'ms')),
    'textStep.ids1000': ratio(get(out, 'textStep', 'ids1000', 'ms'), get(torch, 'textStep', 'ids1000', 'ms')),
    'textStep77.ids10': ratio(get(out, 'textStep77', 'ids10', 'ms'), get(torch, 'textStep77', 'ids10', 'ms')),
    'imageEmbed.imagesPerSec': ratio(get(out, 'imageEmbed', 'imagesPerSec'), get(torch, 'imageEmbed', 'imagesPerSec')),
    'pretrain.pairsPerSec': ratio(get(out, 'pretrain', 'pairsPerSec'), get(torch, 'pretrain', 'pairsPerSec')),
  };
}

/** The issue's "must show" checks against its PyTorch anchors (not a same-run comparison). */
function vsAnchors(out: Json): Json {
  const a = ISSUE_ANCHORS;
  const ms = (k: string) => get(out, 'textStep', k, 'ms');
  const chk = (v: number | undefined, limit: number) => (v === undefined ? null : { value: v, limit, ok: v <= limit });
  const img = get(out, 'imageEmbed', 'imagesPerSec');
  return {
    'ids10 <= pytorch 77-token / 3': chk(ms('ids10'), Math.round(a.ids10x77Ms / 3)),
    'ids10 <= pytorch EOT-cut': chk(ms('ids10'), a.ids10cutMs),
    'ids100 <= 0.5 x pytorch': chk(ms('ids100'), a.ids100Ms * 0.5),
    'ids1000 <= 0.3 x pytorch': chk(ms('ids1000'), Math.round(a.ids1000Ms * 0.3)),
    'ids1000 peak RSS <= 2 GiB': chk(get(out, 'textStep', 'ids1000', 'peakRssMiB'), 2048),
    'imageEmbed >= 2 x pytorch': img === undefined ? null : { value: img, limit: a.imagesPerSec * 2, ok: img >= a.imagesPerSec * 2 },
    'demo < 5 min': chk(get(out, 'demoEndToEndSec'), 300),
  };
}
