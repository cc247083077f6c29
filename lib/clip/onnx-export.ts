/**
 * The frozen image tower as an ONNX graph, built from the weights our tfjs tower holds (BN already
 * folded into the convs, including any BatchNorm calibration of a random-init tower), for
 * onnxruntime (PERF-NOTES Q4: MLAS runs the RN50 tower 4–7× faster than tfjs-wasm, same numbers
 * to ~3e-6). Same maths as modified-resnet.ts / vit.ts, op for op; NCHW input
 * `pixels` [N, 3, S, S] (CLIP-normalised) → `features` [N, embed_dim], raw.
 */
import type { ClipConfig } from './config.ts';
import type { ImageTower } from './model.ts';
import type { ResNetWeights } from './modified-resnet.ts';
import type { VitWeights } from './vit.ts';
import { OnnxGraph } from '../runtime/onnx-build.ts';
import type { tf } from '../runtime/tf.ts';

type Tensor = tf.Tensor;

/** `map.get(name)`, or an error naming the tensor the graph needs and the tower lacks. */
function need<V>(map: ReadonlyMap<string, V>, name: string): V {
  const v = map.get(name);
  if (v === undefined) throw new Error(`onnx-export: the tower has no ${name}; its config and weights disagree`);
  return v;
}

const data = (t: Tensor) => t.dataSync() as Float32Array;

