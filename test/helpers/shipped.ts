/**
 * A model this project ships (models/<name>/, pinned in models/registry.json): every pinned file
 * has its recorded sha256 and size, and the weights stay under the size the repository allows.
 * Returns the model's folder. Used by the teaching CLIP's and the ArcFace tower's tests.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { getModel, resolveLocalModel } from '../../lib/models/registry.ts';
import { sha256FileSync } from '../../lib/util/hash.ts';

export function assertShippedPins(id: string, maxWeightsMiB: number): { dir: string; entry: ReturnType<typeof getModel> } {
  const entry = getModel(id);
  assert.equal(entry.source, 'shipped');
  const { dir } = resolveLocalModel(id);
  for (const f of entry.files) {
    const p = join(dir, f.name);
    assert.equal(sha256FileSync(p), f.sha256, `${p} sha256`);
    assert.equal(statSync(p).size, f.bytes, `${p} size`);
  }
  assert.ok(statSync(join(dir, 'open_clip_model.safetensors')).size <= maxWeightsMiB * 2 ** 20);
  return { dir, entry };
}
