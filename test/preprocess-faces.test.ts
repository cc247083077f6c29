/**
 * Face preprocessing: alignment maths, the crop cache, and a dataset full of bad inputs.
 *
 * The pipeline tests use a "marker" detector: test images carry 5 coloured squares where the
 * keypoints are, and the detector returns their centroids. That makes the expected keypoints exact,
 * so the tests check EXIF handling, alignment and the warp end to end (the crop must show each
 * colour at its template position) without the cost of a neural detector. Real detectors are
 * tested in preprocess-faces-detectors.test.ts. sharp is imported here only to MAKE fixtures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, warpAffineRgb, type RgbImage } from '../lib/runtime/image.ts';
import { ARCFACE_TEMPLATE_112, alignMatrix, applyAffine, estimateSimilarity, invertAffine, templateFor, type Affine, type Point } from '../lib/preprocess/align.ts';
import { pickFace, type Detection, type FaceDetector } from '../lib/preprocess/detector.ts';
import { prepareDataset, resolveInside, type PrepareItem, type PrepareReport } from '../lib/preprocess/prepare.ts';
import { itemsFromDataset, skippedFromProblems } from '../lib/preprocess/prepare-items.ts';
import { loadDataset } from '../lib/data/dataset.ts';

const close = (a: number, b: number, eps: number, msg = '') => assert.ok(Math.abs(a - b) <= eps, `${msg} ${a} vs ${b} (eps ${eps})`);

// ---------------------------------------------------------------- alignment

test('estimateSimilarity recovers a known similarity exactly (Umeyama, no noise)', () => {
  const s = 1.7, th = 0.6, tx = -12.5, ty = 40.25;
  const truth: Affine = [[s * Math.cos(th), -s * Math.sin(th), tx], [s * Math.sin(th), s * Math.cos(th), ty]];
  const src: Point[] = [[10, 20], [60, 22], [35, 50], [15, 80], [58, 79]];
  const dst = src.map((p) => applyAffine(truth, p));
  const m = estimateSimilarity(src, dst);
  for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) close(m[r][c], truth[r][c], 1e-9, `m[${r}][${c}]`);
  const back = invertAffine(m);
  dst.forEach((q, i) => { const p = applyAffine(back, q); close(p[0], src[i][0], 1e-9); close(p[1], src[i][1], 1e-9); });
});

test('estimateSimilarity never reflects: a mirrored point set gets a proper rotation', () => {
  const src: Point[] = ARCFACE_TEMPLATE_112.map(([x, y]) => [112 - x, y]);
  const m = estimateSimilarity(src, ARCFACE_TEMPLATE_112 as Point[]);
  const det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  assert.ok(det > 0, `determinant ${det} must be positive`);
});

test('least squares: noisy points give the minimum-residual similarity', () => {
  const src: Point[] = [[0, 0], [10, 0], [5, 6], [1, 11], [9, 11]];
  const dst: Point[] = src.map(([x, y], i) => [2 * x + 3 + (i % 2 ? 0.3 : -0.3), 2 * y - 1 + (i % 3 ? 0.2 : -0.4)]);
  const m = estimateSimilarity(src, dst);
  const resid = (mm: Affine) => src.reduce((s, p, i) => { const q = applyAffine(mm, p); return s + (q[0] - dst[i][0]) ** 2 + (q[1] - dst[i][1]) ** 2; }, 0);
  const base = resid(m);
  for (const [da, db, dx, dy] of [[1e-3, 0, 0, 0], [0, 1e-3, 0, 0], [0, 0, 1e-2, 0], [0, 0, 0, 1e-2], [-1e-3, 0, 0, 0], [0, -1e-3, 0, 0]]) {
    const p: Affine = [[m[0][0] + da, m[0][1] - db, m[0][2] + dx], [m[1][0] + db, m[1][1] + da, m[1][2] + dy]];
    assert.ok(resid(p) >= base, 'perturbation must not lower the residual');
  }
});

test('templateFor at multiples of 128 follows insightface estimate_norm (size/128 template, x shifted by 8·size/128)', () => {
  // insightface/python-package/insightface/utils/face_align.py: ratio = size/128, diff_x = 8·ratio
  templateFor(128, 0).forEach(([x, y], i) => { close(x, ARCFACE_TEMPLATE_112[i][0] + 8, 1e-9); close(y, ARCFACE_TEMPLATE_112[i][1], 1e-9); });
  templateFor(256, 0).forEach(([x, y], i) => { close(x, ARCFACE_TEMPLATE_112[i][0] * 2 + 16, 1e-9); close(y, ARCFACE_TEMPLATE_112[i][1] * 2, 1e-9); });
  // 448 is a multiple of both: insightface takes the 112 rule first
  templateFor(448, 0).forEach(([x], i) => close(x, ARCFACE_TEMPLATE_112[i][0] * 4, 1e-9));
});

test('templateFor: margin 0 is insightface arcface_dst × size/112; margin scales about the centre', () => {
  assert.deepEqual(templateFor(112, 0), ARCFACE_TEMPLATE_112.map(([x, y]) => [x, y]));
  templateFor(224, 0).forEach(([x, y], i) => { close(x, ARCFACE_TEMPLATE_112[i][0] * 2, 1e-9); close(y, ARCFACE_TEMPLATE_112[i][1] * 2, 1e-9); });
  const t0 = templateFor(224, 0), t25 = templateFor(224, 0.25);
  t25.forEach(([x, y], i) => { close(x - 112, (t0[i][0] - 112) / 1.25, 1e-9); close(y - 112, (t0[i][1] - 112) / 1.25, 1e-9); });
  // inter-ocular distance shrinks by exactly 1/(1+margin)
  close(t25[1][0] - t25[0][0], (t0[1][0] - t0[0][0]) / 1.25, 1e-9);
  assert.throws(() => templateFor(0, 0), RangeError);
  assert.throws(() => templateFor(224, -0.6), RangeError);
});

test('alignMatrix maps the template itself to the template (identity at size 112, margin 0)', () => {
  const m = alignMatrix(ARCFACE_TEMPLATE_112 as Point[], { size: 112, margin: 0 });
  close(m[0][0], 1, 1e-12); close(m[1][1], 1, 1e-12); close(m[0][1], 0, 1e-12); close(m[0][2], 0, 1e-9); close(m[1][2], 0, 1e-9);
});

test('pickFace policies', () => {
  const d = (w: number, score: number): Detection => ({ box: [0, 0, w, w], score, keypoints5: [[0, 0], [1, 0], [0.5, 0.5], [0, 1], [1, 1]] });
  const dets = [d(10, 0.9), d(50, 0.4)];
  assert.equal((pickFace(dets, 'largest') as Detection).box[2], 50);
  assert.equal((pickFace(dets, 'highest-score') as Detection).score, 0.9);
  assert.match((pickFace(dets, 'fail-if-many') as { reason: string }).reason, /2 faces/);
  assert.match((pickFace([], 'largest') as { reason: string }).reason, /no face/);
});

test('resolveInside refuses paths escaping the root', () => {
  assert.equal(resolveInside('/data', '../etc/passwd'), undefined);
  assert.equal(resolveInside('/data', 'a/../../x.jpg'), undefined);
  assert.equal(resolveInside('/data', '/etc/passwd'), undefined);
  assert.equal(resolveInside('/data', 'alice/1.jpg'), '/data/alice/1.jpg');
});

// ---------------------------------------------------------------- marker faces

// colours that survive a CMYK round trip (pure green/magenta do not: the CMYK profile shifts them)
const MARKERS: [number, number, number][] = [[220, 20, 20], [20, 160, 60], [40, 40, 200], [240, 220, 20], [20, 20, 20]];
const FACE_PTS: Point[] = ARCFACE_TEMPLATE_112.map(([x, y]) => [x * 1.1 + 20, y * 1.1 + 15]);

/** A 160×160 grey image with 5 coloured 7×7 squares at FACE_PTS (rounded). */
function markerFace(w = 160, h = 160, pts: Point[] = FACE_PTS): RgbImage {
  const data = new Uint8Array(w * h * 3).fill(128);
  pts.forEach(([px, py], k) => {
    for (let y = Math.round(py) - 3; y <= Math.round(py) + 3; y++) {
      for (let x = Math.round(px) - 3; x <= Math.round(px) + 3; x++) data.set(MARKERS[k], (y * w + x) * 3);
    }
  });
  return { width: w, height: h, data, source: 'marker' };
}

