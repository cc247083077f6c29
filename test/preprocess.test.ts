/**
 * CLIP preprocessing parity with PIL/torchvision (golden clip-rn-tiny) and decoder robustness.
 * sharp is imported here only to MAKE awkward fixtures (CMYK, 16-bit, EXIF-rotated); the code
 * under test reaches sharp only through lib/runtime/image.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { golden, goldenDir } from './helpers/golden.ts';
import { decodeImage, decodeImageBuffer, encodePng, warpAffineRgb, type RgbImage } from '../lib/runtime/image.ts';
import { clipCrop, preprocessBatch, preprocessForClip, roundHalfEven, toPixelValues } from '../lib/clip/preprocess.ts';
import { UserError } from '../lib/util/errors.ts';

const g = golden('clip-rn-tiny');
const imgDir = join(goldenDir(), 'clip-rn-tiny');
const { mean, std } = g.preprocess as { mean: number[]; std: number[] };
const cfg = { size: 224, mean, std };

function compare(a: RgbImage, b: RgbImage): { maxDiff: number; differing: number; total: number } {
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  let maxDiff = 0, differing = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    let px = 0;
    for (let c = 0; c < 3; c++) px = Math.max(px, Math.abs(a.data[i * 3 + c]! - b.data[i * 3 + c]!));
    if (px > 0) differing++;
    maxDiff = Math.max(maxDiff, px);
  }
  return { maxDiff, differing, total: a.width * a.height };
}

for (const e of [...g.images, ...g.preprocess_only_images] as any[]) {
  test(`crop parity with PIL: ${e.file}`, async () => {
    const src = await decodeImage(join(imgDir, e.file));
    assert.deepEqual([src.width, src.height], e.size);
    const ours = clipCrop(src, 224);
    const ref = await decodeImage(join(imgDir, e.crop_file));
    const r = compare(ours, ref);
    console.log(`  ${e.file}: max |diff| ${r.maxDiff}, ${r.differing}/${r.total} pixels differ`);
    assert.equal(r.maxDiff, 0, 'byte-identical to PIL');
    assert.equal(r.differing, 0);
  });
}

for (const e of g.images as any[]) {
  test(`pixel_values match golden: ${e.crop_file}`, async () => {
    const crop = await decodeImage(join(imgDir, e.crop_file));
    const pv = toPixelValues(crop, mean, std);
    const ref: number[] = e.pixel_values.data;
    assert.equal(pv.length, ref.length);
    // golden.json prints float32 values in decimal; rounded back to float32 they match ours bit for bit
    let max = 0, notBitExact = 0;
    for (let i = 0; i < pv.length; i++) {
      max = Math.max(max, Math.abs(pv[i]! - ref[i]!));
      if (pv[i] !== Math.fround(ref[i]!)) notBitExact++;
    }
    assert.ok(max <= 1e-6, `max abs diff ${max}`);
    assert.equal(notBitExact, 0, 'bit-identical to the float32 golden');
    // the whole path from the original file gives the same tensor
    const full = await preprocessForClip(join(imgDir, e.file), cfg);
    let maxFull = 0;
    for (let i = 0; i < full.length; i++) maxFull = Math.max(maxFull, Math.abs(full[i]! - ref[i]!));
    assert.ok(maxFull <= 1e-6, `end-to-end max abs diff ${maxFull}`);
  });
}

test('batch helper stacks NCHW', async () => {
  const files = (g.images as any[]).slice(0, 2).map((e) => join(imgDir, e.file));
  const b = await preprocessBatch(files, cfg);
  assert.deepEqual(b.shape, [2, 3, 224, 224]);
  const one = await preprocessForClip(files[1]!, cfg);
  assert.deepEqual(b.data.subarray(3 * 224 * 224), one);
});

test('round half to even, as Python round()', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 74.5, 37, 36.4, 36.6].map(roundHalfEven), [0, 2, 2, 74, 37, 36, 37]);
});

test('224x224 input is returned unresampled', async () => {
  const e = (g.images as any[]).find((x) => x.size[0] === 224 && x.size[1] === 224);
  const src = await decodeImage(join(imgDir, e.file));
  assert.equal(clipCrop(src), src);
});

// ---------------------------------------------------------------- bad and awkward inputs

const dir = mkdtempSync(join(tmpdir(), 'clipface-img-'));
/** 40x30 gradient with a distinct top-left marker, so rotation can be checked. */
function pattern(w = 40, h = 30): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x * 6, y * 8, 100], (y * w + x) * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) data.set([255, 255, 255], (y * w + x) * 3);
  return { width: w, height: h, data, source: 'pattern' };
}
const rawOf = (img: RgbImage) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });

