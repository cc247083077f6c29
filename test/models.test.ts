/**
 * The model registry and the resumable download, against a local HTTP server on 127.0.0.1
 * (random port, loopback only: no test reaches the internet).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../lib/util/errors.ts';
import { downloadFile } from '../lib/models/download.ts';
import { sha256File } from '../lib/util/hash.ts';
import {
  fileState, getModel, listModels, loadRegistry, modelDir, recordHash, registryPath, resolveLocalModel,
} from '../lib/models/registry.ts';

// 300 kB of deterministic bytes (an LCG), and their digest.
const DATA = Buffer.alloc(300_000);
for (let i = 0, x = 12345; i < DATA.length; i++) { x = (x * 1103515245 + 12345) >>> 0; DATA[i] = x >>> 24; }
const SHA = createHash('sha256').update(DATA).digest('hex');

const ranges: (string | undefined)[] = [];
let server: Server;
let base: string;
let tmp: string;

function serve(): Server {
  return createServer((req, res) => {
    ranges.push(req.headers.range);
    const m = req.headers.range?.match(/^bytes=(\d+)-$/);
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/file' }).end();
    } else if (req.url === '/file' && m) {
      const start = Number(m[1]);
      if (start >= DATA.length) {
        res.writeHead(416, { 'content-range': `bytes */${DATA.length}` }).end();
      } else {
        res.writeHead(206, { 'content-range': `bytes ${start}-${DATA.length - 1}/${DATA.length}`, 'content-length': DATA.length - start });
        res.end(DATA.subarray(start));
      }
    } else if (req.url === '/file' || req.url === '/norange') {
      res.writeHead(200, { 'content-length': DATA.length }).end(DATA); // /norange ignores Range
    } else if (req.url === '/stall') {
      res.writeHead(200, { 'content-length': DATA.length });
      res.write(DATA.subarray(0, 1000)); // then nothing: the client's idle timeout must fire
    } else if (req.url === '/silent') {
      // never answers: the client's connect/header timeout must fire
    } else {
      res.writeHead(404).end();
    }
  });
}

const dest = (name: string) => join(tmp, 'dl', name);

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'clipface-models-'));
  server = serve();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
  rmSync(tmp, { recursive: true, force: true });
});

describe('downloadFile', () => {
  test('full download through a redirect, sha256 verified, progress reported', async () => {
    const out = dest('full.bin');
    let last: [number, number | undefined] = [0, 0];
    const r = await downloadFile(`${base}/redirect`, out, { sha256: SHA, onProgress: (d, t) => { last = [d, t]; } });
    assert.equal(r.sha256, SHA);
    assert.equal(r.bytes, DATA.length);
    assert.equal(r.resumed, false);
    assert.deepEqual(last, [DATA.length, DATA.length]);
    assert.ok(readFileSync(out).equals(DATA));
    assert.ok(!existsSync(`${out}.part`));
  });

  test('sha256 mismatch throws and leaves neither the file nor the .part', async () => {
    const out = dest('bad.bin');
    await assert.rejects(downloadFile(`${base}/file`, out, { sha256: '0'.repeat(64) }),
      (e: unknown) => e instanceof UserError && /sha256 mismatch/.test(e.message) && e.message.includes(SHA));
    assert.ok(!existsSync(out));
    assert.ok(!existsSync(`${out}.part`));
  });

  test('resumes an existing .part with a Range request', async () => {
    const out = dest('resume.bin');
    mkdirSync(join(tmp, 'dl'), { recursive: true });
    writeFileSync(`${out}.part`, DATA.subarray(0, 100_000));
    ranges.length = 0;
    const r = await downloadFile(`${base}/file`, out, { sha256: SHA });
    assert.deepEqual(ranges, ['bytes=100000-']);
    assert.equal(r.resumed, true);
    assert.ok(readFileSync(out).equals(DATA));
    assert.ok(!existsSync(`${out}.part`));
  });

  test('a server that ignores Range (200) restarts the .part and still ends correct', async () => {
    const out = dest('norange.bin');
    writeFileSync(`${out}.part`, Buffer.alloc(50_000, 7)); // wrong bytes: must be overwritten
    ranges.length = 0;
    const r = await downloadFile(`${base}/norange`, out, { sha256: SHA });
    assert.deepEqual(ranges, ['bytes=50000-']);
    assert.equal(r.resumed, false);
    assert.ok(readFileSync(out).equals(DATA));
  });

  test('a complete .part answered with 416 is accepted after hashing', async () => {
    const out = dest('complete.bin');
    writeFileSync(`${out}.part`, DATA);
    const r = await downloadFile(`${base}/file`, out, { sha256: SHA });
    assert.equal(r.resumed, true);
    assert.ok(readFileSync(out).equals(DATA));
  });

  test('a stalled transfer keeps the .part for the next run', async () => {
    const out = dest('stall.bin');
    await assert.rejects(downloadFile(`${base}/stall`, out, { idleTimeoutMs: 200 }),
      (e: unknown) => e instanceof UserError && /stalled.*run the command again to resume/.test(e.message));
    assert.equal(readFileSync(`${out}.part`).length, 1000);
    assert.ok(!existsSync(out));
  });

  test('connection refused fails fast with the offline message and writes nothing', async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const out = join(tmp, 'offline', 'w.safetensors');
    const t0 = Date.now();
    await assert.rejects(downloadFile(`http://127.0.0.1:${port}/file`, out),
      (e: unknown) => e instanceof UserError && e.message.startsWith(
        `cannot reach 127.0.0.1:${port} (offline?): fetch the files on a machine with internet and copy them to ${join(tmp, 'offline')}, or pass --weights`));
    assert.ok(Date.now() - t0 < 5000, 'should fail fast');
    assert.ok(!existsSync(join(tmp, 'offline')));
  });

  test('a server that never answers hits the connect timeout', async () => {
    const out = dest('silent.bin');
    await assert.rejects(downloadFile(`${base}/silent`, out, { connectTimeoutMs: 200 }), /cannot reach 127\.0\.0\.1:\d+ \(offline\?\)/);
    assert.ok(!existsSync(`${out}.part`));
  });

  test('HTTP errors are one clear line', async () => {
    await assert.rejects(downloadFile(`${base}/missing`, dest('x.bin')), /HTTP 404/);
  });

  test('sha256File matches', async () => {
    assert.equal(await sha256File(dest('full.bin')), SHA);
  });
});

