/**
 * The shipped ArcFace tower (models/teaching-arcface): its files match the sha256 and sizes pinned
 * in models/registry.json, it resolves through the registry like any open_clip folder and loads
 * through the image-tower loader (the teaching-arcface embedder's path), and it still gives the
 * embeddings recorded when it shipped (scripts/ship-teaching-arcface.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initTf } from '../lib/runtime/tf.ts';
import { repoRoot } from '../lib/util/paths.ts';
import { resolveLocalModel } from '../lib/models/registry.ts';
import { assertShippedPins } from './helpers/shipped.ts';
import { ImageTowerModel } from '../lib/pretrain/image-tower.ts';
import { referenceInputs } from '../lib/pretrain/reference.ts';
import { TEACHING_ARCFACE_ID, teachingArcfaceEmbedder } from '../lib/baselines/teaching-arcface.ts';

await initTf({ quiet: true });

test('teaching ArcFace: files match the registry sha256 and sizes; fp16 image tower only, ≤ 4 MB', () => {
  const { dir, entry } = assertShippedPins(TEACHING_ARCFACE_ID, 4);
  assert.equal(entry.family, 'arcface');
  const report = JSON.parse(readFileSync(join(dir, 'pretrain-report.json'), 'utf8'));
  assert.equal(report.objective, 'arcface');
  assert.deepEqual({ s: report.arcface.scale, m: report.arcface.margin }, { s: 64, m: 0.5 });
});

test('teaching ArcFace: the recorded reference embeddings, through the registry and the image-tower loader', () => {
  const files = resolveLocalModel(TEACHING_ARCFACE_ID);
  const model = ImageTowerModel.load(files.configPath, files.weightsPath);
  const ref = JSON.parse(readFileSync(join(files.dir, 'reference-embeddings.json'), 'utf8')) as { images: number[][] };
  const { pixels, n } = referenceInputs(model.cfg.vision.imageSize);
  const img = model.encodeImage(pixels, n).arraySync();
  const scale = Math.max(...ref.images.flat().map(Math.abs));
  const maxDiff = Math.max(...img.flatMap((r, i) => r.map((x, j) => Math.abs(x - ref.images[i]![j]!))));
  assert.ok(maxDiff <= 1e-4 * scale, `image features differ by ${maxDiff}`);
  model.dispose();
});

test('teaching ArcFace embedder: crops at the shipped config\'s image_size in, 128-d descriptors out; a documented threshold from held-out people', async () => {
  const e = await teachingArcfaceEmbedder();
  try {
    const size = JSON.parse(readFileSync(join(repoRoot, 'models', 'teaching-arcface', 'open_clip_config.json'), 'utf8')).model_cfg.vision_cfg.image_size;
    assert.equal(e.inputSize, size);
    assert.equal(e.dim, 128);
    assert.equal(e.documented?.metric, 'cosine');
    assert.ok(e.documented!.threshold > -1 && e.documented!.threshold < 1);
    const img = (v: number) => ({ width: size, height: size, data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * v) % 251), source: `img${v}` });
    const out = await e.embed([img(3), img(7)]);
    assert.equal(out.length, 2 * 128);
    assert.ok(out.every(Number.isFinite));
    assert.ok(out.slice(0, 128).some((x, i) => x !== out[128 + i]), 'two different crops, two different descriptors');
  } finally { await e.dispose(); }
});
