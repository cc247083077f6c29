/**
 * The hand-written gradients of clip/nn.ts (LayerNorm, linear's bias, QuickGELU, the packed
 * in-projection) equal tfjs autodiff of the plain formulas, on the cpu backend and on the backend
 * the project runs (wasm, where the column sums go through the matmul route), in value and in the
 * gradient of every input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { gelu, inProjection, layerNorm, linear, type T2 } from '../lib/clip/nn.ts';
import { streamRng, gauss } from '../lib/util/rng.ts';

await initTf({ quiet: true });

const rand = (shape: number[], seed: string, scale = 1) => {
  const rng = streamRng('nn-grads', seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => gauss(rng) * scale), shape);
};

/** autodiff references: the formulas nn.ts computed before its gradients were written out */
const refLayerNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
  const xc = tf.sub(x, tf.mean(x, -1, true));
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), 1e-5))), g), b);
};
const refGelu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));

function close(a: tf.Tensor, b: tf.Tensor, tol: number, what: string) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const x = a.dataSync(), y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  assert.ok(worst < tol, `${what}: max relative difference ${worst}`);
}

/** value and gradients of sum(f(...) · upstream) for both implementations */
function compare(name: string, ours: (...t: tf.Tensor[]) => tf.Tensor, ref: (...t: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], tol: number) {
  const up = rand(ours(...inputs).shape, `${name}-up`);
  const loss = (f: (...t: tf.Tensor[]) => tf.Tensor) => (...t: tf.Tensor[]) => tf.sum(tf.mul(f(...t), up)) as tf.Scalar;
  close(ours(...inputs), ref(...inputs), tol, `${name} value`);
  const ga = tf.grads(loss(ours))(inputs), gb = tf.grads(loss(ref))(inputs);
  ga.forEach((g, i) => close(g, gb[i]!, tol, `${name} gradient of input ${i}`));
}

for (const backend of ['cpu', 'wasm']) {
  test(`LayerNorm, linear, QuickGELU and the in-projection: hand-written gradients equal autodiff (${backend})`, async () => {
    const prev = tf.getBackend();
    await tf.setBackend(backend);
    try {
      const tol = backend === 'cpu' ? 1e-5 : 1e-4;
      const x = rand([37, 24], 'x', 2), g = rand([24], 'g'), b = rand([24], 'b');
      compare('layerNorm', (a, c, d) => layerNorm(a as T2, c!, d!), refLayerNorm, [tf.add(x, 3), g, b], tol);
      const w = rand([24, 16], 'w', 0.3), bias = rand([16], 'bias');
      compare('linear', (a, c, d) => linear(a as T2, c!, d!), (a, c, d) => tf.add(tf.matMul(a as T2, c as T2), d!), [x, w, bias], tol);
      compare('gelu', (a) => gelu(a, true), refGelu, [rand([29, 16], 'gx', 3)], tol);
      const wIn = rand([24, 72], 'win', 0.3), bIn = rand([72], 'bin');
      compare('inProjection', (a, c, d) => tf.concat(inProjection(a as T2, c!, d!), 1), (a, c, d) => tf.add(tf.matMul(a as T2, c as T2), d!), [x, wIn, bIn], tol);
    } finally {
      await tf.setBackend(prev);
    }
  });
}
