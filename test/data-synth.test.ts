/** The synthetic demo dataset: byte-identical per seed, schema-valid, exact keypoints, distinct identities. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadDataset } from '../lib/data/dataset.ts';
import { streamRng } from '../lib/util/rng.ts';
import { schemaErrors } from '../lib/data/schema.ts';
import { splitDataset } from '../lib/data/split.ts';
import { generateFaces } from '../lib/data/synth-face.ts';
import { synthDataset } from '../lib/data/synth.ts';
import { decodeImage } from '../lib/runtime/image.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const tmp = () => mkdtempSync(join(tmpdir(), 'clipface-synth-'));
const small = { seed: 5, identities: 3, unknown: 1, perIdentity: 5, deployFrames: 2, size: 128 };

/** relative path → sha256 of every file under `root` */
function hashes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out[r] = createHash('sha256').update(readFileSync(join(root, r))).digest('hex');
    }
  };
  walk('');
  return out;
}

test('same seed twice: byte-identical files; the manifest validates and loads without problems', async () => {
  const a = tmp(), b = tmp();
  const ra = await synthDataset(a, small);
  await synthDataset(b, small);
  const ha = hashes(a), hb = hashes(b);
  assert.equal(Object.keys(ha).length, 1 + 4 * 5 + 4 * 2, 'manifest + 20 photos + 8 deployment frames');
  assert.deepEqual(ha, hb);
  assert.ok(!Object.keys(ha).some((p) => p.includes('.tmp')), 'no temp files left');
  const raw = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8'));
  assert.deepEqual(schemaErrors(raw), []);
  assert.deepEqual(raw, JSON.parse(JSON.stringify(ra.manifest)));
  const ds = loadDataset(a, { verifyHashes: true });
  assert.deepEqual(ds.problems, []);
  assert.deepEqual(ds.manifest.identities.map((i) => i.role), ['known', 'known', 'known', 'unknown']);
  assert.equal(new Set(ds.manifest.identities.map((i) => i.name)).size, 4, 'distinct display names');
  const views = ds.manifest.images.filter((im) => im.session === 'enrol' && im.identity === 'p01').map((im) => im.view);
  assert.deepEqual(views, ['front', 'above', 'below', 'left', 'right']);
  assert.deepEqual(ds.manifest.deployment!.map((s) => [s.subject, s.known, s.frames.length]),
    [['p01', true, 2], ['p02', true, 2], ['p03', true, 2], ['p04', false, 2]]);
  const split = splitDataset(ds.manifest, { seed: 0 });
  assert.equal(split.deployment.length, 8);
  assert.ok(split.train.every((im) => im.identity !== 'p04'));
  const img = await decodeImage(join(a, 'p02', 'left-01.jpg'));
  assert.deepEqual([img.width, img.height], [128, 128]);

  const c = tmp();
  await synthDataset(c, { ...small, seed: 6 });
  assert.notEqual(hashes(c)['p01/front-01.jpg'], ha['p01/front-01.jpg'], 'another seed, other pixels');
  // per-image streams: fewer identities and photos leave the remaining files unchanged
  const d = tmp();
  await synthDataset(d, { ...small, identities: 2, unknown: 0, perIdentity: 3 });
  for (const f of ['p01/front-01.jpg', 'p02/below-01.jpg', 'p02/deploy-02.jpg']) assert.equal(hashes(d)[f], ha[f], f);
});

test('ground-truth keypoints: inside the image, ArcFace order, left to right as seen', async () => {
  const out = tmp();
  const { manifest } = await synthDataset(out, { seed: 11, identities: 4, unknown: 1, perIdentity: 10, deployFrames: 1, size: 160 });
  for (const im of manifest.images) {
    const k = im.keypoints!;
    assert.equal(k.length, 5);
    for (const [x, y] of k) assert.ok(x >= 0 && y >= 0 && x <= 159 && y <= 159, `${im.path}: ${x},${y} outside`);
    const [eL, eR, nose, mL, mR] = k;
    assert.ok(eL[0] < eR[0], `${im.path}: eyes left to right`);
    assert.ok(mL[0] < mR[0], `${im.path}: mouth corners left to right`);
    const eyeY = (eL[1] + eR[1]) / 2, mouthY = (mL[1] + mR[1]) / 2;
    assert.ok(eyeY < nose[1] && nose[1] < mouthY, `${im.path}: eyes above nose above mouth`);
    const iod = Math.hypot(eR[0] - eL[0], eR[1] - eL[1]);
    assert.ok(iod > 15 && iod < 80, `${im.path}: inter-ocular distance ${iod}`);
  }
  // yaw moves the nose towards the side the face turns to
  const noseOffset = (view: string) => {
    const list = manifest.images.filter((im) => im.view === view && im.session === 'enrol');
    return list.reduce((s, im) => { const k = im.keypoints!; return s + k[2][0] - (k[0][0] + k[1][0]) / 2; }, 0) / list.length;
  };
  assert.ok(noseOffset('left') < -3 && noseOffset('right') > 3, `left ${noseOffset('left')}, right ${noseOffset('right')}`);
});

test('identities differ by construction: ≥ 5 of 8 part ids, no shared eye + hair', () => {
  const faces = generateFaces(streamRng('test', 1), 24);
  const parts = ['head', 'eye', 'nose', 'hair', 'eyebrow', 'mouth', 'facialHair', 'ear'] as const;
  for (let i = 0; i < faces.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = faces[i]!.face, b = faces[j]!.face;
      const differ = parts.filter((p) => (a[p] as { id: string }).id !== (b[p] as { id: string }).id).length;
      assert.ok(differ >= 5, `faces ${i} and ${j} differ in ${differ} parts`);
      assert.ok(!(a.eye.id === b.eye.id && a.hair.id === b.hair.id));
    }
    assert.ok(!['nose4', 'pinocchio'].includes(faces[i]!.face.nose.id));
  }
  assert.deepEqual(generateFaces(streamRng('test', 1), 24), faces, 'seeded');
});

test('data synth CLI: writes the set, refuses a foreign non-empty folder, replaces an earlier set', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'lib/cli/main.ts'), 'data', 'synth', ...args], { cwd: repoRoot, encoding: 'utf8' });
  const out = join(tmp(), 'demo');
  let r = run('--out', out, '--seed', '2', '--identities', '2', '--unknown', '0', '--per-identity', '2', '--deploy-frames', '0', '--size', '96');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  assert.deepEqual(Object.keys(hashes(out)).sort(), ['manifest.json', 'p01/above-01.jpg', 'p01/front-01.jpg', 'p02/above-01.jpg', 'p02/front-01.jpg']);
  r = run('--out', out, '--seed', '2', '--identities', '1', '--unknown', '0', '--per-identity', '1', '--deploy-frames', '0', '--size', '96');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(Object.keys(hashes(out)).sort(), ['manifest.json', 'p01/front-01.jpg'], 'old images removed');
  assert.ok(!existsSync(join(out, 'p02')), 'and their emptied folders');
  const foreign = tmp();
  writeFileSync(join(foreign, 'holiday.jpg'), 'x');
  r = run('--out', foreign);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /is not empty and holds no synthetic dataset/);
  assert.ok(!existsSync(join(foreign, 'manifest.json')));
  r = run('--out', out, '--identities', 'ten');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--identities must be a non-negative integer/);
});
