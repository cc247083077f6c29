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
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { UserError } from '../util/errors.ts';

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
    chosen = info;
    if (!opts.quiet && !process.env.CLIPFACE_QUIET) console.error(`clipface: tfjs backend ${info.name} (${info.package}; ${info.reason})`);
    return info;
  });
  return pending;
}

export function backendInfo(): BackendInfo | undefined {
  return chosen;
}
