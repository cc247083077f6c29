/**
 * CLIP's text tower (clip/model.py CLIP.encode_text): token + positional embedding → causal
 * Transformer → ln_final at the EOT token → text_projection. Held as trainable tfjs variables:
 * this is the tower the paper finetunes.
 *
 * Exact savings (PERF-NOTES Q2, all tested in test/perf-exact.test.ts):
 * - rows are laid out by text-layout.ts: each prompt is cut after its EOT (with a causal mask,
 *   tokens after position p never influence position p), prompts are grouped by length instead of
 *   padded, and the prompts' shared prefix is computed once; the last layer computes the EOT rows
 *   only, and the other blocks keep ~14× less for the backward (text-forward.ts, text-block.ts);
 * - the token table is trained as a sub-table of the rows the prompts use. Every other row has a
 *   zero gradient, so AdamW (decoupled decay, m = v = 0) only shrinks it by (1 − lr·wd) per step;
 *   we apply that product when the rows are written back, which is exactly PyTorch's dense update.
 *   It also avoids tf.gather's gradient (UnsortedSegmentSum), which tfjs-wasm lacks.
 */
import { tf } from '../runtime/tf.ts';
import type { ClipConfig } from './config.ts';
import { blockShapes, causalMask, layerNorm, isLinearWeight, transpose2d, type T2 } from './nn.ts';
import { planTextLayout, type LayoutOptions } from './text-layout.ts';
import { transformerAtEot } from './text-forward.ts';
import type { HostStateDict, StateDict } from './safetensors.ts';

/**
 * `table[idx]` with a gradient that scatter-adds into a dense [rows, W] tensor on the JS side:
 * the same numbers as tf.gather's gradient, on every backend (wasm has no UnsortedSegmentSum).
 */
