/**
 * Gate 2 of the teaching CLIP (issue 10): image-to-image verification on the demo set's people,
 * who never occur in pretraining, beside the embedded face descriptors on the same pairs in the
 * same run. Every photo with ground-truth keypoints (enrolment and deployment frames) is aligned
 * with its exact 5 points; all pairs are scored by cosine; same person = genuine.
 * Each face descriptor gets its own input size and the better of two crop margins (0 = the tight
 * ArcFace crop, 0.25 = dlib's face-chip padding), so the comparison does not favour CLIP's crop.
 * The gate is on the paper's layout (the 10 enrolled + 2 unknown people); lookalike unknowns
 * (manifest `lookalikeOf`, issue 11) are left out of it and scored on their own: each lookalike's
 * photos against its enrolled twin's are the impostor pairs, beside the same genuine pairs.
 */
import { resolveLocalModel } from '../models/registry.ts';
import { ClipModel } from '../clip/model.ts';
import { toPixelValues } from '../clip/preprocess.ts';
import { loadDataset } from '../data/dataset.ts';
import { alignMatrix } from '../preprocess/align.ts';
import { decodeImage, warpAffineRgb, type RgbImage } from '../runtime/image.ts';
import { faceApiEmbedder, humanEmbedder } from '../baselines/tfjs-embedders.ts';
import type { FaceEmbedder } from '../baselines/embedder-types.ts';
import { encodeImages, pairScores, verification, type Verification } from '../pretrain/evaluate.ts';
import { normalizeRows } from '../util/rows.ts';
import { join } from 'node:path';

export interface DemoVerification {
  dataset: string;
  photos: number;
  people: number;
  clip: Verification & { model: string; margin: number };
  /** the teaching CLIP on lookalike-vs-twin impostor pairs only, by parts changed (absent: no lookalikes) */
  lookalikes?: (Verification & { distance: number })[];
  faces: (Verification & { embedder: string; margin: number; inputSize: number })[];
}

const crop = (img: RgbImage, kp: [number, number][], size: number, margin: number) => warpAffineRgb(img, alignMatrix(kp, { size, margin }), size, size);

export async function demoVerification(modelDir: string, datasetDir: string, opts: { clipMargin?: number; say?: (s: string) => void } = {}): Promise<DemoVerification> {
  const say = opts.say ?? (() => {});
  const ds = loadDataset(datasetDir);
  const twinOf = new Map(ds.manifest.identities.filter((i) => i.lookalikeOf !== undefined).map((i) => [i.id, { of: i.lookalikeOf!, d: i.lookalikeDistance ?? 0 }]));
  const all = ds.manifest.images.filter((im) => im.keypoints);
  const entries = all.filter((im) => !twinOf.has(im.identity));
  const ids = entries.map((e) => e.identity);
  const photos = await Promise.all(entries.map((e) => decodeImage(join(ds.root, e.path))));
  const files = resolveLocalModel(modelDir);
  const model = ClipModel.load(files.configPath, files.weightsPath);
  const s = model.cfg.vision.imageSize, d = model.cfg.embedDim, clipMargin = opts.clipMargin ?? 0.25;
  const pixels = new Float32Array(entries.length * 3 * s * s);
  photos.forEach((img, i) => toPixelValues(crop(img, entries[i]!.keypoints!, s, clipMargin), model.cfg.preprocess.mean, model.cfg.preprocess.std, pixels, i * 3 * s * s));
  const feats = normalizeRows(encodeImages(model, pixels, entries.length), d);
  const c = pairScores(feats, d, ids);
  say(`teaching CLIP: ${c.genuine.length} genuine / ${c.impostor.length} impostor pairs`);
  const looks = all.filter((im) => twinOf.has(im.identity));
  let lookalikes: DemoVerification['lookalikes'];
  if (looks.length) {
    const lp = new Float32Array(looks.length * 3 * s * s);
    for (let i = 0; i < looks.length; i++) toPixelValues(crop(await decodeImage(join(ds.root, looks[i]!.path)), looks[i]!.keypoints!, s, clipMargin), model.cfg.preprocess.mean, model.cfg.preprocess.std, lp, i * 3 * s * s);
    const lf = normalizeRows(encodeImages(model, lp, looks.length), d);
    const byD = new Map<number, number[]>();
    looks.forEach((lk, i) => {
      const t = twinOf.get(lk.identity)!;
      entries.forEach((e, j) => {
        if (e.identity !== t.of) return;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += lf[i * d + k]! * feats[j * d + k]!;
        (byD.get(t.d) ?? byD.set(t.d, []).get(t.d)!).push(dot);
      });
    });
    lookalikes = [...byD.keys()].sort((a, b) => a - b).map((dist) => ({ distance: dist, ...verification(c.genuine, byD.get(dist)!) }));
    say(`teaching CLIP vs lookalikes: ${lookalikes.map((l) => `${l.distance} part(s) AUC ${l.auc.toFixed(3)}`).join(', ')}`);
  }
  const faces: DemoVerification['faces'] = [];
  for (const make of [faceApiEmbedder, humanEmbedder]) {
    const emb: FaceEmbedder = await make();
    try {
      for (const margin of [0, 0.25]) {
        const raw = new Float32Array(photos.length * emb.dim);
        for (let i = 0; i < photos.length; i += 32) { // in chunks: the wasm heap holds 4 GB
          const part = photos.slice(i, i + 32).map((img, j) => crop(img, entries[i + j]!.keypoints!, emb.inputSize, margin));
          raw.set(await emb.embed(part), i * emb.dim);
        }
        const rows = normalizeRows(raw, emb.dim);
        const f = pairScores(rows, emb.dim, ids);
        faces.push({ embedder: emb.description, margin, inputSize: emb.inputSize, ...verification(f.genuine, f.impostor) });
        say(`${emb.description} margin ${margin}: AUC ${faces.at(-1)!.auc.toFixed(4)}`);
      }
    } finally { await emb.dispose(); }
  }
  model.dispose();
  return { dataset: ds.root, photos: entries.length, people: new Set(ids).size, clip: { model: files.weightsPath, margin: clipMargin, ...verification(c.genuine, c.impostor) }, ...(lookalikes ? { lookalikes } : {}), faces };
}
