/**
 * AdamW with PyTorch semantics (torch.optim.AdamW, Loshchilov & Hutter 2019): weight decay is
 * decoupled (p ← p·(1 − lr·wd) before the Adam step) and bias corrections follow torch's
 * single-tensor path: p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε).
 * One tidy per variable, so the peak holds the temporaries of one tensor, not of all of them
 * (tf.train.adam's single tidy costs ~1 GB more at CLIP size: PERF-NOTES Q2). On tfjs-wasm the
 * update is one fused SIMD pass over the heap (runtime/wasm-adamw.ts: the same float32 result as
 * the op-by-op path, 7× faster); CLIPFACE_WASM_ADAMW=0 keeps the op-by-op path.
 */
import { tf } from '../runtime/tf.ts';
import { createWasmAdamW, type WasmAdamW } from '../runtime/wasm-adamw.ts';

export interface AdamWOptions { beta1?: number; beta2?: number; eps?: number; weightDecay?: number }

export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** the fused wasm path: moments as heap buffers (pointers) instead of variables */
  private readonly fused = process.env.CLIPFACE_WASM_ADAMW === '0' ? undefined : createWasmAdamW(tf);
  private readonly heap = new Map<string, { m: number; v: number; n: number }>();

  constructor(opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
  }

  private slot(map: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let s = map.get(name);
    if (!s) {
      const z = tf.zerosLike(like);
      map.set(name, (s = tf.variable(z, false)));
      z.dispose();
    }
    return s;
  }

  /** One update of every variable that has a gradient; `lr` is this step's learning rate. */
  apply(vars: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const { beta1: b1, beta2: b2, eps } = this;
    const bc1 = 1 - b1 ** this.step;
    const sqrtBc2 = Math.sqrt(1 - b2 ** this.step);
    const stepSize = lr / bc1;
    for (const [name, p] of vars) {
      const g = grads.get(name);
      if (!g) continue;
      if (this.fused) {
        const h = this.heapSlot(name, p.size);
        const next = this.fused.step(p, g, h.m, h.v, { beta1: b1, beta2: b2, eps, decay: 1 - lr * this.weightDecay, stepSize, sqrtBc2 });
        p.assign(next);
        next.dispose();
        continue;
      }
      const m = this.slot(this.m, name, p);
      const v = this.slot(this.v, name, p);
      tf.tidy(() => {
        const decayed = this.weightDecay ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), eps);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
      });
    }
  }

  private heapSlot(name: string, n: number) {
    let h = this.heap.get(name);
    if (!h) this.heap.set(name, (h = { m: this.fused!.alloc(n), v: this.fused!.alloc(n), n }));
    return h;
  }

  /** Moments as plain arrays (for resumable checkpoints). */
  state(): AdamWState {
    const read = (mp: Map<string, tf.Variable>) => new Map([...mp].map(([k, t]) => [k, t.dataSync() as Float32Array]));
    const copy = (key: 'm' | 'v') => new Map([...this.heap].map(([k, h]) => [k, Float32Array.from(this.fused!.view(h[key], h.n))]));
    if (this.fused) return { step: this.step, m: copy('m'), v: copy('v') };
    return { step: this.step, m: read(this.m), v: read(this.v) };
  }

  /** Restore moments saved by state(); `vars` gives each slot its shape. */
  load(state: AdamWState, vars: Map<string, tf.Variable>): void {
    this.dispose();
    this.step = state.step;
    if (this.fused) {
      for (const [k, m] of state.m) {
        const like = vars.get(k), v = state.v.get(k);
        if (!like || !v) continue;
        const h = this.heapSlot(k, like.size);
        this.fused.view(h.m, h.n).set(m);
        this.fused.view(h.v, h.n).set(v);
      }
      return;
    }
    for (const [map, src] of [[this.m, state.m], [this.v, state.v]] as const) {
      for (const [k, data] of src) {
        const like = vars.get(k);
        if (!like) continue;
        const t = tf.tensor(data, like.shape);
        map.set(k, tf.variable(t, false));
        t.dispose();
      }
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    for (const h of this.heap.values()) { this.fused!.free(h.m); this.fused!.free(h.v); }
    this.m.clear();
    this.v.clear();
    this.heap.clear();
  }
}
