/**
 * CLIP's ModifiedResNet image tower (openai/CLIP clip/model.py ModifiedResNet, Bottleneck,
 * AttentionPool2d), inference only: the paper freezes it.
 * - 3-conv stem (3×3, stride 2 then 1, 1), then a 2×2 average pool instead of a max pool;
 * - "anti-aliased" bottlenecks: a stride-s block runs avgpool(s) before its last 1×1 conv, and
 *   its shortcut is avgpool(s) → 1×1 conv → BN;
 * - attention pooling: a query made of the spatial mean attends over all positions.
 * BatchNorm is in eval mode (running stats, eps 1e-5) and folded into the preceding conv:
 * conv(x, W)·s + t = conv(x, W·s) + t, exact up to float rounding.
 * tfjs runs NHWC; PyTorch conv weights [out, in, kh, kw] become [kh, kw, in, out].
 */
import { tf } from '../runtime/tf.ts';
import type { ClipConfig } from './config.ts';
import { attention, linear, transpose2d, type T2 } from './nn.ts';
import type { StateDict } from './safetensors.ts';

type T4 = tf.Tensor4D;

/** A conv with its BatchNorm folded in: w in tfjs layout [kh, kw, in, out], b the folded BN shift. */
export interface ConvBn { w: T4; b: tf.Tensor1D }

/** AttentionPool2d's tensors; linear weights in tfjs layout [in, out]. */
export interface AttnPoolWeights {
  /** [h·w + 1, C] */
  pos: tf.Tensor2D;
  qw: tf.Tensor2D; qb: tf.Tensor1D; kw: tf.Tensor2D; kb: tf.Tensor1D;
  vw: tf.Tensor2D; vb: tf.Tensor1D; cw: tf.Tensor2D; cb: tf.Tensor1D;
}

/**
 * What the tower computes with, for exporters (clip/onnx-export.ts): the live tensors, not copies
 * (read them; the tower owns and disposes them). BN is folded, including a random-init tower's
 * calibration, so these are the numbers `encode` uses.
 */
export interface ResNetWeights {
  arch: 'modified-resnet';
  /** by PyTorch conv name (`conv1`, `layer2.0.downsample.0`, …; see convBnPairs) */
  convs: ReadonlyMap<string, Readonly<ConvBn>>;
  attnPool: Readonly<AttnPoolWeights>;
  heads: number;
}

const BN_EPS = 1e-5;

export class ModifiedResNet {
  private readonly convs = new Map<string, ConvBn>();
  private readonly pool: AttnPoolWeights;
  private readonly heads: number;

  constructor(readonly cfg: ClipConfig, sd: StateDict, prefix = 'visual.') {
    const v = cfg.vision;
    this.heads = (v.width * 32) / v.headWidth;
    for (const [conv, bn] of convBnPairs(cfg)) this.convs.set(conv, foldConvBn(sd, prefix + conv, prefix + bn));
    const get = (n: string) => sd.get(prefix + 'attnpool.' + n)!;
    const lin = (n: string) => { const t = get(n); return tf.keep(tf.tensor2d(transpose2d(t.data!, t.shape[0]!, t.shape[1]!), [t.shape[1]!, t.shape[0]!])); };
    const vec = (n: string) => tf.keep(tf.tensor1d(get(n).data!));
    const pos = get('positional_embedding');
    this.pool = {
      pos: tf.keep(tf.tensor2d(pos.data!, pos.shape as [number, number])),
      qw: lin('q_proj.weight'), qb: vec('q_proj.bias'), kw: lin('k_proj.weight'), kb: vec('k_proj.bias'),
      vw: lin('v_proj.weight'), vb: vec('v_proj.bias'), cw: lin('c_proj.weight'), cb: vec('c_proj.bias'),
    };
  }

  /** set by `calibrateBatchNorm`: measure each conv's output statistics in forward order */
  private calibrating?: (conv: string, mean: Float32Array, variance: Float32Array) => void;

