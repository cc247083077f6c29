/**
 * The descriptive prompt (prompt.names "description", issue 11): a synthetic set's enrolled people
 * in words and no name, drawn again from the generator's seed and checked against its names; and,
 * with the shipped teaching CLIP on people it never saw, identification from descriptions far
 * above chance while names stay near it (the reason the paper finetunes the text tower).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { synthDataset } from '../lib/data/synth.ts';
import { resolveLocalModel } from '../lib/models/registry.ts';
import { ClipModel, l2normalize } from '../lib/clip/model.ts';
import { ClipTokenizer } from '../lib/clip/tokenizer.ts';
import { applyOverrides, resolveConfig } from '../lib/experiment/config.ts';
import { classNames, classPrompts } from '../lib/methods/options.ts';
import { describeTraits, identityDescriptions, synthFacesOf } from '../lib/pretrain/describe.ts';
import { identityTraits } from '../lib/pretrain/captions.ts';
import { encodeImages } from '../lib/pretrain/evaluate.ts';
import { identifyWithPrompts } from '../lib/pretrain/identify.ts';
import { makeUnseenPeople, unseenPixels } from '../lib/pretrain/unseen.ts';
import { TEACHING_CLIP_ID } from '../lib/services/model-source.ts';
import { UserError } from '../lib/util/errors.ts';
import { normalizeRows } from '../lib/util/rows.ts';

await initTf({ quiet: true });
const work = mkdtempSync(join(tmpdir(), 'clipface-describe-'));
const cfgWith = (names: string) => resolveConfig(applyOverrides({ name: 'x', dataset: { path: 'd' } }, [`prompt.names=${names}`, 'prompt.template={name}']), 'x');

test('descriptions: every enrolled person of a synthetic set in words, no name; the generator\'s names check the redraw', async () => {
  const dir = join(work, 'set');
  const { manifest } = await synthDataset(dir, { seed: 4, identities: 3, unknown: 1, perIdentity: 1, size: 64, deployFrames: 0 });
  const words = identityDescriptions(manifest, dir);
  assert.deepEqual([...words.keys()], ['p01', 'p02', 'p03'], 'enrolled people only');
  const faces = synthFacesOf(manifest, dir);
  for (const ident of manifest.identities.filter((i) => i.role === 'known')) {
    const text = words.get(ident.id)!;
    assert.match(text, /^a (man|woman) with [a-z]/);
    assert.equal(text, describeTraits(identityTraits(faces.get(ident.id)!)));
    for (const part of ident.name.split(' ')) assert.ok(!text.includes(part), `${ident.id}: no name in "${text}"`);
  }
  assert.equal(new Set(words.values()).size, 3, 'distinct people, distinct descriptions');
  const classes = manifest.identities.filter((i) => i.role === 'known');
  assert.deepEqual(classPrompts(cfgWith('description'), classes, { manifest, root: dir }), [...words.values()]);
  assert.deepEqual(classNames(cfgWith('real'), classes), classes.map((c) => c.name), 'the other modes need no dataset');

  const renamed = structuredClone(manifest);
  renamed.identities[1]!.name = 'Someone Else';
  assert.throws(() => identityDescriptions(renamed, dir), (e: unknown) => e instanceof UserError && e.message.startsWith(join(dir, 'manifest.json')) && /p02 .*regenerate the set/.test(e.message));
  const { generator: _, ...own } = manifest;
  assert.throws(() => classNames(cfgWith('description'), classes, { manifest: own, root: dir }), /only a synthetic set .* use prompt.names "real" or "neutral"/);
  assert.throws(() => classNames(cfgWith('description'), classes), /needs the dataset/);
});

test('teaching CLIP, people never seen: zero-shot from descriptions works, from names it stays near chance', async () => {
  const u = await makeUnseenPeople({ seed: 3, people: 8, photos: 2 });
  assert.equal(u.photos.length, 16);
  const again = await makeUnseenPeople({ seed: 3, people: 8, photos: 2 });
  assert.deepEqual(again.crops, u.crops, 'seeded: the same photos');
  await assert.rejects(makeUnseenPeople({ seed: 100, people: 8, photos: 1 }), /seed must be an integer in \[0, 99\] \(only those seeds are kept out of pretraining\)/);

  const files = resolveLocalModel(TEACHING_CLIP_ID);
  const model = ClipModel.load(files.configPath, files.weightsPath);
  try {
    const d = model.cfg.embedDim, p = model.cfg.preprocess;
    const feats = normalizeRows(encodeImages(model, unseenPixels(u, p.mean, p.std), u.photos.length), d);
    const tok = ClipTokenizer.load();
    const text = (prompts: string[]) => tf.tidy(() => l2normalize(model.encodeText(tok.tokenize(prompts, model.cfg.text.contextLength).tokens)).dataSync() as Float32Array);
    const labels = u.photos.map((x) => x.person);
    const scale = Math.exp(model.logitScale);
    const byName = identifyWithPrompts(feats, labels, text(u.people.map((x) => `This is the image of a person named ${x.name}`)), d, scale);
    const byWords = identifyWithPrompts(feats, labels, text(u.people.map((x) => x.description)), d, scale);
    assert.equal(byName.chance, 1 / 8);
    assert.ok(byWords.accuracy >= 0.6, `descriptions: ${byWords.accuracy}`);
    assert.ok(byName.accuracy <= 0.25, `names: ${byName.accuracy} (chance 0.125)`);
    assert.equal(byName.accepted, 0, 'no photo reaches 0.8 confidence from a name');
    assert.ok(byWords.meanTopProbability > 2 * byName.meanTopProbability);
  } finally {
    model.dispose();
  }
});

test('identifyWithPrompts: top-1, softmax confidence at the paper\'s 0.8, on a hand-computed case', () => {
  const d = 2;
  const feats = Float32Array.from([1, 0, 0, 1, 1, 0]); // photos of persons 0, 1, 1
  const text = Float32Array.from([1, 0, 0, 1]);          // prompts of persons 0, 1
  const r = identifyWithPrompts(feats, [0, 1, 1], text, d, Math.log(9));
  // logits scale·cos: photo 0 → [ln 9, 0]: p = 9/10; photo 2 → [ln 9, 0] but it is person 1's
  assert.deepEqual(r.cosines, [[1, 0], [0, 1], [1, 0]]);
  assert.equal(r.accuracy, 2 / 3);
  assert.equal(r.chance, 0.5);
  assert.ok(Math.abs(r.meanTopProbability - 0.9) < 1e-12);
  assert.equal(r.accepted, 1, 'every photo at p = 0.9 ≥ 0.8');
  assert.equal(identifyWithPrompts(feats, [0, 1, 1], text, d, Math.log(3)).accepted, 0, 'p = 0.75 < 0.8');
});
