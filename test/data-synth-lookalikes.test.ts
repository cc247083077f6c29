/** Lookalike unknowns in the synthetic set (issue 11): exact part distances, the others untouched, stale sets noticed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadDataset } from '../lib/data/dataset.ts';
import { schemaErrors } from '../lib/data/schema.ts';
import { generateFaces, partIds } from '../lib/data/synth-face.ts';
import { partDistance, planLookalikes } from '../lib/data/synth-lookalikes.ts';
import { pickName } from '../lib/data/synth-names.ts';
import { GENERATOR, synthDataset, synthNeeded } from '../lib/data/synth.ts';
import { streamRng } from '../lib/util/rng.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const tmp = () => mkdtempSync(join(tmpdir(), 'clipface-look-'));
const base = { seed: 3, identities: 4, unknown: 1, perIdentity: 2, deployFrames: 1, size: 96 };
const look = { distances: [1, 2, 3], perDistance: 2, photos: 1 };
const sha = (root: string, rel: string) => createHash('sha256').update(readFileSync(join(root, rel))).digest('hex');

test('lookalikes: everyone else byte-identical, fields in the manifest, deployment subjects, schema-valid', async () => {
  const plain = tmp(), withLook = tmp();
  const a = await synthDataset(plain, base);
  const b = await synthDataset(withLook, { ...base, lookalikes: look });
  for (const im of a.manifest.images) assert.equal(sha(withLook, im.path), sha(plain, im.path), im.path);
  assert.deepEqual(b.manifest.identities.slice(0, 5), a.manifest.identities, 'the same people, names included');
  const looks = b.manifest.identities.slice(5);
  assert.equal(looks.length, 6, '2 bases × 3 distances');
  assert.deepEqual(looks.map((i) => i.lookalikeDistance), [1, 2, 3, 1, 2, 3]);
  for (const l of looks) {
    assert.equal(l.role, 'unknown');
    assert.match(l.lookalikeOf!, /^p0[1-4]$/, 'a lookalike of an enrolled person');
    assert.equal(l.lookalikeParts!.length, l.lookalikeDistance);
  }
  assert.equal(new Set(looks.slice(0, 3).map((l) => l.lookalikeOf)).size, 1, 'one base person at every distance');
  assert.notEqual(looks[0]!.lookalikeOf, looks[3]!.lookalikeOf, 'two bases');
  assert.equal(b.manifest.images.length, a.manifest.images.length + 6 * (1 + 1));
  assert.deepEqual(b.manifest.deployment!.slice(5).map((s) => [s.subject, s.known]), looks.map((l) => [l.id, false]));
  assert.deepEqual(b.manifest.generator!.options, { ...a.manifest.generator!.options, lookalikes: look });
  assert.deepEqual(schemaErrors(JSON.parse(readFileSync(join(withLook, 'manifest.json'), 'utf8'))), []);
  assert.deepEqual(loadDataset(withLook, { verifyHashes: true }).problems, []);

  // a run regenerates a set made for other options, and only that
  assert.equal(synthNeeded(withLook, { ...base, lookalikes: look }), null);
  assert.equal(synthNeeded(withLook, { ...base, lookalikes: { photos: 1, perDistance: 2 } }), null, 'defaults and key order do not matter');
  assert.match(synthNeeded(plain, { ...base, lookalikes: look }) ?? '', /other options: .*lookalikes/);
  assert.match(synthNeeded(withLook, { ...base, lookalikes: { ...look, perDistance: 1 } }) ?? '', /perDistance/);
  assert.match(synthNeeded(withLook, { ...base, seed: 4, lookalikes: look }) ?? '', /seed 3, the config asks for 4/);
  assert.equal(synthNeeded(tmp(), base), 'no manifest yet');
  const foreign = tmp();
  writeFileSync(join(foreign, 'manifest.json'), JSON.stringify({ ...b.manifest, generator: { name: 'my-camera', version: 1 } }));
  assert.equal(synthNeeded(foreign, base), null, 'never replaces data it did not make');
});

test('planLookalikes: exactly d parts from the base, farther from every other enrolled person, seeded and stable', () => {
  const faces = generateFaces(streamRng(GENERATOR, 9, 'identities'), 12);
  const known = faces.slice(0, 10), strangers = faces.slice(10);
  const plan = planLookalikes(GENERATOR, 9, known, strangers, { distances: [1, 2, 3, 4], perDistance: 5 });
  assert.equal(plan.length, 20);
  const ids = known.map((f) => partIds(f.face));
  const seen = new Set([...faces.map((f) => partIds(f.face).join())]);
  for (const l of plan) {
    const mine = partIds(l.face.face);
    assert.equal(partDistance(mine, ids[l.of]!), l.distance, 'exactly d parts from the base');
    const changed = ['head', 'eye', 'nose', 'hair', 'eyebrow', 'mouth', 'facialHair', 'ear'].filter((_, k) => mine[k] !== ids[l.of]![k]);
    assert.deepEqual(changed.sort(), [...l.parts].sort(), 'the recorded parts are the ones that differ');
    ids.forEach((k, i) => { if (i !== l.of) assert.ok(partDistance(mine, k) > l.distance, 'nearest enrolled person is the base'); });
    assert.ok(!seen.has(mine.join()), 'no copy of anyone');
    seen.add(mine.join());
    assert.equal(l.face.gender, known[l.of]!.gender);
  }
  assert.equal(new Set(plan.map((l) => l.of)).size, 5, 'five different bases');
  assert.deepEqual(planLookalikes(GENERATOR, 9, known, strangers, { distances: [1, 2, 3, 4], perDistance: 2 }), plan.slice(0, 8), 'more lookalikes leave the first ones as they were');
  assert.throws(() => planLookalikes(GENERATOR, 9, known, strangers, { distances: [5] }), /distances must be integers in \[1, 4\]/);
  assert.throws(() => planLookalikes(GENERATOR, 9, known, strangers, { perDistance: 11 }), /need as many enrolled people, there are 10/);
});

test('names stay distinct past the 32 first names and surnames of a list', () => {
  const used = new Set<string>(), rng = streamRng('names-test');
  const names = Array.from({ length: 120 }, (_, i) => pickName(rng, i % 3 ? 'female' : 'male', used));
  assert.equal(new Set(names).size, 120);
  assert.ok(!names.some((n) => n.startsWith('Person ')), 'real-looking names while pairings are left');
});

test('a lookalikeOf that names nobody: a warning that says the fix; the person stays, as a stranger', async () => {
  const dir = tmp();
  const { manifest } = await synthDataset(dir, { ...base, identities: 2, unknown: 1, deployFrames: 0 });
  manifest.identities[2] = { ...manifest.identities[2]!, lookalikeOf: 'p09', lookalikeDistance: 1 };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const ds = loadDataset(dir);
  assert.deepEqual(ds.problems.map((p) => [p.code, p.severity]), [['lookalike', 'warning']]);
  assert.match(ds.problems[0]!.reason, /names "p09", which is not listed in identities; give the id of the enrolled person/);
  assert.equal(ds.manifest.identities[2]!.lookalikeOf, undefined);
  assert.equal(ds.manifest.images.length, manifest.images.length, 'no image dropped');
});

test('data synth CLI: lookalike flags, and one clear line for a bad list', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'lib/cli/main.ts'), 'data', 'synth', ...args], { cwd: repoRoot, encoding: 'utf8' });
  const out = join(tmp(), 'set');
  let r = run('--out', out, '--seed', '2', '--identities', '2', '--unknown', '0', '--per-identity', '1', '--deploy-frames', '0', '--size', '96',
    '--lookalikes-per-distance', '1', '--lookalike-distances', '2', '--lookalike-photos', '1');
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  assert.deepEqual(m.identities.map((i: { id: string; lookalikeDistance?: number }) => [i.id, i.lookalikeDistance]), [['p01', undefined], ['p02', undefined], ['look01', 2]]);
  r = run('--out', out, '--lookalike-distances', '1,x');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--lookalike-distances must be a comma-separated list of integers such as 1,2,3, got "1,x"/);
});
