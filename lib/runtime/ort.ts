/**
 * The one file that imports onnxruntime-node (transformers.js keeps the same rule in
 * `backends/onnx.js`). Everything else gets sessions and plain typed arrays from here.
 *
 * The native addon is loaded lazily, on the first session, so commands that never touch an ONNX
 * model do not pay for it (and still work where the addon cannot load).
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../util/errors.ts';

type Ort = typeof import('onnxruntime-node');
let ortPromise: Promise<Ort> | undefined;

async function ort(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => ((m as { default?: Ort }).default ?? m) as Ort).catch((e: unknown) => {
    ortPromise = undefined;
    throw new UserError(`onnxruntime-node could not be loaded (${(e as Error).message.split('\n')[0]}); reinstall with "npm ci"`);
  });
  return ortPromise;
}

export interface OrtIO {
  name: string;
  /** dimensions, with strings for symbolic ones (e.g. "batch"); undefined when the model does not say */
  shape?: (number | string)[];
}

/** A loaded model: run it with named float32 inputs, get named outputs back as plain arrays. */
export interface OrtSession {
  path: string;
  inputs: OrtIO[];
  outputs: OrtIO[];
  run(feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, { data: Float32Array; dims: number[] }>>;
  release(): Promise<void>;
}

export interface OrtSessionOptions {
  /** intra-op threads; default: onnxruntime's choice (all cores) */
  threads?: number;
}

/** Open an ONNX file on the CPU execution provider; a missing or invalid file is a UserError. */
export async function createOrtSession(path: string, opts: OrtSessionOptions = {}): Promise<OrtSession> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UserError(`ONNX model not found: ${path}`);
  const o = await ort();
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await o.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    });
  } catch (e) {
    throw new UserError(`${path}: onnxruntime could not load the model (${(e as Error).message.split('\n')[0]})`);
  }
  const meta = (names: readonly string[], md: readonly unknown[] | undefined): OrtIO[] =>
    names.map((name, i) => {
      const m = md?.[i] as { shape?: (number | string)[] } | undefined;
      return { name, shape: m?.shape };
    });
  const s = session as unknown as { inputMetadata?: unknown[]; outputMetadata?: unknown[] };
  return {
    path,
    inputs: meta(session.inputNames, s.inputMetadata),
    outputs: meta(session.outputNames, s.outputMetadata),
    async run(feeds) {
      const t: Record<string, import('onnxruntime-node').Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) t[k] = new o.Tensor('float32', v.data, v.dims);
      const out = await session.run(t);
      const res: Record<string, { data: Float32Array; dims: number[] }> = {};
      for (const [k, v] of Object.entries(out)) {
        if (v.type !== 'float32') throw new UserError(`${path}: output "${k}" is ${v.type}, expected float32`);
        res[k] = { data: v.data as Float32Array, dims: [...v.dims] };
      }
      return res;
    },
    release: () => session.release(),
  };
}

// ------------------------------------------------------------------ synchronous sessions (kernels)

/**
 * A session run synchronously on the native binding. The public InferenceSession.run is a promise
 * (it defers the same synchronous native call with setImmediate); tfjs kernels cannot await, so
 * wasm-matmul.ts uses this. Outputs are written into the caller's buffers (preallocated fetches).
 */
export interface SyncOrtSession {
  run(
    feeds: Record<string, { data: Float32Array; dims: number[] }>,
    outputs: Record<string, { data: Float32Array; dims: number[] }>,
  ): void;
  release(): void;
}

export interface SyncOrtOptions {
  /** intra-op threads (default: every core) */
  threads?: number;
  /** let idle pool threads spin between runs (ORT's default). Off by default: spinning threads
   *  cost 5× when another process holds a core, and leave the core to wasm's single thread */
  spinning?: boolean;
}

type NativeSession = {
  loadModel(buf: ArrayBuffer, off: number, len: number, opts: object): void;
  run(feeds: object, fetches: object, opts: object): unknown;
  dispose(): void;
};
let nativeBinding: { binding: { InferenceSession: new () => NativeSession }; Tensor: new (t: string, d: Float32Array, dims: number[]) => object } | null | undefined;

function loadNative() {
  if (nativeBinding !== undefined) return nativeBinding;
  try {
    const req = createRequire(import.meta.url);
    const main = req.resolve('onnxruntime-node');
    const { binding, initOrt } = req(join(dirname(main), 'binding.js'));
    initOrt();
    nativeBinding = { binding, Tensor: req('onnxruntime-node').Tensor };
  } catch {
    nativeBinding = null;
  }
  return nativeBinding;
}

/** undefined when onnxruntime-node cannot load here (callers fall back to tfjs kernels). */
export function createSyncOrtSession(model: Uint8Array, opts: SyncOrtOptions = {}): SyncOrtSession | undefined {
  const nb = loadNative();
  if (!nb) return undefined;
  const s = new nb.binding.InferenceSession();
  s.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
    intraOpNumThreads: opts.threads ?? availableParallelism(), interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: opts.spinning ? '1' : '0' } } },
  });
  const tensors = (m: Record<string, { data: Float32Array; dims: number[] }>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, new nb.Tensor('float32', v.data, v.dims)]));
  return {
    run(feeds, outputs) {
      s.run(tensors(feeds), tensors(outputs), {});
    },
    release: () => s.dispose(),
  };
}
