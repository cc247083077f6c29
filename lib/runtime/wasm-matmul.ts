/**
 * tfjs-backend-wasm's BatchMatMul, re-registered (PERF-NOTES Q1 "wasm-matmul-fix"). The stock
 * kernel takes XNNPACK only for an un-transposed batch-1 product; every aᵀb / abᵀ (all of the
 * backward pass) and every batched product (attention) runs a naive single-threaded loop at
 * 0.5–2 GFLOPS. Two exact rewrites, chosen per call:
 * - 'ort': the product runs in onnxruntime's MLAS (com.microsoft FusedMatMul, transposes and
 *   batch broadcasting native, intra-op threads = cores), reading the operands straight from the
 *   wasm heap and writing into the output tensor's heap memory (PERF-NOTES: ~3× wasm's FLOPS);
 * - 'xnn': transposes materialised with the wasm Transpose kernel, [B,m,k]·[k,n] folded into one
 *   2-D call, other batches as a loop of batch-1 XNNPACK calls on zero-copy tensor-id views.
 * The XNNPACK operator cache packs a copy of `b` per tensor id until it is disposed: right for
 * frozen weights, a leak during training (PERF-NOTES Q2), so `b` gets a throw-away id unless
 * `cacheWeights`. Results differ from the stock kernel by summation order only (test/perf-kernels).
 */
import type { tf as TfNamespace } from './tf.ts';
import { OnnxGraph } from './onnx-build.ts';
import { createSyncOrtSession, type SyncOrtSession } from './ort.ts';

type Tf = typeof TfNamespace;
type Info = { dataId: object; shape: number[]; dtype: string };
interface WasmBackend {
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void;
    HEAPU8: Uint8Array;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: string): Info;
  disposeData(dataId: object): void;
}
type KernelArgs = { inputs: { a: Info; b: Info }; backend: WasmBackend; attrs: { transposeA: boolean; transposeB: boolean } };

export type MatMulRoute = 'ort' | 'xnn';

export interface WasmMatMulOptions {
  route: MatMulRoute;
  /** keep XNNPACK's packed copy of `b` (frozen inference only) */
  cacheWeights?: boolean;
  /** ORT intra-op threads (default: every core) */
  threads?: number;
  /**
   * products under this many FLOPs run on one thread (default 3e7): waking the pool costs more
   * than it saves there, and far more when another process holds a core (the straggler waits a
   * scheduler slice: PERF-NOTES, "slower when another process holds a core")
   */
  parallelMinFlops?: number;
}

export interface WasmMatMulFix {
  route: MatMulRoute;
  /** calls per route (and 'stock' for shapes handed back to the original kernel) */
  calls: Record<MatMulRoute | 'stock', number>;
  uninstall(): void;
}

const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
const bytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);

/** Shapes of a product, or undefined for outer-dim broadcasting other than "one side is 1". */
function plan(a: number[], b: number[], tA: boolean, tB: boolean) {
  const ra = a.length, rb = b.length;
  const m = tA ? a[ra - 1]! : a[ra - 2]!, k = tA ? a[ra - 2]! : a[ra - 1]!;
  const n = tB ? b[rb - 2]! : b[rb - 1]!;
  const outerA = a.slice(0, -2), outerB = b.slice(0, -2);
  const batchA = size(outerA), batchB = size(outerB);
  const same = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!same && batchA !== 1 && batchB !== 1) return undefined;
  const outer = batchA >= batchB ? outerA : outerB;
  return { m, k, n, batchA, batchB, batch: Math.max(batchA, batchB), outShape: [...outer, m, n] };
}

