/**
 * tfjs-backend-wasm's kernels that only move memory, re-registered to copy heap view to heap view,
 * run by contiguous run (same bytes out):
 * - Slice: the stock kernel starts with `backend.readSync(x)`, a copy of the WHOLE input into a
 *   fresh JS buffer: slicing 9 rows off [765, 512] costs 0.46 ms, and the text tower's per-segment
 *   attention slices ~470 times per chunk (~110 ms of a 1.35 s fwd+bwd on one thread);
 * - GatherV2 (batchDims 0): the stock C++ loop moves one element at a time with index arithmetic,
 *   18 ms to gather 765 rows of the [77, 512] positional table;
 * - Identity (tensor.clone(), which tf.customGrad applies to every saved tensor): the stock kernel
 *   copies; tensors are immutable, so it shares the data with a reference count, as tfjs's cpu
 *   backend does (and as the wasm Reshape already does).
 */
import type { tf as TfNamespace } from './tf.ts';

type Tf = typeof TfNamespace;
type Info = { dataId: object; shape: number[]; dtype: string };
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): Info;
  incRef(dataId: object): void;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
}
type SliceArgs = { inputs: { x: Info }; backend: WasmBackend; attrs: { begin: number | number[]; size: number | number[] } };

export interface WasmCopyFix { calls: number; uninstall(): void }
type GatherArgs = { inputs: { x: Info; indices: Info }; backend: WasmBackend; attrs: { axis: number; batchDims: number } };

export function installWasmCopyKernels(tf: Tf): WasmCopyFix {
  const stock = tf.getKernel('Slice', 'wasm')!;
  const stockGather = tf.getKernel('GatherV2', 'wasm')!;
  const stockIdentity = tf.getKernel('Identity', 'wasm')!;
  const su = tf.slice_util;
  const fix = {
    calls: 0,
    uninstall() {
      for (const k of [stock, stockGather, stockIdentity]) { tf.unregisterKernel(k.kernelName, 'wasm'); tf.registerKernel(k); }
    },
  };
  const kernelFunc = (args: SliceArgs): Info => {
    const { inputs: { x }, attrs, backend } = args;
    if (x.dtype === 'string') return stock.kernelFunc(args as never) as unknown as Info;
    const [begin, size] = su.parseSliceParams(x as never, attrs.begin, attrs.size);
    const out = backend.makeOutput(size, x.dtype);
    const n = size.reduce((a, b) => a * b, 1);
    if (n === 0) return out;
    fix.calls++;
    const xv = backend.typedArrayFromHeap(x), ov = backend.typedArrayFromHeap(out); // after makeOutput: the heap may have grown
    const strides = [...x.shape.slice(1).map((_, i) => x.shape.slice(i + 1).reduce((a, b) => a * b, 1)), 1];
    if (su.isSliceContinous(x.shape, begin, size)) {
      const off = begin.reduce((acc, b, i) => acc + b * strides[i]!, 0);
      ov.set(xv.subarray(off, off + n));
      return out;
    }
    // row by row over the leading dims; each row is a contiguous run of the last dim
    const r = x.shape.length, run = size[r - 1]!, rows = n / run;
    const idx = new Array<number>(r - 1).fill(0);
    for (let row = 0, o = 0; row < rows; row++, o += run) {
      let src = begin[r - 1]!;
      for (let d = 0; d < r - 1; d++) src += (begin[d]! + idx[d]!) * strides[d]!;
      if (run >= 16) ov.set(xv.subarray(src, src + run), o);
      else for (let j = 0; j < run; j++) ov[o + j] = xv[src + j]!;
      for (let d = r - 2; d >= 0; d--) { // next multi-index
        if (++idx[d]! < size[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  };
  const gather = (args: GatherArgs): Info => {
    const { inputs: { x, indices }, attrs, backend } = args;
    if (attrs.batchDims || x.dtype === 'string' || indices.dtype !== 'int32') return stockGather.kernelFunc(args as never) as unknown as Info;
    const axis = attrs.axis < 0 ? attrs.axis + x.shape.length : attrs.axis;
    const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1), dim = x.shape[axis]!;
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
    const xv = backend.typedArrayFromHeap(x), ov = backend.typedArrayFromHeap(out);
    const idx = backend.typedArrayFromHeap(indices) as Int32Array;
    fix.calls++;
    for (let o = 0, w = 0; o < outer; o++) {
      for (let i = 0; i < idx.length; i++, w += inner) {
        const row = idx[i]!;
        if (row < 0 || row >= dim) throw new Error(`GatherV2: index ${row} is not in [0, ${dim - 1}]`);
        const src = (o * dim + row) * inner;
        if (inner >= 16) ov.set(xv.subarray(src, src + inner), w);
        else for (let j = 0; j < inner; j++) ov[w + j] = xv[src + j]!;
      }
    }
    return out;
  };
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({ kernelName: 'Slice', backendName: 'wasm', kernelFunc: kernelFunc as never });
  tf.unregisterKernel('GatherV2', 'wasm');
  tf.registerKernel({ kernelName: 'GatherV2', backendName: 'wasm', kernelFunc: gather as never });
  const identity = (args: { inputs: { x: Info }; backend: WasmBackend }): Info => {
    const { x } = args.inputs;
    if (x.dtype === 'string') return stockIdentity.kernelFunc(args as never) as unknown as Info;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as never });
  return fix;
}
