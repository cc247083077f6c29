/**
 * The like-for-like face-recognition baseline (issue 11): the teaching CLIP's image-tower
 * architecture trained by `clipface pretrain experiments/teaching-arcface.pretrain.json` with
 * ArcFace (s 64, m 0.5) on the same identities and photos, shipped in models/teaching-arcface/ and
 * pinned in models/registry.json (`clipface/teaching-arcface`). Where face-api and Human learnt
 * from real photos, this one saw exactly the cartoon world the teaching CLIP saw.
 *
 * It reads the crops the run prepared at its input size (its config's image_size, the ArcFace template with
 * preprocess.margin, 0.25 in the demo: the corpus's own crop), normalises them as CLIP does and
 * runs the tower on tfjs. Its documented threshold (threshold.json, written when it shipped) was
 * chosen on the corpus's held-out people, never on a demo set.
 */
import { noteWeightsFile } from '../util/weights-used.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clipCrop, toPixelValues } from '../clip/preprocess.ts';
import { resolveLocalModel } from '../models/registry.ts';
import { ImageTowerModel } from '../pretrain/image-tower.ts';
import type { RgbImage } from '../runtime/image.ts';
import { UserError } from '../util/errors.ts';
import { sha256FileSync } from '../util/hash.ts';
import type { FaceEmbedder } from './embedder-types.ts';
import type { DocumentedRecipe } from './thresholds.ts';

export const TEACHING_ARCFACE_ID = 'clipface/teaching-arcface';

/** The shipped folder's files, checked against the registry's sha256 pins. */
export function teachingArcfaceFiles(): { dir: string; configPath: string; weightsPath: string; sha256: string } {
  const files = resolveLocalModel(TEACHING_ARCFACE_ID);
  let weights = '';
  for (const f of files.entry!.files) {
    const p = join(files.dir, f.name);
    const sha = sha256FileSync(p);
    if (f.sha256 && sha !== f.sha256) throw new UserError(`${p}: sha256 ${sha} does not match the registry's ${f.sha256} for ${TEACHING_ARCFACE_ID}; restore it with git checkout ${p}`);
    if (p === files.weightsPath) weights = sha;
  }
  return { dir: files.dir, configPath: files.configPath, weightsPath: files.weightsPath, sha256: weights };
}

function documentedRecipe(dir: string): DocumentedRecipe | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'threshold.json'), 'utf8')) as DocumentedRecipe;
  } catch {
    return null;
  }
}

export async function teachingArcfaceEmbedder(): Promise<FaceEmbedder> {
  const f = teachingArcfaceFiles();
  const model = ImageTowerModel.load(f.configPath, f.weightsPath);
  noteWeightsFile(f.weightsPath, f.sha256);
  const s = model.cfg.vision.imageSize, dim = model.cfg.embedDim, per = 3 * s * s;
  const { mean, std } = model.cfg.preprocess;
  return {
    id: `${TEACHING_ARCFACE_ID}:${f.sha256.slice(0, 16)}`,
    description: `teaching ArcFace tower (ViT ${s} px, ${dim}-d, ArcFace s 64 m 0.5 on the teaching corpus)`,
    inputSize: s, dim, documented: documentedRecipe(f.dir),
    cropNote: `trained on ${s} px crops aligned with the ArcFace template, margin 0.25 (the teaching corpus)`,
    async embed(images: RgbImage[]) {
      const px = new Float32Array(images.length * per);
      images.forEach((im, i) => toPixelValues(im.width === s && im.height === s ? im : clipCrop(im, s), mean, std, px, i * per));
      const t = model.encodeImage(px, images.length);
      const out = Float32Array.from(t.dataSync() as Float32Array);
      t.dispose();
      return out;
    },
    async dispose() { model.dispose(); },
  };
}