export function installWasmMatMul(tf: Tf, opts: WasmMatMulOptions): WasmMatMulFix {
  const backend = tf.findBackend('wasm') as unknown as WasmBackend;
  const stock = tf.getKernel('BatchMatMul', 'wasm')!;
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc as unknown as (a: object) => Info;
  const raw = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
  const calls = { ort: 0, xnn: 0, stock: 0 };
  const sessions = new Map<string, SyncOrtSession | undefined>();

  const f32 = (info: Info, n: number) => new Float32Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(info.dataId).memoryOffset, n);

  function ortSession(tA: boolean, tB: boolean, rankA: number, rankB: number, single = false): SyncOrtSession | undefined {
    const key = `${+tA}${+tB}${rankA}${rankB}${single ? 's' : 'p'}`;
    if (!sessions.has(key)) {
      const g = new OnnxGraph('matmul');
      const dims = (p: string, r: number) => Array.from({ length: r }, (_, i) => `${p}${i}`);
      g.input('a', dims('a', rankA));
      g.input('b', dims('b', rankB));
      g.op('FusedMatMul', ['a', 'b'], { transA: +tA, transB: +tB, alpha: { float: 1 } }, { domain: 'com.microsoft', output: 'y' });
      g.output('y', dims('y', Math.max(rankA, rankB)));
      sessions.set(key, createSyncOrtSession(g.encode(), { threads: single ? 1 : opts.threads }));
    }
    return sessions.get(key);
  }

  function viaOrt(a: Info, b: Info, tA: boolean, tB: boolean, p: NonNullable<ReturnType<typeof plan>>, out: Info): boolean {
    const { m, k, n, batchA, batchB } = p;
    // fold [B,m,k]·[k,n] into one [B·m,k]·[k,n] (one MLAS GEMM); otherwise 3-D with broadcasting
    const fold = batchB === 1 && !tA;
    const aDims = fold ? [batchA * m, k] : tA ? [batchA, k, m] : [batchA, m, k];
    const bDims = batchB === 1 ? (tB ? [n, k] : [k, n]) : tB ? [batchB, n, k] : [batchB, k, n];
    const yDims = fold ? [batchA * m, n] : [p.batch, m, n];
    const s = ortSession(tA, tB, aDims.length, bDims.length, 2 * p.batch * m * k * n < (opts.parallelMinFlops ?? 3e7));
    if (!s) return false;
    s.run({ a: { data: f32(a, size(aDims)), dims: aDims }, b: { data: f32(b, size(bDims)), dims: bDims } }, { y: { data: f32(out, size(yDims)), dims: yDims } });
    return true;
  }

  function viaXnn(a: Info, b: Info, tA: boolean, tB: boolean, p: NonNullable<ReturnType<typeof plan>>, out: Info): void {
    const { m, k, n, batchA, batchB, batch } = p;
    const temps: Info[] = [];
    const materialise = (x: Info, bt: number, r: number, c: number) => {
      const t = transpose({ inputs: { x: { ...x, shape: [bt, r, c] } }, backend, attrs: { perm: [0, 2, 1] } });
      temps.push(t);
      return t;
    };
    const A = tA ? materialise(a, batchA, k, m) : a; // now [batchA, m, k]
    const B = tB ? materialise(b, batchB, n, k) : b; // now [batchB, k, n]
    const off = (x: Info) => backend.dataIdMap.get(x.dataId).memoryOffset;
    const view = (x: Info, i: number, len: number) => {
      const id = backend.dataIdNextNumber++;
      backend.wasm.tfjs.registerTensor(id, len, off(x) + i * len * 4);
      return id;
    };
    const realId = (x: Info) => backend.dataIdMap.get(x.dataId).id;
    if (batchB === 1) {
      const ib = opts.cacheWeights && !tB ? realId(B) : view(B, 0, k * n);
      raw(realId(A), bytes([1, batchA * m, k]), 3, ib, bytes([1, k, n]), 3, 0, 0, realId(out));
      if (ib !== realId(B)) backend.wasm.tfjs.disposeData(ib);
    } else {
      for (let i = 0; i < batch; i++) {
        const ia = view(A, batchA === 1 ? 0 : i, m * k), ib = view(B, i, k * n), io = view(out, i, m * n);
        raw(ia, bytes([1, m, k]), 3, ib, bytes([1, k, n]), 3, 0, 0, io);
        for (const id of [ia, ib, io]) backend.wasm.tfjs.disposeData(id); // C++ registry only: the memory stays
      }
    }
    for (const t of temps) backend.disposeData(t.dataId);
  }

  const kernelFunc = (args: KernelArgs): Info => {
    const { a, b } = args.inputs;
    const { transposeA: tA, transposeB: tB } = args.attrs;
    const p = plan(a.shape, b.shape, tA, tB);
    if (!p || a.dtype !== 'float32' || b.dtype !== 'float32') {
      calls.stock++;
      return stock.kernelFunc(args as never) as unknown as Info;
    }
    const out = backend.makeOutput(p.outShape, 'float32');
    const total = size(p.outShape);
    if (total === 0) return out;
    if (p.k === 0) {
      f32(out, total).fill(0);
      return out;
    }
    if (route === 'ort' && viaOrt(a, b, tA, tB, p, out)) calls.ort++;
    else { viaXnn(a, b, tA, tB, p, out); calls.xnn++; }
    return out;
  };

  // onnxruntime-node missing or unloadable: XNNPACK only
  const route: MatMulRoute = opts.route === 'ort' && ortSession(false, false, 2, 2) ? 'ort' : 'xnn';
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: kernelFunc as never });
  return {
    route,
    calls,
    uninstall() {
      tf.unregisterKernel('BatchMatMul', 'wasm');
      tf.registerKernel(stock);
      for (const s of sessions.values()) s?.release();
      sessions.clear();
    },
  };
}
