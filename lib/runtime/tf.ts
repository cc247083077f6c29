/**
 * The one file that imports TensorFlow.js (transformers.js's "one file imports each runtime").
 *
 * Backend order: tfjs-node-gpu → tfjs-node → wasm → cpu. The native packages are
 * optionalDependencies: their install downloads libtensorflow, which fails on machines that only
 * reach the npm registry, so they are loaded only if present. `CLIPFACE_BACKEND` (one of
 * `tensorflow-gpu | tensorflow | wasm | cpu`, or `node-gpu | node`) forces a choice. The chosen
 * backend is printed once on stderr and returned for env.json.
 *
 * wasm: loaded from the package's own dist/ folder with fs (no network, see PERF-NOTES Q5);
 * `setBackend` returns false rather than throwing when the .wasm is missing, so we check it.
 * On wasm, BatchMatMul is replaced by an exact, 10–100× faster kernel (wasm-matmul.ts, PERF-NOTES
 * Q1): `CLIPFACE_WASM_MATMUL=ort` (default; onnxruntime's MLAS), `xnn` (XNNPACK only) or `stock`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { UserError } from '../util/errors.ts';
import { installWasmMatMul, type WasmMatMulFix } from './wasm-matmul.ts';
import { installWasmCopyKernels } from './wasm-copy.ts';

export { tf };
export type Tensor = tf.Tensor;

export interface BackendInfo {
  /** tfjs backend name: 'tensorflow' (tfjs-node or -gpu), 'wasm' or 'cpu' */
  name: string;
  /** which package supplied it */
  package: string;
  /** why this one (forced by env, or the first that loaded) */
  reason: string;
  tfjsVersion: string;
  /** kernel replacements in force (wasm: the BatchMatMul route) */
  kernels?: string;
}

let chosen: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

const require = createRequire(import.meta.url);

function tryRequire(name: string): boolean {
  try {
    require(name);
    return true;
  } catch {
    return false;
  }
}

const ALIASES: Record<string, string> = {
  'node-gpu': 'tensorflow-gpu', gpu: 'tensorflow-gpu', 'tensorflow-gpu': 'tensorflow-gpu',
  node: 'tensorflow', tensorflow: 'tensorflow', wasm: 'wasm', cpu: 'cpu',
};

async function select(): Promise<BackendInfo> {
  const forcedRaw = process.env.CLIPFACE_BACKEND?.trim().toLowerCase();
  const forced = forcedRaw ? ALIASES[forcedRaw] : undefined;
  if (forcedRaw && !forced) {
    throw new UserError(`CLIPFACE_BACKEND="${forcedRaw}" is not a backend; use one of tensorflow-gpu, tensorflow, wasm, cpu`);
  }
  const candidates = forced ? [forced] : ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  const reason = forced ? `forced by CLIPFACE_BACKEND=${forcedRaw}` : 'first available of tfjs-node-gpu → tfjs-node → wasm → cpu';
  for (const c of candidates) {
    if (c === 'tensorflow-gpu' || c === 'tensorflow') {
      const pkg = c === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      if (!tryRequire(pkg)) {
        if (forced) throw new UserError(`CLIPFACE_BACKEND=${forcedRaw} but ${pkg} is not installed (its install downloads libtensorflow; see README "GPU")`);
        continue;
      }
      if (await tf.setBackend('tensorflow')) return { name: 'tensorflow', package: pkg, reason, tfjsVersion: tf.version.tfjs };
    } else if (await tf.setBackend(c)) {
      const pkg = c === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu';
      return { name: c, package: pkg, reason, tfjsVersion: tf.version.tfjs };
    } else if (forced) {
      throw new UserError(`CLIPFACE_BACKEND=${forcedRaw}: tfjs could not initialise the ${c} backend`);
    }
  }
  throw new UserError('no TensorFlow.js backend could be initialised (tried tfjs-node-gpu, tfjs-node, wasm, cpu)');
}

/** Pick and initialise the backend once; later calls return the same answer. */
export async function initTf(opts: { quiet?: boolean } = {}): Promise<BackendInfo> {
  if (chosen) return chosen;
  pending ??= select().then(async (info) => {
    await tf.ready();
    if (info.name === 'wasm') info.kernels = installWasmKernels();
    chosen = info;
    if (!opts.quiet && !process.env.CLIPFACE_QUIET) console.error(`clipface: tfjs backend ${info.name} (${info.package}; ${info.reason}${info.kernels ? `; ${info.kernels}` : ''})`);
    return info;
  });
  return pending;
}

export function backendInfo(): BackendInfo | undefined {
  return chosen;
}

let matmulFix: WasmMatMulFix | undefined;

/**
 * The wasm kernel replacements: BatchMatMul (PERF-NOTES Q1; CLIPFACE_WASM_MATMUL=stock opts out)
 * and Slice/GatherV2/Identity (wasm-copy.ts; CLIPFACE_WASM_COPY=stock opts out).
 */
function installWasmKernels(): string {
  const copy = process.env.CLIPFACE_WASM_COPY?.trim().toLowerCase() === 'stock' ? 'stock' : 'heap views';
  if (copy !== 'stock') installWasmCopyKernels(tf);
  return `${setWasmMatMul((process.env.CLIPFACE_WASM_MATMUL ?? 'ort').trim().toLowerCase())}; Slice/GatherV2/Identity: ${copy}`;
}

/**
 * Switch the wasm BatchMatMul route at run time ('ort' | 'xnn' | 'stock'): for tests and the
 * bench, which compare routes in one process. Returns the description recorded in BackendInfo.
 */
export function setWasmMatMul(mode: string): string {
  if (mode !== 'ort' && mode !== 'xnn' && mode !== 'stock') throw new UserError(`CLIPFACE_WASM_MATMUL="${mode}" is not a route; use ort, xnn or stock`);
  if (tf.getBackend() !== 'wasm') return `BatchMatMul: ${tf.getBackend()} backend's own`;
  matmulFix?.uninstall();
  matmulFix = undefined;
  let desc = 'BatchMatMul: stock';
  if (mode !== 'stock') {
    const threads = Number(process.env.CLIPFACE_ORT_THREADS) || undefined;
    matmulFix = installWasmMatMul(tf, { route: mode, threads });
    desc = `BatchMatMul: ${matmulFix.route}${matmulFix.route !== mode ? ` (${mode} unavailable)` : ''}`;
  }
  if (chosen) chosen.kernels = chosen.kernels?.replace(/^BatchMatMul: [^;]*/, desc) ?? desc;
  return desc;
}

/** Calls per BatchMatMul route since it was installed (undefined: the stock kernel is in force). */
export function matmulRouteCounts(): Record<string, number> | undefined {
  return matmulFix ? { ...matmulFix.calls } : undefined;
}
