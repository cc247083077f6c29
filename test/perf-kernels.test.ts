/**
 * The re-registered wasm BatchMatMul (lib/runtime/wasm-matmul.ts, PERF-NOTES Q1) computes the same
 * products as the stock kernel: random shapes, every transpose combination, batched, broadcast and
 * rank-3·rank-2, on both routes, against a float64 reference; and its gradients match. The fused
 * wasm AdamW (lib/runtime/wasm-adamw.ts) gives the same floats as the op-by-op update.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, matmulRouteCounts, setWasmMatMul, tf } from '../lib/runtime/tf.ts';
import { mulberry32 } from '../lib/util/rng.ts';
import { AdamW } from '../lib/train/adamw.ts';

const info = await initTf({ quiet: true });
const skip = info.name !== 'wasm' ? `backend is ${info.name}, not wasm` : false;

/** float64 reference of matMul(a, b, tA, tB) with batch broadcasting of size-1 outer dims. */
function reference(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): Float64Array {
  const A = a.dataSync(), B = b.dataSync();
  const ra = a.shape.length, rb = b.shape.length;
  const m = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!, k = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const n = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const prod = (s: number[]) => s.reduce((p, q) => p * q, 1);
  const bA = prod(a.shape.slice(0, -2)), bB = prod(b.shape.slice(0, -2)), batch = Math.max(bA, bB);
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const oa = (bA === 1 ? 0 : t) * m * k, ob = (bB === 1 ? 0 : t) * k * n;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += A[oa + (tA ? q * m + i : i * k + q)]! * B[ob + (tB ? j * k + q : q * n + j)]!;
      out[(t * m + i) * n + j] = s;
    }
  }
  return out;
}

const CASES: { a: number[]; b: number[] }[] = [
  { a: [7, 5], b: [5, 9] }, { a: [33, 64], b: [64, 17] }, { a: [3, 6, 5], b: [5, 4] }, { a: [2, 3, 6, 5], b: [2, 3, 5, 4] },
  { a: [4, 6, 5], b: [4, 5, 7] }, { a: [1, 6, 5], b: [3, 5, 7] }, { a: [3, 6, 5], b: [1, 5, 7] }, { a: [2, 1, 5], b: [2, 5, 1] },
  { a: [1, 1], b: [1, 1] }, { a: [5, 0], b: [0, 3] }, { a: [0, 4], b: [4, 3] },
];

for (const route of ['xnn', 'ort'] as const) {
  test(`wasm BatchMatMul, route ${route}: every transpose and batch layout equals the float64 product`, { skip }, () => {
    setWasmMatMul(route);
    const rng = mulberry32(11);
    const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng() * 2 - 1), shape);
    const swap = (s: number[]) => [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!];
    const before = matmulRouteCounts()!;
    for (const c of CASES) for (const tA of [false, true]) for (const tB of [false, true]) {
      const a = rand(tA ? swap(c.a) : c.a), b = rand(tB ? swap(c.b) : c.b);
      const y = tf.matMul(a, b, tA, tB);
      const ref = reference(a, b, tA, tB);
      const got = y.dataSync();
      assert.equal(got.length, ref.length, `${JSON.stringify(c)} tA=${tA} tB=${tB}: size`);
      let err = 0;
      ref.forEach((v, i) => { err = Math.max(err, Math.abs(v - got[i]!)); });
      assert.ok(err <= 1e-5 * Math.max(1, c.a[c.a.length - 1]!), `${JSON.stringify(c)} tA=${tA} tB=${tB}: max error ${err}`);
      tf.dispose([a, b, y]);
    }
    const after = matmulRouteCounts()!;
    assert.ok(after[route]! > before[route]!, `the ${route} route ran (${JSON.stringify(after)})`);
    setWasmMatMul('ort');
  });
}

test('wasm BatchMatMul: gradients through the new kernel equal the stock kernel\'s', { skip }, () => {
  const rng = mulberry32(5);
  const x = tf.tensor(Float32Array.from({ length: 2 * 3 * 8 * 4 }, () => rng() - 0.5), [2, 3, 8, 4]);
  const w = tf.tensor(Float32Array.from({ length: 2 * 3 * 8 * 4 }, () => rng() - 0.5), [2, 3, 8, 4]);
  const v = tf.tensor(Float32Array.from({ length: 6 * 4 * 6 }, () => rng() - 0.5), [2, 3, 4, 6]);
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.softmax(tf.matMul(a, b, false, true)), tf.matMul(a, c))));
  const grads = () => tf.grads(f)([x, w, v]).map((g) => g.dataSync() as Float32Array);
  setWasmMatMul('stock');
  const ref = grads();
  for (const route of ['xnn', 'ort']) {
    setWasmMatMul(route);
    grads().forEach((g, i) => g.forEach((val, j) => assert.ok(Math.abs(val - ref[i]![j]!) <= 1e-5, `${route}: grad ${i}[${j}] ${val} vs ${ref[i]![j]}`)));
  }
  setWasmMatMul('ort');
  tf.dispose([x, w, v]);
});

