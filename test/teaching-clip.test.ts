/**
 * The shipped teaching CLIP (models/teaching-clip): its files match the sha256 and sizes pinned in
 * models/registry.json, it loads through the open_clip path real weights take, and it still gives
 * the embeddings recorded when it shipped (scripts/ship-teaching-clip.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initTf } from '../lib/runtime/tf.ts';
import { resolveLocalModel } from '../lib/models/registry.ts';
import { assertShippedPins } from './helpers/shipped.ts';
import { ClipModel } from '../lib/clip/model.ts';
import { ClipTokenizer } from '../lib/clip/tokenizer.ts';
import { referenceInputs } from '../lib/pretrain/reference.ts';
import { TEACHING_CLIP_ID } from '../lib/services/model-source.ts';

await initTf({ quiet: true });

test('teaching CLIP: files match the registry sha256 and sizes; ≤ 16 MB', () => {
  assertShippedPins(TEACHING_CLIP_ID, 16);
});

test('teaching CLIP: the recorded reference embeddings, through the open_clip loading path', () => {
  const files = resolveLocalModel(TEACHING_CLIP_ID);
  const model = ClipModel.load(files.configPath, files.weightsPath);
  const ref = JSON.parse(readFileSync(join(files.dir, 'reference-embeddings.json'), 'utf8')) as { images: number[][]; prompts: string[]; texts: number[][] };
  const { pixels, n, prompts } = referenceInputs(model.cfg.vision.imageSize);
  assert.deepEqual(prompts, ref.prompts);
  const img = model.encodeImage(pixels, n).arraySync();
  const txt = model.encodeText(ClipTokenizer.load().tokenize(prompts, model.cfg.text.contextLength).tokens).arraySync();
  const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((r, i) => r.map((x, j) => Math.abs(x - b[i]![j]!))));
  const scale = Math.max(...ref.images.flat().map(Math.abs), ...ref.texts.flat().map(Math.abs));
  assert.ok(maxDiff(img, ref.images) <= 1e-4 * scale, `image features differ by ${maxDiff(img, ref.images)}`);
  assert.ok(maxDiff(txt, ref.texts) <= 1e-4 * scale, `text features differ by ${maxDiff(txt, ref.texts)}`);
  model.dispose();
});