export function gatherRows(table: T2, idx: Int32Array): T2 {
  const [rows, width] = table.shape;
  const op = tf.customGrad(((t: tf.Tensor) => {
    const idxT = tf.tensor1d(idx, 'int32');
    const value = tf.gather(t, idxT);
    idxT.dispose();
    const gradFunc = (dy: tf.Tensor) => {
      const g = dy.dataSync() as Float32Array;
      const out = new Float32Array(rows * width);
      for (let i = 0; i < idx.length; i++) {
        const src = i * width, dst = idx[i]! * width;
        for (let j = 0; j < width; j++) out[dst + j]! += g[src + j]!;
      }
      return tf.tensor2d(out, [rows, width]);
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(table) as T2;
}

/** A trainable variable from a tensor, disposing the tensor (tf.variable keeps its own copy). */
function variableFrom(init: tf.Tensor, name: string): tf.Variable {
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
}

/** The rows of the token table being trained, and the decay owed to all the others. */
interface TrainableRows {
  ids: Int32Array;
  row: Map<number, number>;
  table: tf.Variable;
  /** ∏(1 − lr·wd) over the steps taken: what AdamW did to every row outside `ids` */
  untouchedScale: number;
}

let towerCount = 0;

export interface EncodedTokens {
  /** token ids per prompt, each `contextLength` long (ClipTokenizer.tokenize output) */
  tokens: Int32Array[];
}

export class TextTower {
  /** trainable parameters by PyTorch name; linear weights in tfjs layout [in, out] */
  readonly vars = new Map<string, tf.Variable>();
  private tokenTable: tf.Tensor2D;
  private rows?: TrainableRows;
  private readonly heads: number;
  private readonly masks = new Map<number, tf.Tensor2D>();

  /** tfjs variable names are global: each tower gets its own prefix */
  private readonly scope = `text${++towerCount}`;

  constructor(readonly cfg: ClipConfig, sd: StateDict) {
    const t = cfg.text;
    this.heads = t.heads;
    const emb = sd.get('token_embedding.weight')!;
    this.tokenTable = tf.keep(tf.tensor2d(emb.data!, emb.shape as [number, number]));
    for (const [name] of textParamShapes(cfg)) {
      if (name === 'token_embedding.weight') continue;
      const st = sd.get(name)!;
      const data = isLinearWeight(name) ? transpose2d(st.data!, st.shape[0]!, st.shape[1]!) : st.data!;
      const shape = isLinearWeight(name) ? [st.shape[1]!, st.shape[0]!] : st.shape;
      this.vars.set(name, variableFrom(tf.tensor(data, shape), `${this.scope}/${name}`));
    }
  }

  private mask(len: number): tf.Tensor2D {
    let m = this.masks.get(len);
    if (!m) this.masks.set(len, (m = tf.keep(causalMask(len))));
    return m;
  }

  /** Start training the rows of the token table that `tokens` use (see the header comment). */
  beginTraining(tokens: Int32Array[]): void {
    if (this.rows) return;
    const ids = new Int32Array([...new Set(tokens.flatMap((t) => [...t]))].sort((a, b) => a - b));
    const idsT = tf.tensor1d(ids, 'int32');
    const table = variableFrom(tf.gather(this.tokenTable, idsT), `${this.scope}/token_embedding.rows`);
    idsT.dispose();
    this.rows = { ids, row: new Map([...ids].map((id, i) => [id, i])), table, untouchedScale: 1 };
  }

  /** AdamW's decoupled decay of one step, for the rows outside the trained sub-table. */
  decayUntouchedRows(factor: number): void {
    if (this.rows) this.rows.untouchedScale *= factor;
  }

  /** Write the trained rows back into the full table (and the decay of every other row). */
  endTraining(): void {
    const r = this.rows;
    if (!r) return;
    // plain JS on the host copy: exact, and avoids scatter kernels some backends lack
    const full = Float32Array.from(this.tokenTable.dataSync() as Float32Array);
    if (r.untouchedScale !== 1) for (let i = 0; i < full.length; i++) full[i] = Math.fround(full[i]! * r.untouchedScale);
    const rows = r.table.dataSync() as Float32Array;
    const w = this.tokenTable.shape[1];
    r.ids.forEach((id, i) => full.set(rows.subarray(i * w, (i + 1) * w), id * w));
    const shape = this.tokenTable.shape;
    this.tokenTable.dispose();
    this.tokenTable = tf.keep(tf.tensor2d(full, shape));
    r.table.dispose();
    this.rows = undefined;
  }

  /** Variables an optimiser should update (the trained token rows included while training). */
  trainableVariables(): Map<string, tf.Variable> {
    const m = new Map(this.vars);
    if (this.rows) m.set('token_embedding.weight', this.rows.table);
    return m;
  }

  /** ∏(1 − lr·wd) owed to the rows outside the trained sub-table (checkpoints save it; resume restores it). */
  get untouchedScale(): number { return this.rows?.untouchedScale ?? 1; }
  set untouchedScale(v: number) { if (this.rows) this.rows.untouchedScale = v; }

  /** The ids whose rows are being trained, in sub-table order (for gradient reports). */
  trainingRowIds(): Int32Array | undefined {
    return this.rows?.ids;
  }

  /**
   * encode_text: [B, embed_dim], raw (not normalised). Exact savings (text-layout.ts): `cut` drops
   * rows after each EOT, prompts are grouped by length (no padding), and `sharedPrefix` computes
   * the prompts' common prefix once. `{ cut: false, sharedPrefix: false, pad: true }` is
   * clip/model.py's computation row for row, and `autodiff` replaces the hand-written block
   * backward with tfjs's (the references the tests compare against).
   */
  encode(tokens: Int32Array[], opts: LayoutOptions & { autodiff?: boolean } = {}): T2 {
    const layout = planTextLayout(tokens, this.cfg.text.contextLength, opts);
    const v = (n: string) => this.vars.get(n)!;
    return tf.tidy(() => {
      let x: T2;
      if (this.rows) {
        const r = this.rows;
        const local = layout.ids.map((id) => {
          const row = r.row.get(id);
          if (row === undefined) throw new Error(`token ${id} is not in the trained sub-table; encode training prompts only while training`);
          return row;
        });
        x = gatherRows(r.table as tf.Tensor as T2, local);
      } else {
        const idsT = tf.tensor1d(layout.ids, 'int32');
        x = tf.gather(this.tokenTable, idsT);
      }
      x = tf.add(x, gatherRows(v('positional_embedding') as tf.Tensor as T2, layout.positions));
      const pooled = transformerAtEot(x, {
        p: v, layout, layers: this.cfg.text.layers, heads: this.heads, quickGelu: this.cfg.quickGelu,
        mask: (len) => this.mask(len), gatherRows, autodiff: opts.autodiff,
      });
      const h = layerNorm(pooled, v('ln_final.weight'), v('ln_final.bias'));
      return tf.matMul(h, v('text_projection') as T2);
    });
  }

  /** The tower's tensors in PyTorch names and layout (for checkpoints and parity checks). */
  stateDict(): HostStateDict {
    if (this.rows) throw new Error('call endTraining() before reading the state dict');
    const out: HostStateDict = new Map();
    out.set('token_embedding.weight', { shape: this.tokenTable.shape, data: this.tokenTable.dataSync() as Float32Array });
    for (const [name, t] of this.vars) {
      const data = t.dataSync() as Float32Array;
      if (isLinearWeight(name)) out.set(name, { shape: [t.shape[1]!, t.shape[0]!], data: transpose2d(data, t.shape[0]!, t.shape[1]!) });
      else out.set(name, { shape: t.shape, data });
    }
    return out;
  }

  /** Replace parameters from a state dict in PyTorch layout (a finetuned checkpoint). */
  loadStateDict(sd: HostStateDict): void {
    this.endTraining();
    for (const [name, st] of sd) {
      if (name === 'token_embedding.weight') {
        this.tokenTable.dispose();
        this.tokenTable = tf.keep(tf.tensor2d(st.data, st.shape as [number, number]));
        continue;
      }
      const v = this.vars.get(name);
      if (!v) throw new Error(`unknown text parameter ${name}`);
      const t = isLinearWeight(name) ? tf.tensor(transpose2d(st.data, st.shape[0]!, st.shape[1]!), v.shape) : tf.tensor(st.data, v.shape);
      v.assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    this.endTraining();
    this.tokenTable.dispose();
    for (const v of this.vars.values()) v.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.vars.clear();
    this.masks.clear();
  }
}

/** PyTorch names and shapes of the text tower (clip/model.py CLIP.__init__), no prefix. */
export function textParamShapes(cfg: ClipConfig): [string, number[]][] {
  const t = cfg.text;
  const out: [string, number[]][] = [
    ['token_embedding.weight', [t.vocabSize, t.width]],
    ['positional_embedding', [t.contextLength, t.width]],
  ];
  for (let i = 0; i < t.layers; i++) out.push(...blockShapes(`transformer.resblocks.${i}`, t.width, t.mlpRatio));
  out.push(['ln_final.weight', [t.width]], ['ln_final.bias', [t.width]], ['text_projection', [t.width, cfg.embedDim]]);
  return out;
}
