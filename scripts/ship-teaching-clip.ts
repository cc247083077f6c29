/**
 * Ships a finished `clipface pretrain` run as the teaching CLIP: copies its model/ folder
 * (open_clip_config.json, open_clip_model.safetensors, pretrain-report.json) to models/teaching-clip/,
 * pins the files' sha256 and sizes in models/registry.json (`clipface/teaching-clip`), and records
 * reference embeddings (seeded pixels, three prompts) that test/teaching-clip.test.ts checks.
 *
 *   npm run -s teaching:ship [-- <run dir>]        (default results/pretrain/teaching-clip)
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initTf } from '../lib/runtime/tf.ts';
import { ClipModel } from '../lib/clip/model.ts';
import { ClipTokenizer } from '../lib/clip/tokenizer.ts';
import { pinShippedModel } from '../lib/models/registry.ts';
import { writeJsonAtomic } from '../lib/util/fs-atomic.ts';
import { repoRoot } from '../lib/util/paths.ts';
import { referenceInputs } from '../lib/pretrain/reference.ts';

const run = resolve(process.argv[2] ?? join(repoRoot, 'results', 'pretrain', 'teaching-clip'));
const src = join(run, 'model');
const dst = join(repoRoot, 'models', 'teaching-clip');
const files = ['open_clip_config.json', 'open_clip_model.safetensors', 'pretrain-report.json'];
for (const f of files) if (!existsSync(join(src, f))) throw new Error(`${join(src, f)} is missing: is ${run} a finished clipface pretrain run?`);
mkdirSync(dst, { recursive: true });
for (const f of files) copyFileSync(join(src, f), join(dst, f));
await initTf({ quiet: true });

const model = ClipModel.load(join(dst, 'open_clip_config.json'), join(dst, 'open_clip_model.safetensors'));
const size = model.cfg.vision.imageSize;
const { pixels, n, prompts } = referenceInputs(size);
const img = model.encodeImage(pixels, n);
const txt = model.encodeText(ClipTokenizer.load().tokenize(prompts, model.cfg.text.contextLength).tokens);
writeJsonAtomic(join(dst, 'reference-embeddings.json'), {
  note: 'raw encode_image / encode_text of lib/pretrain/reference.ts inputs with the shipped weights; test/teaching-clip.test.ts compares',
  images: img.arraySync(), prompts, texts: txt.arraySync(),
});
model.dispose();

const pins = pinShippedModel(dst, {
  id: 'clipface/teaching-clip', family: 'clip', architecture: 'teaching-vit',
  licenceNote: "Trained by this project on synthetic cartoon faces (facesjs, Apache-2.0) from a random init; see models/teaching-clip/MODEL_CARD.md. It shows the paper's mechanism, not CLIP-RN50's numbers; not a face-recognition system.",
  preprocessNote: `trained on ${size} px crops aligned with the ArcFace template and preprocess.margin 0.25`,
  paper: { title: 'Learning Transferable Visual Models From Natural Language Supervision', authors: 'Radford, Kim, Hallacy, Ramesh, Goh, Agarwal, Sastry, Askell, Mishkin, Clark, Krueger, Sutskever', year: 2021, venue: 'ICML', url: 'https://arxiv.org/abs/2103.00020' },
  note: 'the offline default of every experiment that names no model (lib/services/model-source.ts); retrain with clipface pretrain experiments/teaching-clip.pretrain.json',
});
process.stdout.write(`${dst}: ${pins.map((f) => `${f.name} ${f.bytes} B sha256 ${f.sha256}`).join('; ')}\n`);
process.exit(0);