  private conv(name: string, x: T4, stride = 1): T4 {
    const { w, b } = this.convs.get(name)!;
    const pad = w.shape[0] === 3 ? 1 : 0; // PyTorch's symmetric padding=1 ('same' in tfjs would pad 0/1 at stride 2)
    const y = tf.add(tf.conv2d(x, w, stride, pad), b) as T4;
    if (!this.calibrating) return y;
    // BatchNorm calibration: standardise this conv's output over the batch, and refold so the
    // layers after it see calibrated inputs (what a train-mode forward's running stats give)
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    const s = tf.rsqrt(tf.add(variance, BN_EPS));
    this.calibrating(name, mean.dataSync() as Float32Array, variance.dataSync() as Float32Array);
    this.convs.set(name, { w: tf.keep(tf.mul(w, s) as T4), b: tf.keep(tf.mul(tf.sub(b, mean), s) as tf.Tensor1D) });
    w.dispose();
    b.dispose();
    return tf.mul(tf.sub(y, mean), s) as T4;
  }

  /**
   * Running statistics for a random-init tower: one forward over `pixels` that standardises every
   * conv output in turn (as BatchNorm's running averages would after training-mode passes), and
   * reports each conv's output mean/variance, measured with the BN that was folded in at load.
   */
  calibrateBatchNorm(pixels: Float32Array, n: number, report: (conv: string, mean: Float32Array, variance: Float32Array) => void): void {
    this.calibrating = report;
    try {
      tf.dispose(this.encode(pixels, n));
    } finally {
      this.calibrating = undefined;
    }
  }

  private bottleneck(p: string, x: T4, stride: number, hasDownsample: boolean): T4 {
    let out = tf.relu(this.conv(`${p}.conv1`, x));
    out = tf.relu(this.conv(`${p}.conv2`, out));
    if (stride > 1) out = tf.avgPool(out, stride, stride, 'valid');
    out = this.conv(`${p}.conv3`, out);
    let identity = x;
    if (hasDownsample) {
      if (stride > 1) identity = tf.avgPool(identity, stride, stride, 'valid');
      identity = this.conv(`${p}.downsample.0`, identity);
    }
    return tf.relu(tf.add(out, identity)) as T4;
  }

  /** AttentionPool2d: [N, H, W, C] → [N, embed_dim]. */
  private attnPool(x: T4): T2 {
    const [n, h, w, c] = x.shape;
    const p = this.pool;
    const seq = tf.reshape(x, [n, h * w, c]);
    const tokens = tf.add(tf.concat([tf.mean(seq, 1, true), seq], 1), p.pos); // [N, HW+1, C]
    const flat = tf.reshape(tokens, [n * (h * w + 1), c]) as T2;
    const q = linear(tf.reshape(tf.slice(tokens, [0, 0, 0], [n, 1, c]), [n, c]) as T2, p.qw, p.qb);
    const k = linear(flat, p.kw, p.kb);
    const v = linear(flat, p.vw, p.vb);
    return linear(attention(q, k, v, n, 1, h * w + 1, this.heads), p.cw, p.cb);
  }

  /** encode_image: pixels NCHW float32 (CLIP-normalised) → [N, embed_dim], raw. */
  encode(pixels: Float32Array, n: number): T2 {
    const s = this.cfg.vision.imageSize;
    return tf.tidy(() => {
      let x = tf.transpose(tf.tensor4d(pixels, [n, 3, s, s]), [0, 2, 3, 1]) as T4;
      x = tf.relu(this.conv('conv1', x, 2));
      x = tf.relu(this.conv('conv2', x));
      x = tf.relu(this.conv('conv3', x));
      x = tf.avgPool(x, 2, 2, 'valid');
      for (const { prefix, stride, downsample } of blocks(this.cfg)) x = this.bottleneck(prefix, x, stride, downsample);
      return this.attnPool(x);
    });
  }

  /** The folded weights `encode` computes with (see ResNetWeights). */
  weights(): ResNetWeights {
    return { arch: 'modified-resnet', convs: this.convs, attnPool: this.pool, heads: this.heads };
  }

  dispose(): void {
    for (const { w, b } of this.convs.values()) { w.dispose(); b.dispose(); }
    for (const t of Object.values(this.pool)) t.dispose();
  }
}

