/**
 * Ships a finished `clipface pretrain experiments/teaching-arcface.pretrain.json` run as the matched
 * face-recognition baseline (issue 11): copies its model/ folder (open_clip_config.json, the fp16
 * image tower, pretrain-report.json) to models/teaching-arcface/, records reference embeddings of
 * lib/pretrain/reference.ts's seeded pixels, writes its documented threshold (threshold.json: the
 * cosine minimising FMR + FNMR over every pair of the corpus's held-out people, never a demo set),
 * and pins the files in models/registry.json as `clipface/teaching-arcface`.
 *
 *   node --import tsx scripts/ship-teaching-arcface.ts [<run dir>]   (default results/pretrain/teaching-arcface)
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initTf } from '../lib/runtime/tf.ts';
import { ImageTowerModel } from '../lib/pretrain/image-tower.ts';
import { loadCorpus } from '../lib/pretrain/corpus.ts';
import { setFeatures } from '../lib/pretrain/heldout.ts';
import { pairScores } from '../lib/pretrain/evaluate.ts';
import { referenceInputs } from '../lib/pretrain/reference.ts';
import { pinShippedModel } from '../lib/models/registry.ts';
import { writeJsonAtomic } from '../lib/util/fs-atomic.ts';
import { repoRoot } from '../lib/util/paths.ts';

const run = resolve(process.argv[2] ?? join(repoRoot, 'results', 'pretrain', 'teaching-arcface'));
const src = join(run, 'model');
const dst = join(repoRoot, 'models', 'teaching-arcface');
const files = ['open_clip_config.json', 'open_clip_model.safetensors', 'pretrain-report.json'];
for (const f of files) if (!existsSync(join(src, f))) throw new Error(`${join(src, f)} is missing: is ${run} a finished clipface pretrain run?`);
const report = JSON.parse(readFileSync(join(src, 'pretrain-report.json'), 'utf8'));
if (report.objective !== 'arcface') throw new Error(`${run}: objective ${report.objective}, not arcface`);
mkdirSync(dst, { recursive: true });
for (const f of files) copyFileSync(join(src, f), join(dst, f));
await initTf({ quiet: true });

const model = ImageTowerModel.load(join(dst, 'open_clip_config.json'), join(dst, 'open_clip_model.safetensors'));
const size = model.cfg.vision.imageSize;
const { pixels, n } = referenceInputs(size);
const img = model.encodeImage(pixels, n);
writeJsonAtomic(join(dst, 'reference-embeddings.json'), {
  note: 'raw encode_image of lib/pretrain/reference.ts pixels with the shipped weights; test/pretrain-arcface-shipped.test.ts compares',
  images: img.arraySync(),
});
img.dispose();

// the documented threshold: balanced error on held-out people's pairs (FMR + FNMR minimal), the middle of the optimal plateau
const corpus = loadCorpus(resolve(repoRoot, 'experiments', report.config.corpus.dir)); // relative to the recipe's folder
const held = setFeatures(model, corpus, 'heldout');
const heldIds = held.images.map((k) => corpus.manifest.images[k]!.identity);
const { genuine, impostor } = pairScores(held.feats, model.cfg.embedDim, heldIds);
model.dispose();
const g = Float64Array.from(genuine).sort(), imp = Float64Array.from(impostor).sort();
const below = (xs: Float64Array, t: number) => { let lo = 0, hi = xs.length; while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid]! < t) lo = mid + 1; else hi = mid; } return lo; };
const rates = (t: number) => ({ fnmr: below(g, t) / g.length, fmr: (imp.length - below(imp, t)) / imp.length });
const values = [...new Set([...g, ...imp])].sort((a, b) => a - b);
let best = Infinity, ties: number[] = [];
for (let i = 1; i < values.length; i++) {
  const t = (values[i]! + values[i - 1]!) / 2, r = rates(t), c = r.fnmr + r.fmr;
  if (c < best - 1e-12) { best = c; ties = [t]; } else if (c <= best + 1e-12) ties.push(t);
}
const threshold = Number(ties[Math.floor((ties.length - 1) / 2)]!.toFixed(6));
const { fnmr, fmr } = rates(threshold);
writeJsonAtomic(join(dst, 'threshold.json'), {
  metric: 'cosine', threshold,
  stated: `cosine ≥ ${threshold} (FMR + FNMR minimal over every pair of the teaching corpus's ${new Set(heldIds).size} held-out people: FNMR ${fnmr.toFixed(3)}, FMR ${fmr.toFixed(3)})`,
  source: 'models/teaching-arcface/threshold.json, written by scripts/ship-teaching-arcface.ts on people never seen in training and never in a demo set',
});

const pins = pinShippedModel(dst, {
  id: 'clipface/teaching-arcface', family: 'arcface', architecture: 'teaching-vit',
  licenceNote: 'Trained by this project on synthetic cartoon faces (facesjs, Apache-2.0) from a random init; see models/teaching-arcface/MODEL_CARD.md. A teaching baseline, not a face-recognition system: it has never seen a real face.',
  preprocessNote: `trained on ${size} px crops aligned with the ArcFace template and preprocess.margin 0.25, as the teaching CLIP`,
  paper: { title: 'ArcFace: Additive Angular Margin Loss for Deep Face Recognition', authors: 'Deng, Guo, Xue, Zafeiriou', year: 2019, venue: 'CVPR', url: 'https://arxiv.org/abs/1801.07698' },
  note: 'image tower only (visual.* tensors; the teaching CLIP\'s architecture, no text tower): method.embedder "teaching-arcface" (lib/baselines/teaching-arcface.ts); retrain with clipface pretrain experiments/teaching-arcface.pretrain.json',
});
process.stdout.write(`${dst}: ${pins.map((f) => `${f.name} ${f.bytes} B sha256 ${f.sha256}`).join('; ')}; documented threshold cosine ${threshold}\n`);
process.exit(0);