async function rejects(file: string, re: RegExp): Promise<void> {
  await assert.rejects(decodeImage(file), (err: unknown) => {
    assert.ok(err instanceof UserError, `UserError, got ${err}`);
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.match(err.message, re);
    return true;
  });
}

test('missing file', () => rejects(join(dir, 'nope.jpg'), /file not found/));

test('zero-byte file', async () => {
  const f = join(dir, 'empty.jpg');
  writeFileSync(f, Buffer.alloc(0));
  await rejects(f, /empty file/);
});

test('text file named .jpg', async () => {
  const f = join(dir, 'notes.jpg');
  writeFileSync(f, '<!DOCTYPE html><html><body>404 not found</body></html>\n');
  await rejects(f, /not an image \(text file\?\)/);
});

test('random bytes named .png', async () => {
  const f = join(dir, 'noise.png');
  writeFileSync(f, Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 37) % 256)));
  await rejects(f, /not an image/);
});

test('truncated JPEG', async () => {
  const noisy = pattern(128, 96);
  for (let i = 0; i < noisy.data.length; i++) noisy.data[i] = (i * 7919) % 251;
  const jpg = await rawOf(noisy).jpeg({ quality: 90 }).toBuffer();
  const f = join(dir, 'cut.jpg');
  writeFileSync(f, jpg.subarray(0, Math.floor(jpg.length * 0.6)));
  await rejects(f, /truncated or corrupt/);
});

test('pixel limit', async () => {
  const f = join(dir, 'big.png');
  writeFileSync(f, await encodePng(pattern()));
  await assert.rejects(decodeImage(f, { maxPixels: 1000 }), (err: unknown) =>
    err instanceof UserError && err.message.startsWith(`${f}: 40x30`) && /exceeds the limit/.test(err.message));
  assert.equal((await decodeImage(f, { maxPixels: 1200 })).width, 40);
});

test('PNG round trip is lossless; buffer decode names its source', async () => {
  const p = pattern();
  const back = await decodeImageBuffer(await encodePng(p), 'mem.png');
  assert.deepEqual([back.width, back.height, back.source], [40, 30, 'mem.png']);
  assert.deepEqual(back.data, p.data);
  await assert.rejects(decodeImageBuffer(Buffer.from('hello'), 'mem.txt'), /^UserError: mem\.txt: not an image/);
});

test('CMYK JPEG decodes to 3-channel RGB close to the original', async () => {
  const f = join(dir, 'cmyk.jpg');
  writeFileSync(f, await rawOf(pattern()).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer());
  assert.equal((await sharp(f).metadata()).space, 'cmyk');
  const img = await decodeImage(f);
  assert.deepEqual([img.width, img.height, img.data.length], [40, 30, 40 * 30 * 3]);
  // profile round trip + JPEG: roughly the same colours, white marker still white-ish
  assert.ok(img.data[0]! > 200 && img.data[1]! > 200 && img.data[2]! > 200, `marker ${img.data.subarray(0, 3)}`);
});

test('16-bit PNG decodes to 8-bit (high byte, as PIL)', async () => {
  const f = join(dir, 'deep.png');
  const p = pattern();
  writeFileSync(f, await rawOf(p).toColourspace('rgb16').png().toBuffer());
  assert.equal((await sharp(f).metadata()).depth, 'ushort');
  const img = await decodeImage(f);
  assert.deepEqual(img.data, p.data);
});

test('alpha is dropped, not composited (PIL convert("RGB"))', async () => {
  const f = join(dir, 'alpha.png');
  const rgba = Buffer.from([10, 20, 30, 0, 200, 100, 50, 128]);
  writeFileSync(f, await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer());
  const img = await decodeImage(f);
  assert.deepEqual([...img.data], [10, 20, 30, 200, 100, 50]);
});