/** The bottleneck blocks in order (clip/model.py ModifiedResNet._make_layer). */
interface Block { prefix: string; stride: number; downsample: boolean; inplanes: number; planes: number }
function blocks(cfg: ClipConfig): Block[] {
  const width = cfg.vision.width;
  const out: Block[] = [];
  let inplanes = width;
  (cfg.vision.layers as number[]).forEach((count, li) => {
    const planes = width * 2 ** li;
    for (let j = 0; j < count; j++) {
      const stride = j === 0 && li > 0 ? 2 : 1;
      out.push({ prefix: `layer${li + 1}.${j}`, stride, downsample: stride > 1 || inplanes !== planes * 4, inplanes, planes });
      inplanes = planes * 4;
    }
  });
  return out;
}

export function convBnPairs(cfg: ClipConfig): [string, string][] {
  const pairs: [string, string][] = [['conv1', 'bn1'], ['conv2', 'bn2'], ['conv3', 'bn3']];
  for (const b of blocks(cfg)) {
    pairs.push([`${b.prefix}.conv1`, `${b.prefix}.bn1`], [`${b.prefix}.conv2`, `${b.prefix}.bn2`], [`${b.prefix}.conv3`, `${b.prefix}.bn3`]);
    if (b.downsample) pairs.push([`${b.prefix}.downsample.0`, `${b.prefix}.downsample.1`]);
  }
  return pairs;
}

function foldConvBn(sd: StateDict, conv: string, bn: string): ConvBn {
  const w = sd.get(`${conv}.weight`)!;
  const [out, inC, kh, kw] = w.shape as [number, number, number, number];
  const g = sd.get(`${bn}.weight`)!.data!, beta = sd.get(`${bn}.bias`)!.data!;
  const mean = sd.get(`${bn}.running_mean`)!.data!, variance = sd.get(`${bn}.running_var`)!.data!;
  const folded = new Float32Array(kh * kw * inC * out);
  const bias = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    const s = g[o]! / Math.sqrt(variance[o]! + BN_EPS);
    bias[o] = beta[o]! - mean[o]! * s;
    for (let i = 0; i < inC; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
      folded[((y * kw + x) * inC + i) * out + o] = w.data![((o * inC + i) * kh + y) * kw + x]! * s;
    }
  }
  return { w: tf.keep(tf.tensor4d(folded, [kh, kw, inC, out])), b: tf.keep(tf.tensor1d(bias)) };
}

/** PyTorch names and shapes of the ResNet tower (without the `visual.` prefix). */
export function resnetParamShapes(cfg: ClipConfig): [string, number[]][] {
  const w = cfg.vision.width;
  const out: [string, number[]][] = [];
  const bn = (n: string, c: number) => { for (const s of ['weight', 'bias', 'running_mean', 'running_var']) out.push([`${n}.${s}`, [c]]); };
  out.push(['conv1.weight', [w / 2, 3, 3, 3]]); bn('bn1', w / 2);
  out.push(['conv2.weight', [w / 2, w / 2, 3, 3]]); bn('bn2', w / 2);
  out.push(['conv3.weight', [w, w / 2, 3, 3]]); bn('bn3', w);
  for (const b of blocks(cfg)) {
    out.push([`${b.prefix}.conv1.weight`, [b.planes, b.inplanes, 1, 1]]); bn(`${b.prefix}.bn1`, b.planes);
    out.push([`${b.prefix}.conv2.weight`, [b.planes, b.planes, 3, 3]]); bn(`${b.prefix}.bn2`, b.planes);
    out.push([`${b.prefix}.conv3.weight`, [b.planes * 4, b.planes, 1, 1]]); bn(`${b.prefix}.bn3`, b.planes * 4);
    if (b.downsample) { out.push([`${b.prefix}.downsample.0.weight`, [b.planes * 4, b.inplanes, 1, 1]]); bn(`${b.prefix}.downsample.1`, b.planes * 4); }
  }
  const c = w * 32, grid = cfg.vision.imageSize / 32;
  out.push(['attnpool.positional_embedding', [grid * grid + 1, c]]);
  for (const p of ['q', 'k', 'v']) out.push([`attnpool.${p}_proj.weight`, [c, c]], [`attnpool.${p}_proj.bias`, [c]]);
  out.push(['attnpool.c_proj.weight', [cfg.embedDim, c]], ['attnpool.c_proj.bias', [cfg.embedDim]]);
  return out;
}
