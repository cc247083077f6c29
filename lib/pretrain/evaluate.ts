/**
 * What the image and text towers have learned, measured on people never seen in pretraining:
 * - verification: cosine of every pair of photos, same person = genuine; ROC AUC and TAR at
 *   FAR 1e-2 / 1e-3 (lib/eval/open-set.ts), the standard 1:1 face-verification protocol;
 * - zero-shot attributes: each label's prompts are encoded, averaged and normalised (open_clip's
 *   build_zero_shot_classifier), a photo takes the label of the closest prompt; accuracy beside
 *   chance (1/labels) and the majority-class rate, since several labels are imbalanced.
 * Pure functions over features; encoding happens in the caller.
 */
import { auc, roc, tarAtFar } from '../eval/open-set.ts';
import type { ClipModel } from '../clip/model.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import { normalizeRows } from '../util/rows.ts';
import type { AttributeProbe, IdentityTraits, ImageFacts } from './captions.ts';

export interface Verification { pairs: { genuine: number; impostor: number }; auc: number; tar: { far: number; tar: number }[] }

/** Genuine and impostor cosines of every pair of rows of `feats` (n × d, normalised). */
export function pairScores(feats: Float32Array, d: number, ids: ArrayLike<string | number>, keep?: (i: number, j: number) => boolean): { genuine: number[]; impostor: number[] } {
  const n = ids.length;
  const genuine: number[] = [], impostor: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    if (keep && !keep(i, j)) continue;
    let s = 0;
    for (let k = 0; k < d; k++) s += feats[i * d + k]! * feats[j * d + k]!;
    (ids[i] === ids[j] ? genuine : impostor).push(s);
  }
  return { genuine, impostor };
}

export function verification(genuine: number[], impostor: number[]): Verification {
  return {
    pairs: { genuine: genuine.length, impostor: impostor.length },
    auc: auc(roc(genuine, impostor)),
    tar: tarAtFar(genuine, impostor, [1e-2, 1e-3]).map((t) => ({ far: t.targetFar, tar: t.tar })),
  };
}

export interface AttributeResult {
  name: string; n: number; accuracy: number; chance: number; majority: number; labels: string[];
  /** probes with a `group`: photos and right answers per finer truth (facial hair: per style), most photos first */
  groups?: { group: string; n: number; right: number }[];
}

/** Normalised text classifier [labels × d] for one probe (prompts averaged per label). */
export function probeClassifier(model: ClipModel, tok: ClipTokenizer, probe: AttributeProbe): { labels: string[]; weights: Float32Array } {
  const labels = Object.keys(probe.prompts);
  const d = model.cfg.embedDim;
  const weights = new Float32Array(labels.length * d);
  labels.forEach((label, li) => {
    const prompts = probe.prompts[label]!;
    const t = model.encodeText(tok.tokenize(prompts, model.cfg.text.contextLength).tokens);
    const rows = normalizeRows(t.dataSync() as Float32Array, d);
    t.dispose();
    const mean = new Float32Array(d);
    for (let p = 0; p < prompts.length; p++) for (let k = 0; k < d; k++) mean[k]! += rows[p * d + k]!;
    weights.set(normalizeRows(mean, d), li * d);
  });
  return { labels, weights };
}

/** Zero-shot accuracy of `probe` on normalised image features with their traits and facts. */
export function attributeAccuracy(feats: Float32Array, d: number, truth: { traits: IdentityTraits; facts: ImageFacts }[], probe: AttributeProbe, clf: { labels: string[]; weights: Float32Array }): AttributeResult {
  let n = 0, right = 0;
  const counts = new Map<string, number>();
  const groups = new Map<string, { n: number; right: number }>();
  truth.forEach((t, i) => {
    const label = probe.label(t.traits, t.facts);
    if (label === undefined) return;
    n++;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    let best = -Infinity, arg = 0;
    clf.labels.forEach((_, li) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += feats[i * d + k]! * clf.weights[li * d + k]!;
      if (s > best) { best = s; arg = li; }
    });
    const ok = clf.labels[arg] === label;
    if (ok) right++;
    const g = probe.group?.(t.traits, t.facts);
    if (g !== undefined) {
      const e = groups.get(g) ?? groups.set(g, { n: 0, right: 0 }).get(g)!;
      e.n++;
      if (ok) e.right++;
    }
  });
  const byGroup = [...groups].map(([group, e]) => ({ group, ...e })).sort((a, b) => b.n - a.n || a.group.localeCompare(b.group));
  return { name: probe.name, n, accuracy: n ? right / n : NaN, chance: 1 / clf.labels.length, majority: n ? Math.max(...counts.values()) / n : NaN, labels: clf.labels, ...(probe.group ? { groups: byGroup } : {}) };
}

/** What verification needs of a model: its config and a chunked encode_image (ClipModel, or image-tower.ts's ImageTowerModel). */
export type ImageModel = Pick<ClipModel, 'cfg' | 'encodeImage'>;

/** Raw image features of NCHW pixels as a plain array (encodeImage chunks the batch). */
export function encodeImages(model: ImageModel, pixels: Float32Array, n: number, batch = 128): Float32Array {
  const t = model.encodeImage(pixels, n, batch);
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}
