/** Datasets: manifest validation, folder-per-person, path safety, seeded splits, `data check`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspectDataset, loadDataset, resolveImagePath } from '../lib/data/dataset.ts';
import { splitDataset } from '../lib/data/split.ts';
import { UserError } from '../lib/util/errors.ts';
import type { ImageEntry, Manifest, View } from '../lib/data/types.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const tmp = () => mkdtempSync(join(tmpdir(), 'clipface-data-'));
const touch = (root: string, rel: string, data = 'x') => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), data);
};
const VIEWS5: View[] = ['front', 'above', 'below', 'left', 'right'];

/** A manifest of `known` + `unknown` people with `per` images each (files created) and 2 deployment frames each. */
function makeDataset(known: number, unknown: number, per: number): { root: string; manifest: Manifest } {
  const root = tmp();
  const ids = Array.from({ length: known + unknown }, (_, i) => `id${i}`);
  const images: ImageEntry[] = [];
  const deployment: Manifest['deployment'] = [];
  ids.forEach((id, i) => {
    for (let j = 0; j < per; j++) images.push({ path: `${id}/${j}.jpg`, identity: id, view: VIEWS5[j % 5]!, session: 's1' });
    const frames = [`${id}/d0.jpg`, `${id}/d1.jpg`];
    for (const f of frames) images.push({ path: f, identity: id, view: 'front', session: 'deploy' });
    deployment.push({ subject: id, known: i < known, frames });
  });
  for (const im of images) touch(root, im.path);
  const manifest: Manifest = {
    version: 1, name: 't', images, deployment,
    identities: ids.map((id, i) => ({ id, name: `Person ${i}`, role: i < known ? 'known' : 'unknown' })),
  };
  writeFileSync(join(root, 'manifest.json'), JSON.stringify(manifest));
  return { root, manifest };
}

function clipface(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'lib/cli/main.ts'), ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a valid manifest loads with no problems', () => {
  const { root } = makeDataset(3, 1, 10);
  const ds = loadDataset(root);
  assert.equal(ds.source, 'manifest');
  assert.deepEqual(ds.problems, []);
  assert.equal(ds.manifest.images.length, 4 * 12);
  assert.equal(resolveImagePath(ds, 'id0/1.jpg'), join(root, 'id0', '1.jpg'));
  assert.throws(() => resolveImagePath(ds, '../x.jpg'), UserError);
});

test('schema errors: every one listed with its JSON path, the file named; unknown keys are errors', () => {
  const root = tmp();
  writeFileSync(join(root, 'manifest.json'), JSON.stringify({
    version: 1, name: 't', colour: 'red',
    identities: [{ id: 'a', name: 'A', role: 'friend' }],
    images: [{ path: 'a/1.jpg', identity: 'a', view: 'sideways', session: 's', extra: 1 }],
  }));
  const ds = inspectDataset(root);
  const paths = ds.problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ['manifest.json#', 'manifest.json#/identities/0/role', 'manifest.json#/images/0', 'manifest.json#/images/0/view']);
  assert.ok(ds.problems.every((p) => p.code === 'schema' && p.severity === 'error'));
  assert.match(ds.problems.find((p) => p.path === 'manifest.json#')!.reason, /unknown key "colour"/);
  assert.throws(() => loadDataset(root), (e: Error) => e instanceof UserError
    && e.message.includes(join(root, 'manifest.json')) && e.message.includes('/images/0/view must be one of') && e.message.includes('"extra"'));
  writeFileSync(join(root, 'manifest.json'), '{"version": 1,');
  assert.throws(() => loadDataset(root), /manifest\.json.*not valid JSON/);
});