/** Finds the 5 colour centroids; no face unless all five are there. Counts its calls. */
function markerDetector(): FaceDetector & { calls: number } {
  const det = {
    name: 'marker-test-detector',
    calls: 0,
    async detect(img: { width: number; height: number; data: Uint8Array }): Promise<Detection[]> {
      det.calls++;
      const acc = MARKERS.map(() => [0, 0, 0]);
      for (let i = 0; i < img.width * img.height; i++) {
        const r = img.data[3 * i], g = img.data[3 * i + 1], b = img.data[3 * i + 2];
        MARKERS.forEach((c, k) => {
          if (Math.abs(r - c[0]) + Math.abs(g - c[1]) + Math.abs(b - c[2]) < 120) { acc[k][0] += i % img.width; acc[k][1] += Math.floor(i / img.width); acc[k][2]++; }
        });
      }
      if (acc.some((a) => a[2] < 9)) return [];
      const kps = acc.map((a) => [a[0] / a[2], a[1] / a[2]] as Point) as Detection['keypoints5'];
      const xs = kps.map((p) => p[0]), ys = kps.map((p) => p[1]);
      return [{ box: [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)], score: 0.99, keypoints5: kps }];
    },
  };
  return det;
}

const raw = (img: RgbImage) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });

/** Rotate stored pixels 90° counter-clockwise so that EXIF orientation 6 (rotate CW to display) makes them upright. */
function rotateCcw(img: RgbImage): RgbImage {
  const { width: w, height: h } = img;
  const out = new Uint8Array(w * h * 3);
  // orientation 6: the viewer rotates the stored image 90° clockwise, so displayed (x, y) is stored at (y, w − 1 − x)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const sx = y, sy = w - 1 - x; // stored image is h wide, w tall
    out.set(img.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (sy * h + sx) * 3);
  }
  return { width: h, height: w, data: out, source: 'rotated' };
}