/** tfjs conv weights [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
function hwioToOihw(t: Tensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, cout] = t.shape as [number, number, number, number];
  const src = data(t);
  const out = new Float32Array(src.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + y) * kw + x] = src[((y * kw + x) * cin + i) * cout + o]!;
  }
  return { data: out, dims: [cout, cin, kh, kw] };
}

class Builder extends OnnxGraph {
  conv(x: string, w: Tensor, b: Tensor | undefined, stride: number, pad: number): string {
    const { data: wd, dims } = hwioToOihw(w);
    const inputs = [x, this.f32(wd, dims, 'conv_w')];
    if (b) inputs.push(this.f32(data(b), [dims[0]!], 'conv_b'));
    return this.op('Conv', inputs, { strides: [stride, stride], pads: [pad, pad, pad, pad], kernel_shape: [dims[2]!, dims[3]!] });
  }
  avgPool(x: string, k: number): string {
    return this.op('AveragePool', [x], { kernel_shape: [k, k], strides: [k, k] });
  }
  /** x @ W + b with W in tfjs layout [in, out] */
  linear(x: string, w: Tensor, b?: Tensor): string {
    const y = this.op('MatMul', [x, this.f32(data(w), w.shape, 'lin_w')]);
    return b ? this.op('Add', [y, this.f32(data(b), b.shape, 'lin_b')]) : y;
  }
  layerNorm(x: string, g: Tensor, b: Tensor): string {
    const mean = this.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
    const xc = this.op('Sub', [x, mean]);
    const variance = this.op('ReduceMean', [this.op('Mul', [xc, xc])], { axes: [-1], keepdims: 1 });
    const rstd = this.op('Reciprocal', [this.op('Sqrt', [this.op('Add', [variance, this.scalar(1e-5)])])]);
    return this.op('Add', [this.op('Mul', [this.op('Mul', [xc, rstd]), this.f32(data(g), g.shape, 'ln_g')]), this.f32(data(b), b.shape, 'ln_b')]);
  }
  scalar(v: number): string {
    return this.f32(Float32Array.of(v), [], 'c');
  }
  reshape(x: string, dims: number[]): string {
    return this.op('Reshape', [x, this.i64(dims)]);
  }
  /** multi-head attention; q [N, Lq, C], k/v [N, Lk, C] (clip/model.py scales q after its projection) */
  attention(q: string, k: string, v: string, heads: number, c: number): string {
    const d = c / heads;
    const split = (t: string, perm: number[]) => this.op('Transpose', [this.reshape(t, [0, -1, heads, d])], { perm });
    const qh = split(this.op('Mul', [q, this.scalar(1 / Math.sqrt(d))]), [0, 2, 1, 3]); // [N, H, Lq, d]
    const kt = split(k, [0, 2, 3, 1]); // [N, H, d, Lk]
    const vh = split(v, [0, 2, 1, 3]);
    const probs = this.op('Softmax', [this.op('MatMul', [qh, kt])], { axis: -1 });
    const o = this.op('Transpose', [this.op('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] });
    return this.reshape(o, [0, -1, c]);
  }
}

function resnetGraph(cfg: ClipConfig, w: ResNetWeights): Uint8Array {
  const g = new Builder('clip-modified-resnet');
  const conv = (x: string, name: string, stride = 1) => {
    const { w: k, b } = need(w.convs, name);
    return g.conv(x, k, b, stride, k.shape[0] === 3 ? 1 : 0);
  };
  const relu = (x: string) => g.op('Relu', [x]);
  let x = g.input('pixels', ['batch', 3, cfg.vision.imageSize, cfg.vision.imageSize]);
  x = relu(conv(x, 'conv1', 2));
  x = relu(conv(x, 'conv2'));
  x = relu(conv(x, 'conv3'));
  x = g.avgPool(x, 2);
  let inplanes = cfg.vision.width;
  (cfg.vision.layers as number[]).forEach((count, li) => {
    const planes = cfg.vision.width * 2 ** li;
    for (let j = 0; j < count; j++) {
      const p = `layer${li + 1}.${j}`, stride = j === 0 && li > 0 ? 2 : 1;
      let out = relu(conv(relu(conv(x, `${p}.conv1`)), `${p}.conv2`));
      if (stride > 1) out = g.avgPool(out, stride);
      out = conv(out, `${p}.conv3`);
      let id = x;
      if (stride > 1 || inplanes !== planes * 4) id = conv(stride > 1 ? g.avgPool(id, stride) : id, `${p}.downsample.0`);
      x = relu(g.op('Add', [out, id]));
      inplanes = planes * 4;
    }
  });
  // AttentionPool2d: [N, C, h, w] → tokens [N, 1 + hw, C]; the mean token queries all of them
  const c = cfg.vision.width * 32;
  const seq = g.op('Transpose', [g.reshape(x, [0, c, -1])], { perm: [0, 2, 1] });
  const pool = w.attnPool;
  const tokens = g.op('Add', [g.op('Concat', [g.op('ReduceMean', [seq], { axes: [1], keepdims: 1 }), seq], { axis: 1 }), g.f32(data(pool.pos), pool.pos.shape, 'pos')]);
  const first = g.op('Slice', [tokens, g.i64([0]), g.i64([1]), g.i64([1])]);
  const q = g.linear(first, pool.qw, pool.qb), k = g.linear(tokens, pool.kw, pool.kb), v = g.linear(tokens, pool.vw, pool.vb);
  const out = g.linear(g.reshape(g.attention(q, k, v, w.heads, c), [0, c]), pool.cw, pool.cb);
  g.op('Identity', [out], {}, { output: 'features' });
  g.output('features', ['batch', cfg.embedDim]);
  return g.encode();
}

function vitGraph(cfg: ClipConfig, w: VitWeights): Uint8Array {
  const g = new Builder('clip-vit');
  const p = (n: string) => need(w.params, n);
  const { imageSize: s, patchSize, width } = cfg.vision;
  const x0 = g.input('pixels', ['batch', 3, s, s]);
  const patches = g.op('Transpose', [g.reshape(g.conv(x0, p('conv1.weight'), undefined, patchSize!, 0), [0, width, -1])], { perm: [0, 2, 1] });
  // the class token, broadcast to [N, 1, W]: Expand to the shape [N, 1, W] read off the patches
  const shape = g.op('Concat', [g.op('Slice', [g.op('Shape', [patches]), g.i64([0]), g.i64([1])]), g.i64([1, width])], { axis: 0 });
  const cls = g.op('Expand', [g.f32(data(p('class_embedding')), [1, 1, width], 'cls'), shape]);
  let x = g.op('Add', [g.op('Concat', [cls, patches], { axis: 1 }), g.f32(data(p('positional_embedding')), p('positional_embedding').shape, 'pos')]);
  x = g.layerNorm(x, p('ln_pre.weight'), p('ln_pre.bias'));
  for (let i = 0; i < (cfg.vision.layers as number); i++) {
    const b = `transformer.resblocks.${i}`;
    const qkv = g.linear(g.layerNorm(x, p(`${b}.ln_1.weight`), p(`${b}.ln_1.bias`)), p(`${b}.attn.in_proj_weight`), p(`${b}.attn.in_proj_bias`));
    const parts = ['q', 'k', 'v'].map((_, j) => g.op('Slice', [qkv, g.i64([j * width]), g.i64([(j + 1) * width]), g.i64([2])]));
    const a = g.attention(parts[0]!, parts[1]!, parts[2]!, w.heads, width);
    x = g.op('Add', [x, g.linear(a, p(`${b}.attn.out_proj.weight`), p(`${b}.attn.out_proj.bias`))]);
    const u = g.linear(g.layerNorm(x, p(`${b}.ln_2.weight`), p(`${b}.ln_2.bias`)), p(`${b}.mlp.c_fc.weight`), p(`${b}.mlp.c_fc.bias`));
    const act = cfg.quickGelu
      ? g.op('Mul', [u, g.op('Sigmoid', [g.op('Mul', [u, g.scalar(1.702)])])])
      : g.op('Mul', [g.op('Mul', [u, g.scalar(0.5)]), g.op('Add', [g.op('Erf', [g.op('Mul', [u, g.scalar(Math.SQRT1_2)])]), g.scalar(1)])]);
    x = g.op('Add', [x, g.linear(act, p(`${b}.mlp.c_proj.weight`), p(`${b}.mlp.c_proj.bias`))]);
  }
  const clsOut = g.reshape(g.op('Slice', [x, g.i64([0]), g.i64([1]), g.i64([1])]), [0, width]);
  const out = g.linear(g.layerNorm(clsOut, p('ln_post.weight'), p('ln_post.bias')), p('proj'));
  g.op('Identity', [out], {}, { output: 'features' });
  g.output('features', ['batch', cfg.embedDim]);
  return g.encode();
}

/** The serialised ONNX model of `tower` (a ModifiedResNet or VisionTransformer of `cfg`). */
export function exportImageTower(cfg: ClipConfig, tower: ImageTower): Uint8Array {
  const w = tower.weights();
  return w.arch === 'modified-resnet' ? resnetGraph(cfg, w) : vitGraph(cfg, w);
}