describe('registry', () => {
  test('models/registry.json validates and lists the CLIP checkpoints and baselines', () => {
    const ids = loadRegistry().map((m) => m.id);
    for (const id of ['timm/resnet50_clip.openai', 'timm/vit_base_patch32_clip_224.openai']) assert.ok(ids.includes(id), id);
    const rn = getModel('timm/resnet50_clip.openai');
    assert.equal(rn.architecture, 'RN50');
    assert.deepEqual(rn.preprocessing.mean, [0.48145466, 0.4578275, 0.40821073]);
    assert.equal(rn.files.find((f) => f.name === 'open_clip_model.safetensors')!.url,
      'https://huggingface.co/timm/resnet50_clip.openai/resolve/main/open_clip_model.safetensors');
    for (const m of listModels()) {
      if (m.source === 'user-supplied') assert.ok(m.howToGet && m.files.every((f) => !f.url), m.id);
    }
  });

  test('unknown keys are rejected by the schema', () => {
    const bad = JSON.parse(readFileSync(registryPath, 'utf8'));
    bad.models[0].colour = 'blue';
    const path = join(tmp, 'bad-registry.json');
    writeFileSync(path, JSON.stringify(bad));
    assert.throws(() => loadRegistry(path), /does not match.*additional properties/);
  });

  test('an unknown id names the closest ids', () => {
    assert.throws(() => getModel('timm/resnet50_clip.opena'),
      (e: unknown) => e instanceof UserError && /unknown model.*closest ids: timm\/resnet50_clip\.openai/.test(e.message));
  });

  test('resolveLocalModel: cache by id, a local folder, and the fetch hint when absent', () => {
    const old = process.env.CLIPFACE_CACHE;
    process.env.CLIPFACE_CACHE = join(tmp, 'cache');
    try {
      const id = 'timm/vit_base_patch32_clip_224.openai';
      assert.equal(modelDir(id), join(tmp, 'cache', 'timm--vit_base_patch32_clip_224.openai'));
      assert.throws(() => resolveLocalModel(id), /run "clipface models fetch timm\/vit_base_patch32_clip_224\.openai"/);
      const dir = modelDir(id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'open_clip_config.json'), '{}');
      writeFileSync(join(dir, 'open_clip_model.safetensors'), 'x');
      const byId = resolveLocalModel(id);
      assert.equal(byId.weightsPath, join(dir, 'open_clip_model.safetensors'));
      assert.equal(resolveLocalModel(dir).configPath, join(dir, 'open_clip_config.json'));
      assert.throws(() => resolveLocalModel(tmp), /not an open_clip model folder/);
      assert.equal(fileState(dir, { name: 'open_clip_model.safetensors', sha256: null }), 'unchecked');
      recordHash(dir, 'open_clip_model.safetensors', 'ab'.repeat(32));
      assert.equal(fileState(dir, { name: 'open_clip_model.safetensors', sha256: null }), 'unpinned');
      assert.equal(fileState(dir, { name: 'open_clip_model.safetensors', sha256: 'ab'.repeat(32) }), 'verified');
      assert.equal(fileState(dir, { name: 'open_clip_model.safetensors', sha256: 'cd'.repeat(32) }), 'mismatch');
    } finally {
      if (old === undefined) delete process.env.CLIPFACE_CACHE;
      else process.env.CLIPFACE_CACHE = old;
    }
  });
});
