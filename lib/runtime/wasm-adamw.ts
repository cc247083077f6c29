/**
 * One AdamW update of a parameter as a single pass of wasm SIMD over the tfjs-wasm heap
 * (PERF-NOTES Q2 "in-place Adam": tfjs runs the update as ~14 elementwise ops, each a pass over
 * 38 M floats, ~0.2 s per step at CLIP size; one fused f32x4 loop is memory-bound and ~3× faster).
 * The function is assembled here, byte by byte (20 instructions, no toolchain), and imports the
 * backend's own WebAssembly.Memory, so it reads p, g, m, v where tfjs keeps them. The new
 * parameter goes to a fresh tensor (a tfjs kernel output): no tensor is ever mutated, so no cached
 * XNNPACK packing of an old value can go stale. Same float32 arithmetic as the tfjs ops path.
 */
import type { tf as TfNamespace } from './tf.ts';

type Tf = typeof TfNamespace;
type Info = { dataId: object; shape: number[]; dtype: string };
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array; asm: { memory: WebAssembly.Memory }; _malloc(n: number): number; _free(p: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: string): Info;
}

const leb = (n: number): number[] => { const out: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const str = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const simd = (op: number) => [0xfd, ...leb(op)];
const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

/** adamw(p, g, m, v, out, n4, β₁, 1−β₁, β₂, 1−β₂, decay, stepSize, √(1−β₂ᵗ), eps): n4 groups of 4 floats. */
function assemble(): Uint8Array {
  const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i];
  const [P, G, M, V, O, N] = [0, 1, 2, 3, 4, 5]; // i32 params; f32 params 6..13
  const I = 14, GV = 15, MV = 16, VV = 17, S = (k: number) => 18 + k; // locals: $i, 3 vectors, 8 splats
  const addr = (base: number) => [...get(base), ...get(I), 0x41, 4, 0x74, 0x6a]; // base + (i << 4)
  const load = (base: number) => [...addr(base), ...simd(0x00), 2, 0];
  const [add, sub, mul, div, sqrt] = [0xe4, 0xe5, 0xe6, 0xe7, 0xe3].map(simd) as [number[], number[], number[], number[], number[]];
  const body = [
    ...Array.from({ length: 8 }, (_, k) => [...get(6 + k), ...simd(0x13), ...set(S(k))]).flat(), // f32x4.splat
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(I), ...get(N), 0x4f, 0x0d, 1, // i >= n4 → break
    ...load(G), ...set(GV),
    ...load(M), ...get(S(0)), ...mul, ...get(GV), ...get(S(1)), ...mul, ...add, ...set(MV), // m = β₁m + (1−β₁)g
    ...load(V), ...get(S(2)), ...mul, ...get(GV), ...get(GV), ...mul, ...get(S(3)), ...mul, ...add, ...set(VV), // v = β₂v + (1−β₂)g²
    ...addr(M), ...get(MV), ...simd(0x0b), 2, 0,
    ...addr(V), ...get(VV), ...simd(0x0b), 2, 0,
    ...addr(O), // out = p·decay − stepSize · m / (√v / √(1−β₂ᵗ) + ε)
    ...load(P), ...get(S(4)), ...mul,
    ...get(MV), ...get(VV), ...sqrt, ...get(S(6)), ...div, ...get(S(7)), ...add, ...div, ...get(S(5)), ...mul, ...sub,
    ...simd(0x0b), 2, 0,
    ...get(I), 0x41, 1, 0x6a, ...set(I), 0x0c, 0, // i++, continue
    0x0b, 0x0b, 0x0b, // end loop, end block, end func
  ];
  const locals = [2, 1, I32, 11, V128];
  const code = [...leb(locals.length + body.length), ...locals, ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 14, ...Array(6).fill(I32), ...Array(8).fill(F32), 0]),
    ...section(2, [1, ...str('env'), ...str('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str('adamw'), 0x00, 0]),
    ...section(10, [1, ...code]),
  ]);
}

export interface AdamWScalars { beta1: number; beta2: number; eps: number; decay: number; stepSize: number; sqrtBc2: number }

export interface WasmAdamW {
  /** zeroed heap buffer of n floats (a moment); free with free() */
  alloc(n: number): number;
  free(ptr: number): void;
  /** the moment buffer as a view (valid until the heap grows) */
  view(ptr: number, n: number): Float32Array;
  /** updates m, v in place; returns the new parameter tensor */
  step(p: TfNamespace.Tensor, g: TfNamespace.Tensor, m: number, v: number, s: AdamWScalars): TfNamespace.Tensor;
}

/** undefined when the backend is not wasm or this runtime lacks wasm SIMD. */
export function createWasmAdamW(tf: Tf): WasmAdamW | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as WasmBackend;
  const bytes = assemble();
  if (!backend.wasm.asm?.memory || !WebAssembly.validate(bytes)) return undefined;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: backend.wasm.asm.memory } });
  const fn = inst.exports.adamw as (...a: number[]) => void;
  const heapF32 = (ptr: number, n: number) => new Float32Array(backend.wasm.HEAPU8.buffer, ptr, n);
  if (!tf.getKernel('ClipfaceAdamW', 'wasm')) {
    tf.registerKernel({
      kernelName: 'ClipfaceAdamW', backendName: 'wasm',
      kernelFunc: (({ inputs, attrs }: { inputs: { p: Info; g: Info }; attrs: AdamWScalars & { m: number; v: number } }) => {
        const { p, g } = inputs, a = attrs;
        const n = p.shape.reduce((x, y) => x * y, 1);
        const out = backend.makeOutput(p.shape, 'float32');
        const off = (t: Info) => backend.dataIdMap.get(t.dataId).memoryOffset;
        const n4 = n >>> 2;
        fn(off(p), off(g), a.m, a.v, off(out), n4, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.decay, a.stepSize, a.sqrtBc2, a.eps);
        const f = Math.fround;
        const [P, G, M, V, O] = [off(p), off(g), a.m, a.v, off(out)].map((ptr) => heapF32(ptr, n));
        for (let i = n4 * 4; i < n; i++) { // the last n % 4 floats, in float32 like the SIMD lanes
          M![i] = f(f(M![i]! * f(a.beta1)) + f(G![i]! * f(1 - a.beta1)));
          V![i] = f(f(V![i]! * f(a.beta2)) + f(f(G![i]! * G![i]!) * f(1 - a.beta2)));
          const denom = f(f(f(Math.sqrt(V![i]!)) / f(a.sqrtBc2)) + f(a.eps));
          O![i] = f(f(P![i]! * f(a.decay)) - f(f(M![i]! / denom) * f(a.stepSize)));
        }
        return out;
      }) as never,
    });
  }
  return {
    alloc(n) {
      const ptr = backend.wasm._malloc(n * 4) >>> 0;
      heapF32(ptr, n).fill(0);
      return ptr;
    },
    free: (ptr) => backend.wasm._free(ptr),
    view: heapF32,
    step: (p, g, m, v, s) => tf.engine().runKernel('ClipfaceAdamW', { p, g }, { ...s, m, v } as never) as TfNamespace.Tensor,
  };
}
