/**
 * Image-to-image verification of several image towers on one dataset's people, on the same crops
 * in the same run: every photo with ground-truth keypoints (enrolment and deployment frames) is
 * aligned with its exact 5 points (ArcFace template, `margin`) at each tower's input size, encoded,
 * and every pair scored by cosine; same person = genuine (the 1:1 protocol of evaluate.ts).
 * Used to set the ArcFace tower beside the teaching CLIP's image tower (issue 11).
 */
import { join } from 'node:path';
import { toPixelValues } from '../clip/preprocess.ts';
import { loadDataset } from '../data/dataset.ts';
import { alignMatrix } from '../preprocess/align.ts';
import { decodeImage, warpAffineRgb } from '../runtime/image.ts';
import { normalizeRows } from '../util/rows.ts';
import { encodeImages, pairScores, verification, type ImageModel, type Verification } from './evaluate.ts';

export interface TowerVerification { dataset: string; photos: number; people: number; margin: number; towers: (Verification & { name: string })[] }

export async function towerVerification(towers: { name: string; model: ImageModel }[], datasetDir: string, margin: number): Promise<TowerVerification> {
  const ds = loadDataset(datasetDir);
  const entries = ds.manifest.images.filter((im) => im.keypoints);
  const ids = entries.map((e) => e.identity);
  const photos = await Promise.all(entries.map((e) => decodeImage(join(ds.root, e.path))));
  const out: TowerVerification['towers'] = [];
  for (const { name, model } of towers) {
    const s = model.cfg.vision.imageSize, d = model.cfg.embedDim, per = 3 * s * s;
    const pixels = new Float32Array(entries.length * per);
    photos.forEach((img, i) => toPixelValues(warpAffineRgb(img, alignMatrix(entries[i]!.keypoints!, { size: s, margin }), s, s), model.cfg.preprocess.mean, model.cfg.preprocess.std, pixels, i * per));
    const p = pairScores(normalizeRows(encodeImages(model, pixels, entries.length), d), d, ids);
    out.push({ name, ...verification(p.genuine, p.impostor) });
  }
  return { dataset: ds.root, photos: entries.length, people: new Set(ids).size, margin, towers: out };
}
