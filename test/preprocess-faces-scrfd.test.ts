/**
 * SCRFD (insightface scrfd.py) decoding, letterbox, and the whole detector through
 * onnxruntime-node on a stand-in ONNX file built here (no insightface weights ship with us).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Point } from '../lib/preprocess/align.ts';
import { createDetector } from '../lib/preprocess/detector.ts';
import { decodeScrfd, letterboxBlob, nms, scrfdLayout } from '../lib/preprocess/detectors/scrfd.ts';

const close = (a: number, b: number, eps: number, msg = '') => assert.ok(Math.abs(a - b) <= eps, `${msg} ${a} vs ${b} (eps ${eps})`);

// ---------------------------------------------------------------- SCRFD decoding (scrfd.py)

test('SCRFD decode: anchor centres, distance2bbox/kps × stride, threshold, NMS 0.4', () => {
  const layout = scrfdLayout(9);
  assert.deepEqual(layout, { strides: [8, 16, 32], numAnchors: 2, useKps: true });
  const inW = 64, inH = 32;
  const outs: Float32Array[] = [];
  const n = (s: number) => Math.floor(inH / s) * Math.floor(inW / s) * 2;
  for (const s of layout.strides) outs.push(new Float32Array(n(s)));
  for (const s of layout.strides) outs.push(new Float32Array(4 * n(s)).fill(1));
  for (const s of layout.strides) outs.push(new Float32Array(10 * n(s)));
  // stride 16 map is 2 rows × 4 cols; cell (row 1, col 2), anchor 1 → index (1*4+2)*2+1 = 13
  outs[1][13] = 0.9;
  outs[4].set([1, 2, 3, 4], 13 * 4);
  outs[7].set([0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1], 13 * 10);
  outs[1][12] = 0.8; // same cell, other anchor, same box after decoding → suppressed by NMS
  outs[4].set([1, 2, 3, 4], 12 * 4);
  outs[0][0] = 0.49; // below threshold
  const dets = nms(decodeScrfd(outs, layout, inW, inH, 0.5));
  assert.equal(dets.length, 1);
  const d = dets[0];
  // centre (2·16, 1·16) = (32, 16); box = centre ∓ distances·16
  assert.deepEqual([d.x1, d.y1, d.x2, d.y2, d.score], [32 - 16, 16 - 32, 32 + 48, 16 + 64, Math.fround(0.9)]);
  assert.deepEqual(d.kps, [[32, 16], [48, 16], [40, 24], [32, 32], [48, 32]]);
});

test('SCRFD letterbox: aspect kept, pasted top-left, (x − 127.5)/128, NCHW', () => {
  const img = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 3).fill(255) };
  const { blob, scale } = letterboxBlob(img, 8, 8);
  assert.equal(scale, 2);
  const plane = 64;
  close(blob[0], (255 - 127.5) / 128, 1e-6); // (0,0) red
  close(blob[plane + 3 * 8 + 7], (255 - 127.5) / 128, 1e-6); // row 3, col 7 green: inside the 8×4 paste
  close(blob[2 * plane + 4 * 8], -127.5 / 128, 1e-6); // row 4: padding
});

// ---------------------------------------------------------------- SCRFD through onnxruntime-node

/** A stand-in SCRFD ONNX file: fixed 1×3×32×32 input, 9 constant outputs (scores, boxes, kps × strides 8/16/32). */
async function fakeScrfdOnnx(file: string): Promise<void> {
  const onnxProto = (await import('onnx-proto')).default as unknown as { onnx: typeof import('onnx-proto').onnx };
  const { onnx } = onnxProto;
  const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const n = [32, 8, 2]; // (32/s)² cells × 2 anchors for s = 8, 16, 32
  const outs: { name: string; dims: number[]; data: Float32Array }[] = [];
  n.forEach((k, i) => outs.push({ name: `score_${i}`, dims: [k, 1], data: new Float32Array(k) }));
  n.forEach((k, i) => outs.push({ name: `bbox_${i}`, dims: [k, 4], data: new Float32Array(4 * k).fill(1) }));
  n.forEach((k, i) => outs.push({ name: `kps_${i}`, dims: [k, 10], data: new Float32Array(10 * k) }));
  // stride 8 is a 4×4 map; cell (row 1, col 2), anchor 0 → index 12; centre (16, 8) in input pixels
  outs[0].data[12] = 0.95;
  outs[6].data.set([-0.5, -0.25, 0.5, -0.25, 0, 0.25, -0.4, 0.75, 0.4, 0.75], 120);
  const model = onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'clipface-test',
    graph: {
      name: 'fake-scrfd', input: [info('input.1', [1, 3, 32, 32])], output: outs.map((o) => info(o.name, o.dims)),
      initializer: outs.map((o) => ({ name: `c_${o.name}`, dims: o.dims, dataType: 1, rawData: new Uint8Array(o.data.buffer) })),
      node: outs.map((o) => ({ opType: 'Identity', input: [`c_${o.name}`], output: [o.name], name: `id_${o.name}` })),
    },
  }).finish();
  writeFileSync(file, model);
}

test('scrfd:<file.onnx> runs through onnxruntime-node: letterbox scale undone, 5 keypoints in source pixels', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'clipface-scrfd-')), 'fake_scrfd_kps.onnx');
  await fakeScrfdOnnx(file);
  const det = await createDetector(`scrfd:${file}`, { minFace: 0 });
  assert.match(det.name, /^scrfd:fake_scrfd_kps\.onnx:sha256-[0-9a-f]{16}:32x32:min0\.5/);
  // 64×48 source → letterboxed at scale 0.5 into 32×24 (top-left of the 32×32 input)
  const dets = await det.detect({ width: 64, height: 48, data: new Uint8Array(64 * 48 * 3) });
  await det.dispose?.();
  assert.equal(dets.length, 1);
  const d = dets[0];
  close(d.score, 0.95, 1e-6);
  assert.deepEqual(d.box, [16, 0, 32, 32]); // input box [8, 0, 24, 16] / 0.5
  const want: Point[] = [[24, 12], [40, 12], [32, 20], [25.6, 28], [38.4, 28]]; // (centre + kps·8) / 0.5
  d.keypoints5.forEach(([x, y], k) => { close(x, want[k][0], 1e-4, `kp${k} x`); close(y, want[k][1], 1e-4, `kp${k} y`); });
});