test('greyscale becomes R=G=B', async () => {
  const f = join(dir, 'grey.png');
  writeFileSync(f, await sharp(Buffer.from([10, 20, 30, 40]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer());
  const img = await decodeImage(f);
  assert.deepEqual([...img.data], [10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]);
});

test('EXIF orientation 6 is applied: size swapped, pixels upright', async () => {
  const p = pattern(); // 40x30, white marker top-left
  const f = join(dir, 'rotated.png'); // PNG keeps pixels exact; the orientation lives in eXIf
  writeFileSync(f, await rawOf(p).withMetadata({ orientation: 6 }).png().toBuffer());
  assert.equal((await sharp(f).metadata()).orientation, 6);
  const img = await decodeImage(f);
  assert.deepEqual([img.width, img.height], [30, 40]);
  // orientation 6 = display rotated 90° clockwise: stored (x, y) appears at (H-1-y, x)
  for (const [x, y] of [[0, 0], [39, 0], [5, 20], [39, 29]] as const) {
    const s = (y * 40 + x) * 3, d = (x * 30 + (29 - y)) * 3;
    assert.deepEqual([...img.data.subarray(d, d + 3)], [...p.data.subarray(s, s + 3)], `pixel ${x},${y}`);
  }
  const jf = join(dir, 'rotated.jpg');
  writeFileSync(jf, await rawOf(p).withMetadata({ orientation: 6 }).jpeg().toBuffer());
  const j = await decodeImage(jf);
  assert.deepEqual([j.width, j.height], [30, 40]);
  assert.ok(j.data[(0 * 30 + 29) * 3]! > 200, 'marker at top-right after rotation');
});

test('all 8 EXIF orientations come out upright (as PIL ImageOps.exif_transpose)', async () => {
  const p = pattern(); // W=40, H=30
  const W = 40, H = 30;
  // where stored pixel (x, y) is displayed, per EXIF orientation
  const to: Record<number, (x: number, y: number) => [number, number]> = {
    1: (x, y) => [x, y], 2: (x, y) => [W - 1 - x, y], 3: (x, y) => [W - 1 - x, H - 1 - y], 4: (x, y) => [x, H - 1 - y],
    5: (x, y) => [y, x], 6: (x, y) => [H - 1 - y, x], 7: (x, y) => [H - 1 - y, W - 1 - x], 8: (x, y) => [y, W - 1 - x],
  };
  for (let o = 1; o <= 8; o++) {
    const img = await decodeImageBuffer(await rawOf(p).withMetadata({ orientation: o }).png().toBuffer(), `o${o}.png`);
    assert.equal(img.width, o >= 5 ? H : W, `orientation ${o} width`);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const [dx, dy] = to[o]!(x, y);
      const s = (y * W + x) * 3, d = (dy * img.width + dx) * 3;
      if (img.data[d] !== p.data[s] || img.data[d + 1] !== p.data[s + 1]) assert.fail(`orientation ${o}: stored ${x},${y} not at ${dx},${dy}`);
    }
  }
});

// ---------------------------------------------------------------- warpAffineRgb

test('warpAffineRgb: identity, integer shift, border modes', () => {
  const p = pattern();
  const id = warpAffineRgb(p, [[1, 0, 0], [0, 1, 0]], 40, 30);
  assert.deepEqual(id.data, p.data);
  // M maps source -> destination: shift right by 2, down by 1
  const sh = warpAffineRgb(p, [[1, 0, 2], [0, 1, 1]], 40, 30);
  assert.deepEqual([...sh.data.subarray(((1 * 40) + 2) * 3, ((1 * 40) + 2) * 3 + 3)], [...p.data.subarray(0, 3)]);
  assert.deepEqual([...sh.data.subarray(0, 3)], [0, 0, 0]);
  const rep = warpAffineRgb(p, [[1, 0, 2], [0, 1, 1]], 40, 30, { border: 'replicate' });
  assert.deepEqual([...rep.data.subarray(0, 3)], [...p.data.subarray(0, 3)]);
  const half = warpAffineRgb(p, [[1, 0, 0.5], [0, 1, 0]], 40, 30);
  // dst x=10 samples src x=9.5: mean of columns 9 and 10 (red = 6x)
  assert.equal(half.data[(10 * 40 + 10) * 3], Math.round((54 + 60) / 2));
  // 90° rotation about the origin then shift: dst (x, y) = (29 - y_src, x_src)
  const rot = warpAffineRgb(p, [[0, -1, 29], [1, 0, 0]], 30, 40);
  for (const [x, y] of [[0, 0], [39, 0], [5, 20]] as const) {
    const s = (y * 40 + x) * 3, d = (x * 30 + (29 - y)) * 3;
    assert.deepEqual([...rot.data.subarray(d, d + 3)], [...p.data.subarray(s, s + 3)]);
  }
});
