/**
 * The embedded detectors (face-api SSD + 68 landmarks, human BlazeFace + mesh, their union) on a
 * few synthetic faces with exact ground-truth keypoints, and `clipface data prepare` end to end.
 * Model loading is ~2 s, each image 0.05–0.4 s on 2 cores: the file stays well under a minute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthDataset } from '../lib/data/synth.ts';
import { loadDataset } from '../lib/data/dataset.ts';
import { decodeImage, encodePng } from '../lib/runtime/image.ts';
import { createDetector, pickFace, type Detection } from '../lib/preprocess/detector.ts';
import { fivePointsFrom68 } from '../lib/preprocess/detectors/face-api.ts';
import { fivePointsFromMesh } from '../lib/preprocess/detectors/human.ts';
import { keypointErrors } from '../lib/preprocess/evaluate-detection.ts';
import { runPrepareCommand } from '../lib/cli/commands/prepare.ts';
import type { PrepareReport } from '../lib/preprocess/prepare.ts';

process.env.CLIPFACE_QUIET = '1';

const root = mkdtempSync(join(tmpdir(), 'clipface-synth-'));
const ready = synthDataset(root, { seed: 1, identities: 2, unknown: 0, perIdentity: 5, deployFrames: 0 });

test('68 → 5 points: eye-contour means, nose tip 30, mouth corners 48/54', () => {
  const pos = Array.from({ length: 68 }, (_, i) => ({ x: i, y: 2 * i }));
  const k = fivePointsFrom68(pos);
  assert.deepEqual(k, [[38.5, 77], [44.5, 89], [30, 60], [48, 96], [54, 108]]);
});

test('mesh → 5 points: iris centres paired with the nearer eye contour, nose 1, mouth 61/291', () => {
  const mesh = Array.from({ length: 478 }, () => [0, 0, 0]);
  for (const i of [246, 161, 160, 159, 158, 157, 173, 33, 7, 163, 144, 145, 153, 154, 155, 133]) mesh[i] = [10, 20, 0];
  for (const i of [466, 388, 387, 386, 385, 384, 398, 263, 249, 390, 373, 374, 380, 381, 382, 362]) mesh[i] = [50, 20, 0];
  mesh[468] = [51, 21, 0]; // next to the image-right eye, whatever human calls it
  mesh[473] = [11, 19, 0];
  mesh[1] = [30, 40, 0]; mesh[61] = [18, 60, 0]; mesh[291] = [42, 60, 0];
  assert.deepEqual(fivePointsFromMesh(mesh), [[11, 19], [51, 21], [30, 40], [18, 60], [42, 60]]);
  assert.deepEqual(fivePointsFromMesh(mesh.slice(0, 468))[0], [10, 20], 'no iris: contour mean');
});

function leftToRight(d: Detection): boolean {
  const k = d.keypoints5;
  return k[0][0] < k[1][0] && k[3][0] < k[4][0];
}

test('face-api, human and union find the synthetic faces with keypoints near the truth', async () => {
  await ready;
  const ds = loadDataset(root);
  const imgs = await Promise.all(ds.manifest.images.map((e) => decodeImage(join(root, e.path))));
  for (const spec of ['face-api', 'human', 'union']) {
    const det = await createDetector(spec);
    let found = 0;
    const errs: number[] = [];
    for (const [i, img] of imgs.entries()) {
      const p = pickFace(await det.detect(img), 'largest');
      if ('reason' in p) continue;
      found++;
      assert.ok(leftToRight(p), `${spec} ${ds.manifest.images[i].path}: keypoints ordered left to right`);
      const e = keypointErrors(p.keypoints5, ds.manifest.images[i].keypoints!);
      errs.push(e.reduce((a, b) => a + b) / 5);
    }
    errs.sort((a, b) => a - b);
    const median = errs[errs.length >> 1];
    console.log(`  ${spec}: ${found}/${imgs.length} detected, median NME ${median?.toFixed(3)}`);
    assert.ok(found >= (spec === 'union' ? 8 : 6), `${spec}: ${found}/${imgs.length} detected`);
    assert.ok(median < 0.15, `${spec}: median NME ${median}`);
  }
  // a blank image has no face
  const blank = { width: 200, height: 200, data: new Uint8Array(200 * 200 * 3).fill(200) };
  assert.equal((await (await createDetector('union')).detect(blank)).length, 0, 'no face on a blank image');
});

test('clipface data prepare: report for every image, crops, contact sheet; the rerun comes from the cache', async () => {
  await ready;
  writeFileSync(join(root, 'p01', 'blank.png'), await encodePng({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(90), source: 'blank' }));
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));
  manifest.images.push({ path: 'p01/blank.png', identity: 'p01', view: 'other', session: 'enrol' }, { path: '../escape.jpg', identity: 'p01', view: 'other', session: 'enrol' });
  writeFileSync(join(root, 'manifest.json'), JSON.stringify(manifest));
  const out = mkdtempSync(join(tmpdir(), 'clipface-prepare-'));
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(await runPrepareCommand([root, '--out', out, '--detector', 'union', '--size', '112', '--margin', '0']), 0);
  } finally { console.log = log; }
  const report = JSON.parse(readFileSync(join(out, 'prepare-report.json'), 'utf8')) as PrepareReport;
  assert.equal(report.images.length, 12, 'every manifest entry is in the report');
  const byPath = new Map(report.images.map((e) => [e.path, e]));
  assert.equal(byPath.get('p01/blank.png')?.code, 'no-face');
  assert.equal(byPath.get('../escape.jpg')?.code, 'path-outside-root');
  const ok = report.images.filter((e) => e.status === 'ok');
  assert.ok(ok.length >= 8, `${ok.length} crops`);
  for (const e of ok) {
    const crop = await decodeImage(join(out, e.crop!));
    assert.deepEqual([crop.width, crop.height], [112, 112]);
  }
  assert.ok(existsSync(join(out, 'contact-sheet.html')), 'contact sheet');
  console.log = () => {};
  try {
    assert.equal(await runPrepareCommand([root, '--out', out, '--size', '112', '--margin', '0']), 0);
  } finally { console.log = log; }
  const again = JSON.parse(readFileSync(join(out, 'prepare-report.json'), 'utf8')) as PrepareReport;
  assert.equal(again.summary.cached, ok.length + 1, 'ok crops and the no-face result come from the cache');
});