test('AdamW: the fused wasm SIMD update equals the op-by-op update, moments and checkpoints included', { skip }, () => {
  const rng = mulberry32(9);
  const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => (rng() - 0.5) * s);
  const init = { a: rand(1027), b: rand(6 * 5) };
  const make = () => new Map(Object.entries(init).map(([k, v]) => [k, tf.variable(tf.tensor(v, k === 'b' ? [6, 5] : [1027]))]));
  const fusedVars = make(), opVars = make();
  const fused = new AdamW({ weightDecay: 0.1 });
  process.env.CLIPFACE_WASM_ADAMW = '0';
  const ops = new AdamW({ weightDecay: 0.1 });
  delete process.env.CLIPFACE_WASM_ADAMW;
  for (let s = 0; s < 3; s++) {
    const grads = new Map(Object.entries(init).map(([k, v]) => [k, tf.tensor(rand(v.length, 1e-2), fusedVars.get(k)!.shape)]));
    fused.apply(fusedVars, grads, 1e-2);
    ops.apply(opVars, grads, 1e-2);
    tf.dispose([...grads.values()]);
  }
  for (const k of Object.keys(init)) assert.deepEqual(fusedVars.get(k)!.dataSync(), opVars.get(k)!.dataSync(), `parameter ${k}`);
  const a = fused.state(), b = ops.state();
  assert.equal(a.step, 3);
  for (const k of Object.keys(init)) {
    assert.deepEqual(a.m.get(k), b.m.get(k), `m of ${k}`);
    assert.deepEqual(a.v.get(k), b.v.get(k), `v of ${k}`);
  }
  const restored = new AdamW({ weightDecay: 0.1 });
  restored.load(a, fusedVars);
  assert.deepEqual(restored.state().v.get('a'), a.v.get('a'));
  for (const o of [fused, ops, restored]) o.dispose();
  tf.dispose([...fusedVars.values(), ...opVars.values()]);
});

test('wasm Slice (heap views): contiguous and strided slices of every rank equal the index arithmetic', { skip }, () => {
  const rng = mulberry32(4);
  for (const shape of [[7], [5, 9], [4, 3, 20], [2, 3, 4, 5], [2, 2, 3, 2, 17]]) {
    for (let t = 0; t < 6; t++) {
      const whole = t % 3 === 0; // whole trailing rows: the contiguous path
      const begin = shape.map((d, i) => (whole && i > 0 ? 0 : Math.floor(rng() * d)));
      const size = shape.map((d, i) => (whole && i > 0 ? d : 1 + Math.floor(rng() * (d - begin[i]!))));
      const n = shape.reduce((a, b) => a * b, 1);
      for (const dtype of ['float32', 'int32'] as const) {
        const x = tf.tensor(Int32Array.from({ length: n }, (_, i) => i), shape, dtype);
        const got = tf.slice(x, begin, whole ? [size[0]!, ...size.slice(1).map(() => -1)] : size).dataSync();
        const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
        const want: number[] = [];
        const walk = (d: number, off: number) => {
          if (d === shape.length) { want.push(off); return; }
          for (let j = 0; j < size[d]!; j++) walk(d + 1, off + (begin[d]! + j) * strides[d]!);
        };
        walk(0, 0);
        assert.deepEqual([...got], want, `${dtype} ${JSON.stringify({ shape, begin, size })}`);
        x.dispose();
      }
    }
  }
});

test('wasm GatherV2 (heap views): every axis and index shape equals the index arithmetic', { skip }, () => {
  const x = tf.tensor(Float32Array.from({ length: 3 * 4 * 20 }, (_, i) => i), [3, 4, 20]);
  const cases: [number, number[], number[]][] = [[0, [2, 0, 2], [3]], [1, [3, 1, 0, 3, 2], [5]], [2, [19, 0, 7], [3]], [1, [1, 2, 3, 0], [2, 2]], [-1, [5], [1]]];
  for (const [axis, ids, shape] of cases) {
    const got = tf.gather(x, tf.tensor(ids, shape, 'int32'), axis);
    const ax = axis < 0 ? 3 + axis : axis;
    const want = tf.tidy(() => tf.stack(ids.map((i) => tf.slice(x, x.shape.map((_, d) => (d === ax ? i : 0)), x.shape.map((s, d) => (d === ax ? 1 : s)))), ax).reshape(got.shape));
    assert.deepEqual([...got.dataSync()], [...want.dataSync()], `axis ${axis}, indices ${JSON.stringify(ids)}`);
    tf.dispose([got, want]);
  }
  x.dispose();
});