test('path safety and per-entry errors: the entry is named and left out, the rest loads', () => {
  const { root, manifest } = makeDataset(2, 0, 5);
  const outside = tmp();
  touch(outside, 'secret.jpg');
  symlinkSync(join(outside, 'secret.jpg'), join(root, 'id0', 'link.jpg'));
  const bad: ImageEntry[] = [
    { path: '../escape.jpg', identity: 'id0', view: 'front', session: 's' },
    { path: '/etc/passwd', identity: 'id0', view: 'front', session: 's' },
    { path: 'id0/../../x.jpg', identity: 'id0', view: 'front', session: 's' },
    { path: 'id0/link.jpg', identity: 'id0', view: 'front', session: 's' },
    { path: 'id0/missing.jpg', identity: 'id0', view: 'front', session: 's' },
    { path: 'id0/0.jpg', identity: 'id0', view: 'front', session: 's' },
    { path: 'id1/0.jpg', identity: 'nobody', view: 'front', session: 's' },
  ];
  manifest.images.push(...bad);
  manifest.deployment!.push({ subject: 'id1', known: false, frames: ['id1/d0.jpg'] });
  writeFileSync(join(root, 'manifest.json'), JSON.stringify(manifest));
  const ds = loadDataset(root);
  const codes = ds.problems.map((p) => [p.path.replace(/^manifest\.json#/, ''), p.code]);
  assert.deepEqual(codes, [
    ['/images/14 (../escape.jpg)', 'path-outside-root'],
    ['/images/15 (/etc/passwd)', 'path-outside-root'],
    ['/images/16 (id0/../../x.jpg)', 'path-outside-root'],
    ['/images/17 (id0/link.jpg)', 'path-outside-root'],
    ['/images/18 (id0/missing.jpg)', 'missing-file'],
    ['/images/19 (id0/0.jpg)', 'duplicate-path'],
    ['/images/20 (id1/0.jpg)', 'unknown-identity'],
    ['/deployment/2', 'deployment'],
  ]);
  assert.match(ds.problems[0]!.reason, /escapes the dataset root/);
  assert.equal(ds.manifest.images.length, 14, 'the good entries all load');
  assert.ok(ds.manifest.images.every((im) => !im.path.includes('..')));
});

test('folder per person: unicode and duplicate-after-normalisation names, empty folder, non-images', () => {
  const root = tmp();
  const nfc = 'Jos\u00e9_García', nfd = 'Jose\u0301_García';
  touch(root, `${nfc}/1.jpg`);
  touch(root, `${nfd}/2.JPG`);
  touch(root, 'Zoë/a.png');
  touch(root, 'Zoë/session2/b.webp');
  touch(root, 'Zoë/notes.txt');
  touch(root, 'zoë/c.jpeg');
  touch(root, 'Zoë/.DS_Store');
  mkdirSync(join(root, 'Empty Person'));
  touch(root, 'stray.jpg');
  const ds = loadDataset(root);
  assert.equal(ds.source, 'folders');
  assert.deepEqual(ds.manifest.identities.map((i) => [i.id, i.name, i.role]), [
    ['José_García', 'José García', 'known'], ['Zoë', 'Zoë', 'known']]);
  const per = (id: string) => ds.manifest.images.filter((im) => im.identity === id).map((im) => im.path).sort();
  assert.deepEqual(per('José_García'), [`${nfd}/2.JPG`, `${nfc}/1.jpg`].sort());
  assert.deepEqual(per('Zoë'), ['Zoë/a.png', 'Zoë/session2/b.webp', 'zoë/c.jpeg']);
  assert.equal(ds.manifest.images.find((im) => im.path === 'Zoë/session2/b.webp')!.session, 'session2');
  assert.ok(ds.manifest.images.every((im) => im.view === 'other'));
  const byCode = Object.fromEntries(ds.problems.map((p) => [p.code, p]));
  assert.equal(byCode['empty-folder']!.path, 'Empty Person/');
  assert.equal(byCode['not-an-image']!.path, 'Zoë/notes.txt');
  assert.equal(byCode['stray-file']!.path, 'stray.jpg');
  assert.equal(ds.problems.filter((p) => p.code === 'duplicate-name').length, 2);
  assert.ok(ds.problems.every((p) => p.severity === 'warning'));
});

test('split: 80/20 per identity, stratified by view, deterministic, unknowns never in train', () => {
  const { manifest } = makeDataset(4, 2, 30);
  const a = splitDataset(manifest, { seed: 7 });
  const b = splitDataset(structuredClone(manifest), { seed: 7 });
  const paths = (l: ImageEntry[]) => l.map((im) => im.path);
  assert.deepEqual(paths(a.train), paths(b.train));
  assert.deepEqual(paths(a.test), paths(b.test));
  assert.notDeepEqual(paths(splitDataset(manifest, { seed: 8 }).test), paths(a.test), 'another seed, another split');
  for (let k = 0; k < 4; k++) {
    const tr = a.train.filter((im) => im.identity === `id${k}`);
    const te = a.test.filter((im) => im.identity === `id${k}`);
    assert.equal(tr.length, 24);
    assert.equal(te.length, 6);
    for (const v of VIEWS5) assert.ok(te.filter((im) => im.view === v).length >= 1, `view ${v} in test of id${k}`);
  }
  for (const list of [a.train, a.test]) assert.ok(list.every((im) => im.identity !== 'id4' && im.identity !== 'id5'));
  assert.equal(a.unknown.length, 60);
  assert.equal(a.deployment.length, 12);
  assert.ok(a.deployment.every((im) => im.session === 'deploy'));
  assert.equal(new Set([...a.train, ...a.test, ...a.unknown, ...a.deployment]).size, manifest.images.length, 'a partition');
  // one identity's split does not depend on the others
  const fewer: Manifest = { ...manifest, identities: manifest.identities.slice(1), images: manifest.images.filter((im) => im.identity !== 'id0'), deployment: manifest.deployment!.filter((s) => s.subject !== 'id0') };
  assert.deepEqual(paths(splitDataset(fewer, { seed: 7 }).test.filter((im) => im.identity === 'id2')), paths(a.test.filter((im) => im.identity === 'id2')));
});

test('split: K-shot keeps k per identity from the train side, one per view for k = 5, same test set', () => {
  const { manifest } = makeDataset(3, 1, 30);
  const full = splitDataset(manifest, { seed: 1 });
  const k5 = splitDataset(manifest, { seed: 1, kShot: 5 });
  assert.deepEqual(k5.test, full.test);
  for (let k = 0; k < 3; k++) {
    const mine = k5.train.filter((im) => im.identity === `id${k}`);
    assert.deepEqual(mine.map((im) => im.view).sort(), [...VIEWS5].sort());
    assert.ok(mine.every((im) => full.train.includes(im)));
  }
  const k40 = splitDataset(manifest, { seed: 1, kShot: 40 });
  assert.equal(k40.train.length, full.train.length);
  assert.equal(k40.warnings.length, 3);
});

test('data check: exit 0 with a summary on a good dataset, 1 listing every problem on a broken one', () => {
  const { root, manifest } = makeDataset(2, 1, 5);
  let r = clipface('data', 'check', root);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 identities \(2 known, 1 unknown\)/);
  assert.match(r.stdout, /total\s+/);
  manifest.images.push({ path: '../../etc/passwd', identity: 'id0', view: 'front', session: 's' });
  (manifest as unknown as Record<string, unknown>).typo = true;
  writeFileSync(join(root, 'manifest.json'), JSON.stringify(manifest));
  r = clipface('data', 'check', root);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error\s+manifest\.json#: unknown key "typo"/);
  delete (manifest as unknown as Record<string, unknown>).typo;
  writeFileSync(join(root, 'manifest.json'), JSON.stringify(manifest));
  r = clipface('data', 'check', root);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /manifest\.json#\/images\/21 \(\.\.\/\.\.\/etc\/passwd\): path escapes the dataset root/);
  r = clipface('data', 'check', join(root, 'nope'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nope: dataset folder not found/);
});