async function buildBadDataset(): Promise<{ root: string; items: PrepareItem[] }> {
  const root = mkdtempSync(join(tmpdir(), 'clipface-prep-'));
  const face = markerFace();
  const faceAt = markerFace(160, 160, FACE_PTS.map(([x, y]) => [x - 8, y + 5]));
  const put = (p: string, b: Uint8Array | string) => { mkdirSync(join(root, p, '..'), { recursive: true }); writeFileSync(join(root, p), b); };
  const jpeg = await raw(face).jpeg({ quality: 95 }).toBuffer();
  put('alice/good.png', await raw(face).png().toBuffer());
  put('alice/good.jpg', jpeg);
  put('alice/zero.jpg', new Uint8Array(0));
  put('alice/truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  put('alice/text.jpg', 'this is not an image, just some text that was saved with a .jpg name\n');
  put('bob/cmyk.jpg', await raw(faceAt).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer());
  put('bob/16bit.png', await raw(faceAt).toColourspace('rgb16').png().toBuffer());
  const rgba = Buffer.alloc(160 * 160 * 4);
  for (let i = 0; i < 160 * 160; i++) { rgba.set(faceAt.data.subarray(3 * i, 3 * i + 3), 4 * i); rgba[4 * i + 3] = i % 7 === 0 ? 0 : 255; }
  put('bob/alpha.png', await sharp(rgba, { raw: { width: 160, height: 160, channels: 4 } }).png().toBuffer());
  put('bob/exif-rotated.jpg', await raw(rotateCcw(faceAt)).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer());
  put('bob/huge.png', await raw(markerFace(300, 300)).png().toBuffer()); // over the 200×200 limit used below
  put('bob/faceless.png', await raw({ ...face, data: new Uint8Array(160 * 160 * 3).fill(90) }).png().toBuffer());
  put('José Ñandú/copy-of-good.png', await raw(face).png().toBuffer()); // unicode name, duplicate content
  put('名前/good.jpg', jpeg);
  mkdirSync(join(root, 'empty-person'), { recursive: true });
  put('Alice/other.png', await raw(faceAt).png().toBuffer()); // same person as alice after case folding
  put('alice/notes.txt', 'not an image');
  const items: PrepareItem[] = [
    ...['alice/good.png', 'alice/good.jpg', 'alice/zero.jpg', 'alice/truncated.jpg', 'alice/text.jpg'].map((path) => ({ path, identity: 'alice', kind: 'image' as const })),
    ...['bob/cmyk.jpg', 'bob/16bit.png', 'bob/alpha.png', 'bob/exif-rotated.jpg', 'bob/huge.png', 'bob/faceless.png', 'bob/missing.jpg'].map((path) => ({ path, identity: 'bob', kind: 'image' as const })),
    { path: 'José Ñandú/copy-of-good.png', identity: 'José Ñandú', kind: 'image' },
    { path: '名前/good.jpg', identity: '名前', kind: 'image' },
    { path: '../outside.jpg', identity: 'alice', kind: 'image' },
    { path: 'alice/good.jpg', identity: 'alice', kind: 'deployment' },
  ];
  return { root, items };
}

const EXPECT: Record<string, string | undefined> = {
  'alice/good.png': undefined, 'alice/good.jpg': undefined, 'alice/zero.jpg': 'empty-file', 'alice/truncated.jpg': 'truncated',
  'alice/text.jpg': 'not-an-image', 'bob/cmyk.jpg': undefined, 'bob/16bit.png': undefined, 'bob/alpha.png': undefined,
  'bob/exif-rotated.jpg': undefined, 'bob/huge.png': 'too-many-pixels', 'bob/faceless.png': 'no-face', 'bob/missing.jpg': 'missing-file',
  'José Ñandú/copy-of-good.png': undefined, '名前/good.jpg': undefined, '../outside.jpg': 'path-outside-root',
};

test('bad inputs: the run finishes, good images are cropped, bad ones skipped with a named reason; cache and --force', async () => {
  const { root, items } = await buildBadDataset();
  const out = mkdtempSync(join(tmpdir(), 'clipface-prep-out-'));
  const det = markerDetector();
  const opts = { root, items, out, detector: det, size: 112, margin: 0, maxPixels: 200 * 200, progress: false };
  const report = await prepareDataset(opts);
  const onDisk = JSON.parse(readFileSync(join(out, 'prepare-report.json'), 'utf8')) as PrepareReport;
  assert.deepEqual(onDisk.images.map((e) => e.path), items.map((i) => i.path), 'every image listed, in order');
  for (const e of onDisk.images) {
    const want = EXPECT[e.path];
    if (want === undefined) {
      assert.equal(e.status, 'ok', `${e.path}: ${e.reason}`);
      assert.ok(e.crop && existsSync(join(out, e.crop)), `${e.path}: crop file`);
      assert.equal(e.keypoints?.length, 5);
    } else {
      assert.equal(e.status, 'skipped', e.path);
      assert.equal(e.code, want, `${e.path}: ${e.reason}`);
      assert.ok(e.reason && e.reason.length > 3, `${e.path} has a reason`);
    }
  }
  assert.equal(report.summary.total, items.length);
  // EXIF: keypoints are in upright coordinates, matching the unrotated image's markers
  const exif = onDisk.images.find((e) => e.path === 'bob/exif-rotated.jpg')!;
  exif.keypoints!.forEach(([x, y], k) => { close(x, FACE_PTS[k][0] - 8, 1.5, `exif kp${k} x`); close(y, FACE_PTS[k][1] + 5, 1.5, `exif kp${k} y`); });
  // duplicate content → the same content-addressed crop
  const crops = new Map(onDisk.images.map((e) => [e.path, e.crop]));
  assert.equal(crops.get('alice/good.png'), crops.get('José Ñandú/copy-of-good.png'));
  // the crop shows each marker colour at its template position (alignment + warp end to end)
  const crop = await decodeImage(join(out, crops.get('alice/good.png')!));
  templateFor(112, 0).forEach(([x, y], k) => {
    const o = (Math.round(y) * 112 + Math.round(x)) * 3;
    assert.deepEqual([...crop.data.subarray(o, o + 3)], MARKERS[k], `marker ${k} at template point`);
  });
  assert.ok(existsSync(join(out, 'contact-sheet.html')), 'contact-sheet.html');
  assert.ok(existsSync(join(out, 'contact-sheet', 'alice.png')), 'per-identity grid PNG');
  assert.match(readFileSync(join(out, 'contact-sheet.html'), 'utf8'), /faceless\.png: no face detected/);

  // rerun: everything decodable comes from the cache, the detector is not called
  // 7 distinct decodable contents (copies share one detection, huge.png fails before detection)
  const decodable = det.calls;
  assert.equal(decodable, 7);
  const again = await prepareDataset(opts);
  assert.equal(det.calls, decodable, 'cache hit does no detection');
  assert.deepEqual(again.images.map((e) => [e.path, e.status, e.code, e.crop]), report.images.map((e) => [e.path, e.status, e.code, e.crop]));
  // --force redoes every decodable image
  await prepareDataset({ ...opts, force: true });
  assert.equal(det.calls, 2 * decodable);
});

test('folder-per-person tree: empty folder, merged names, unicode names, non-image files are all reported', async () => {
  const { root } = await buildBadDataset();
  const ds = loadDataset(root);
  const out = mkdtempSync(join(tmpdir(), 'clipface-prep-out-'));
  const report = await prepareDataset({
    root, items: itemsFromDataset(ds), out, detector: markerDetector(), size: 112, margin: 0, maxPixels: 200 * 200, progress: false,
    preSkipped: skippedFromProblems(ds.problems), problems: ds.problems,
  });
  const by = new Map(report.images.map((e) => [e.path, e]));
  assert.equal(by.get('Alice/other.png')?.status, 'ok');
  assert.equal(by.get('Alice/other.png')?.identity, by.get('alice/good.png')?.identity, 'Alice/ and alice/ are one person');
  assert.equal(by.get('名前/good.jpg')?.status, 'ok');
  assert.equal(by.get('José Ñandú/copy-of-good.png')?.status, 'ok');
  assert.equal(by.get('alice/notes.txt')?.code, 'not-an-image');
  assert.equal(by.get('alice/zero.jpg')?.code, 'empty-file');
  assert.equal(by.get('bob/huge.png')?.code, 'too-many-pixels');
  const codes = (report.problems ?? []).map((p) => p.code);
  assert.ok(codes.includes('empty-folder') && codes.includes('duplicate-name'), `problems: ${codes.join(', ')}`);
  assert.ok(existsSync(join(out, 'contact-sheet', '名前.png')), 'unicode identity gets its grid');
});

test('crop warp matches the image runtime for a rotated, scaled face', async () => {
  const s = 0.8, th = -0.3;
  const c = Math.cos(th) * s, sn = Math.sin(th) * s;
  const pts = FACE_PTS.map(([x, y]) => [c * (x - 80) - sn * (y - 80) + 85, sn * (x - 80) + c * (y - 80) + 75] as Point);
  const img = markerFace(160, 160, pts);
  const [d] = await markerDetector().detect(img);
  const m = alignMatrix(d.keypoints5, { size: 224, margin: 0.25 });
  const crop = warpAffineRgb(img, m, 224, 224);
  templateFor(224, 0.25).forEach(([x, y], k) => {
    const o = (Math.round(y) * 224 + Math.round(x)) * 3;
    assert.deepEqual([...crop.data.subarray(o, o + 3)], MARKERS[k], `marker ${k}`);
  });
});
