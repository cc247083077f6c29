/**
 * The ArcFace tower beside the teaching CLIP's image tower, measured in one run on people neither
 * saw in training (issue 11), written to models/teaching-arcface/verification.json (MODEL_CARD.md
 * quotes it):
 *   - the demo set's people (every photo with ground-truth keypoints, every pair; same 64 px crops,
 *     ArcFace template with the 0.25 margin both were trained on);
 *   - the teaching corpus's held-out people and its near-twin set (all pairs, and twins only).
 * Verification = ROC AUC and TAR at FAR 1e-2 / 1e-3 of cosine scores (lib/pretrain/evaluate.ts).
 *
 *   node --import tsx scripts/teaching-arcface-verification.ts [<demo dataset dir>]   (default data/demo)
 */
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { initTf } from '../lib/runtime/tf.ts';
import { ClipModel } from '../lib/clip/model.ts';
import { resolveLocalModel } from '../lib/models/registry.ts';
import { ImageTowerModel } from '../lib/pretrain/image-tower.ts';
import { loadCorpus } from '../lib/pretrain/corpus.ts';
import { evaluateTowers } from '../lib/pretrain/heldout.ts';
import { towerVerification } from '../lib/pretrain/demo-verification.ts';
import { TEACHING_ARCFACE_ID, teachingArcfaceFiles } from '../lib/baselines/teaching-arcface.ts';
import { TEACHING_CLIP_ID } from '../lib/services/model-source.ts';
import { writeJsonAtomic } from '../lib/util/fs-atomic.ts';
import { repoRoot } from '../lib/util/paths.ts';

const demo = resolve(process.argv[2] ?? join(repoRoot, 'data', 'demo'));
const say = (s: string) => process.stderr.write(`verification: ${s}\n`);
await initTf({ quiet: true });

const arcFiles = teachingArcfaceFiles(); // sha256 checked against the registry
const arc = ImageTowerModel.load(arcFiles.configPath, arcFiles.weightsPath);
const clipFiles = resolveLocalModel(TEACHING_CLIP_ID);
const clip = ClipModel.load(clipFiles.configPath, clipFiles.weightsPath);
const report = JSON.parse(readFileSync(join(arcFiles.dir, 'pretrain-report.json'), 'utf8'));
const corpus = loadCorpus(resolve(repoRoot, 'experiments', report.config.corpus.dir));

const demoV = await towerVerification([{ name: 'teaching CLIP image tower', model: clip }, { name: 'teaching ArcFace tower', model: arc }], demo, 0.25);
for (const t of demoV.towers) say(`demo ${t.name}: AUC ${t.auc.toFixed(4)}, TAR@FAR1e-2 ${t.tar[0]!.tar.toFixed(3)}`);
const corpusV = [{ name: 'teaching CLIP image tower', model: clip }, { name: 'teaching ArcFace tower', model: arc }].map(({ name, model }) => {
  const ev = evaluateTowers(model, null, corpus);
  say(`corpus ${name}: held-out AUC ${ev.heldout.auc.toFixed(4)} TAR@FAR1e-2 ${ev.heldout.tar[0]!.tar.toFixed(3)}; near-twins TAR@FAR1e-2 ${ev.hard.tar[0]!.tar.toFixed(3)}, twins only AUC ${ev.hard.twinsOnly.auc.toFixed(4)}`);
  return { name, heldout: ev.heldout, hard: ev.hard };
});
arc.dispose();
clip.dispose();
const rel = (p: string) => relative(repoRoot, p) || '.';
const out = join(arcFiles.dir, 'verification.json');
writeJsonAtomic(out, {
  measuredAt: new Date().toISOString(),
  models: { [TEACHING_ARCFACE_ID]: arcFiles.sha256, [TEACHING_CLIP_ID]: clipFiles.entry?.files.find((f) => f.name.endsWith('.safetensors'))?.sha256 ?? null },
  demo: { ...demoV, dataset: rel(demoV.dataset) },
  corpus: { dir: rel(corpus.dir), towers: corpusV },
});
process.stdout.write(out + '\n');
process.exit(0);
