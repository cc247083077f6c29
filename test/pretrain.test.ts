/**
 * The teaching-CLIP machinery: the image tower's gradient workaround equals autodiff of the conv
 * on the cpu backend, the multi-positive loss reduces to CLIP's loss, captions name what they
 * claim, checkpoints are atomic and refuse tampering, and a mini pretraining (seconds, tiny
 * towers) lowers the loss, resumes exactly and learns an easy attribute zero-shot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTf, tf } from '../lib/runtime/tf.ts';
import { parseClipConfig } from '../lib/clip/config.ts';
import { randomClipStateDict } from '../lib/clip/random-init.ts';
import { VisionTransformer, patchify } from '../lib/clip/vit.ts';
import { ClipTokenizer } from '../lib/clip/tokenizer.ts';
import { facialHairHeadLoss, multiPositiveClipLoss, sameIdentityMask } from '../lib/pretrain/loss.ts';
import { agrees, caption, describes, facialHairNegative, facialHairNoun, facialHairStyle, identityPhrases, identityTraits, ATTRIBUTE_PROBES } from '../lib/pretrain/captions.ts';
import { epochBatches, makeBatch } from '../lib/pretrain/batches.ts';
import { setFeatures } from '../lib/pretrain/heldout.ts';
import { attributeAccuracy, probeClassifier } from '../lib/pretrain/evaluate.ts';
import { generateFaces, lookalikeFace, partIds, DEMO_DISTINCT } from '../lib/data/synth-face.ts';
import { streamRng } from '../lib/util/rng.ts';
import { resolvePretrainConfig } from '../lib/pretrain/config.ts';
import { buildCorpus, loadCorpus } from '../lib/pretrain/corpus.ts';
import { pretrainClip } from '../lib/pretrain/train.ts';
import { loadCheckpoint, saveCheckpoint } from '../lib/pretrain/checkpoint.ts';
import { floatToHalf } from '../lib/clip/safetensors.ts';

await initTf({ quiet: true });

const vitCfg = (size = 32, patch = 8, width = 32) => parseClipConfig({
  embed_dim: 32, quick_gelu: true,
  vision_cfg: { image_size: size, layers: 1, width, patch_size: patch, head_width: width },
  text_cfg: { context_length: 77, vocab_size: 49408, width: 32, heads: 1, layers: 1 },
});

test('ViT patch embedding (patchify + matmul) equals tf.conv2d in value and gradient on the cpu backend', async () => {
  const prev = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    const cfg = vitCfg(16, 4, 8);
    const vit = new VisionTransformer(cfg, randomClipStateDict(cfg, 3));
    const n = 2, s = 16;
    const rng = streamRng('vit-grad', 1);
    const pixels = Float32Array.from({ length: n * 3 * s * s }, () => rng() - 0.5);
    const r = tf.tensor3d(Float32Array.from({ length: n * 16 * 8 }, () => rng() - 0.5), [n, 16, 8]);
    const w = vit.t.get('conv1.weight')!;
    const ours = tf.variableGrads(() => tf.sum(tf.mul(vit.patchEmbedding(pixels, n), r)) as tf.Scalar, [w]);
    const img = tf.transpose(tf.tensor4d(pixels, [n, 3, s, s]), [0, 2, 3, 1]) as tf.Tensor4D;
    const ref = tf.variableGrads(() => tf.sum(tf.mul(tf.reshape(tf.conv2d(img, w as tf.Tensor4D, 4, 'valid'), [n, 16, 8]), r)) as tf.Scalar, [w]);
    assert.ok(Math.abs(ours.value.dataSync()[0]! - ref.value.dataSync()[0]!) < 1e-4);
    const a = ours.grads[w.name]!.dataSync(), b = ref.grads[w.name]!.dataSync();
    let maxErr = 0;
    for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i]! - b[i]!));
    assert.ok(maxErr < 1e-4, `max gradient difference ${maxErr}`);
    // and the whole tower's gradient exists for every parameter (no missing kernel on the tape)
    const all = tf.variableGrads(() => tf.sum(vit.encode(pixels, n)) as tf.Scalar, [...vit.t.values()]);
    for (const v of vit.t.values()) assert.ok(all.grads[v.name], `no gradient for ${v.name}`);
    vit.dispose();
  } finally {
    await tf.setBackend(prev);
  }
});

test('patchify orders each patch as (y, x, channel), the NHWC conv order', () => {
  const px = Float32Array.from({ length: 3 * 4 * 4 }, (_, i) => i); // one 4×4 image, NCHW
  const rows = patchify(px, 1, 4, 2);
  // patch (0,0): y0x0 c0..2 = 0,16,32; y0x1 = 1,17,33; y1x0 = 4,20,36; y1x1 = 5,21,37
  assert.deepEqual([...rows.subarray(0, 12)], [0, 16, 32, 1, 17, 33, 4, 20, 36, 5, 21, 37]);
});

test('multi-positive CLIP loss: one positive per row and column is exactly CLIP symmetric cross-entropy', () => {
  const logits = tf.tensor2d([[3, 1, 0], [0.5, 2, 1], [0, 0, 1]]);
  const ours = multiPositiveClipLoss(logits, sameIdentityMask([0, 1, 2], [0, 1, 2])).dataSync()[0]!;
  const ce = (rows: number[][]) => rows.reduce((s, r, i) => s - (r[i]! - Math.log(r.reduce((a, x) => a + Math.exp(x), 0))), 0) / rows.length;
  const l = logits.arraySync();
  const lt = l[0]!.map((_, j) => l.map((r) => r[j]!));
  assert.ok(Math.abs(ours - (ce(l) + ce(lt)) / 2) < 1e-5);
  // two photos of one person: the other photo's caption is a positive (raising its logit lowers
  // the loss), where CLIP's one-hot target makes it a false negative (raising it raises the loss)
  const two = tf.tensor2d([[5, 4, 0], [4, 5, 0], [0, 0, 5]]);
  const slope = (mask: Float32Array) => tf.grad((x: tf.Tensor) => multiPositiveClipLoss(x as tf.Tensor2D, mask))(two).arraySync() as number[][];
  assert.ok(slope(sameIdentityMask([7, 7, 9], [7, 7, 9]))[0]![1]! < 0);
  assert.ok(slope(sameIdentityMask([0, 1, 2], [0, 1, 2]))[0]![1]! > 0);
  assert.throws(() => multiPositiveClipLoss(two, new Float32Array(9)), /no positive/);
});

test('captions: 50 tokens at most, names never, claims that another photo must agree with', () => {
  const tok = ClipTokenizer.load();
  const faces = generateFaces(streamRng('caption-test', 1), 20, { minPartsDiffer: 2, eyeHairUnique: false });
  const rng = streamRng('caption-test', 2);
  for (const f of faces) {
    const traits = identityTraits(f);
    const facts = { glasses: rng() < 0.5, expression: 'smile', view: 'left', mouthChanged: true };
    const c = caption(traits, facts, rng, (s) => tok.encode(s).length, 50);
    assert.ok(tok.encode(c.text).length <= 50, c.text);
    assert.match(c.text, /^a (man|woman|person)\b/);
    assert.ok(!/ named /.test(c.text));
    assert.ok(agrees(facts, c.claims), 'a caption agrees with its own photo');
    if (c.claims.glasses !== undefined) assert.equal(agrees({ ...facts, glasses: !facts.glasses }, c.claims), false);
    if (traits.gender === 'woman') assert.ok(!/clean-shaven|beard|goatee/.test(c.text));
  }
});

test('a short caption is a positive for another person it is true of, a full one is not', () => {
  const tok = ClipTokenizer.load();
  const faces = generateFaces(streamRng('describes-test', 1), 40, { minPartsDiffer: 2, eyeHairUnique: false }).map(identityTraits);
  const facts = { glasses: false, expression: 'neutral', view: 'front', mouthChanged: false };
  const men = faces.filter((t) => t.gender === 'man'), women = faces.filter((t) => t.gender === 'woman');
  const man = men[0]!, other = men.find((t) => t.skin === man.skin)!;
  const short = { gender: 'man' as const, phrases: [`${man.skin} skin`], headwear: 'none' as const };
  assert.ok(describes(other, facts, short), 'a man with the same skin and no hat fits "a man with … skin, without a hat"');
  assert.equal(describes(women[0]!, facts, short), false, 'the gender word excludes women');
  assert.equal(describes(other, { ...facts, headwear: 'hat' }, short), false, 'the photo claim must agree');
  assert.equal(describes(men.find((t) => t.skin !== man.skin)!, facts, short), false, 'a phrase the person lacks excludes them');
  // a full caption (all phrases) describes its own identity and, among 40 distinct people, no other
  const rng = streamRng('describes-test', 2);
  let others = 0;
  for (const t of faces) {
    const { nouns, predicates } = identityPhrases(t, facts);
    const full = { gender: t.gender, phrases: [...nouns, ...predicates] };
    assert.ok(describes(t, facts, full));
    others += faces.filter((u) => u !== t && describes(u, facts, full)).length;
    const c = caption(t, facts, rng, (s) => tok.encode(s).length, 50);
    assert.ok(describes(t, facts, c.claims), `a caption describes its own photo: ${c.text}`);
  }
  assert.equal(others, 0);
});

test('multi-positive CLIP loss with hard-negative columns: they join image → text only', () => {
  const logits = [[3, 1, 0, 2.5], [0.5, 2, 1, -1], [0, 0, 1, 0.2]];
  const mask = sameIdentityMask([0, 1, 2], [0, 1, 2, 9]);
  const ours = multiPositiveClipLoss(tf.tensor2d(logits), mask, 3).dataSync()[0]!;
  const lse = (r: number[]) => Math.log(r.reduce((a, x) => a + Math.exp(x), 0));
  const i2t = logits.reduce((s, r, i) => s - (r[i]! - lse(r)), 0) / 3; // all four columns
  const t2i = [0, 1, 2].reduce((s, j) => { const col = logits.map((r) => r[j]!); return s - (col[j]! - lse(col)); }, 0) / 3; // captions only
  assert.ok(Math.abs(ours - (i2t + t2i) / 2) < 1e-5, `${ours} vs ${(i2t + t2i) / 2}`);
  // a negative that scores far below everything changes nothing; raising it raises the loss
  const far = logits.map((r) => [...r.slice(0, 3), -1e4]);
  const plain = multiPositiveClipLoss(tf.tensor2d(logits.map((r) => r.slice(0, 3))), sameIdentityMask([0, 1, 2], [0, 1, 2])).dataSync()[0]!;
  assert.ok(Math.abs(multiPositiveClipLoss(tf.tensor2d(far), mask, 3).dataSync()[0]! - plain) < 1e-5);
  const g = tf.grad((x: tf.Tensor) => multiPositiveClipLoss(x as tf.Tensor2D, mask, 3))(tf.tensor2d(logits)).arraySync() as number[][];
  assert.ok(g[0]![3]! > 0, 'the hard negative is pushed down');
});

test('facial-hair head: binary cross-entropy of scaled cosines, averaged over the men only', () => {
  const img = tf.tensor2d([[1, 0], [0.6, 0.8], [0, 1], [-1, 0]]);
  const head = tf.tensor2d([[2], [0]]); // direction (1, 0): cosines 1, 0.6, 0, -1
  const labels = Float32Array.from([1, 0, 1, 0]), mask = Float32Array.from([1, 1, 0, 1]);
  const bce = (z: number, y: number) => Math.log(1 + Math.exp(z)) - y * z;
  const want = (bce(10, 1) + bce(6, 0) + bce(-10, 0)) / 3;
  assert.ok(Math.abs(facialHairHeadLoss(img, head, labels, mask).dataSync()[0]! - want) < 1e-5);
  assert.equal(facialHairHeadLoss(img, head, labels, new Float32Array(4)).dataSync()[0], 0, 'no men: nothing to learn');
  // far past the saturation of a naive log(sigmoid): still finite
  assert.ok(Number.isFinite(facialHairHeadLoss(img, head, labels, mask, 1000).dataSync()[0]!));
});

test('facial-hair hard negatives: the same caption with only that phrase swapped', () => {
  const tok = ClipTokenizer.load();
  const faces = generateFaces(streamRng('negative-test', 1), 60, { minPartsDiffer: 2, eyeHairUnique: false }).map(identityTraits);
  const pool = [...new Set(faces.filter((t) => t.facialHair).map((t) => facialHairNoun(t.facialHair)!))];
  const facts = { glasses: false, expression: 'neutral', view: 'front', mouthChanged: false };
  const rng = streamRng('negative-test', 2);
  let bearded = 0, shaven = 0;
  for (const t of faces) {
    const c = caption(t, facts, rng, (s) => tok.encode(s).length, 50);
    const neg = facialHairNegative(t, c.draft, c.claims, pool, rng);
    const own = facialHairNoun(t.facialHair) ?? 'clean-shaven';
    if (t.gender === 'woman' || !c.claims.phrases!.includes(own)) { assert.equal(neg, undefined); continue; }
    assert.ok(neg);
    const kept = c.claims.phrases!.filter((p) => p !== own);
    assert.deepEqual(neg.claims.phrases!.filter((p) => kept.includes(p)), kept, 'every other phrase kept, in order');
    assert.equal(neg.claims.phrases!.length, c.claims.phrases!.length);
    assert.ok(!neg.claims.phrases!.includes(own));
    if (t.facialHair) { bearded++; assert.ok(neg.claims.phrases!.includes('clean-shaven'), neg.text); } else { shaven++; assert.ok(neg.claims.phrases!.some((p) => pool.includes(p)), neg.text); }
    assert.equal(describes(t, facts, neg.claims), false, `a negative is false of its own photo: ${neg.text}`);
  }
  assert.ok(bearded > 3 && shaven > 3, `${bearded} bearded, ${shaven} clean-shaven`);
  // the gate's breakdown by style drops the variant word and the extras
  const man = faces.find((t) => t.gender === 'man')!;
  assert.equal(facialHairStyle({ ...man, facialHair: 'thin goatee and mustache' }), 'goatee');
  assert.equal(facialHairStyle({ ...man, facialHair: 'long full goatee' }), 'full goatee');
  assert.equal(facialHairStyle({ ...man, facialHair: 'thick horseshoe mustache and sideburns' }), 'horseshoe mustache');
  assert.equal(facialHairStyle({ ...man, facialHair: undefined }), 'clean-shaven');
  assert.equal(facialHairStyle(faces.find((t) => t.gender === 'woman')!), undefined);
});

test('zero-shot accuracy broken down by a probe\'s finer truth adds up to the whole', () => {
  const traits = generateFaces(streamRng('groups-test', 1), 30, { minPartsDiffer: 2, eyeHairUnique: false }).map(identityTraits).filter((t) => t.gender === 'man');
  const facts = { glasses: false, expression: 'neutral', view: 'front', mouthChanged: false };
  const probe = ATTRIBUTE_PROBES.find((p) => p.name === 'facial hair (men)')!;
  // 2-d features: [1, 0] reads "yes", [0, 1] reads "no"; every third man is given the wrong one
  const feats = new Float32Array(traits.length * 2);
  traits.forEach((t, i) => { const yes = !!t.facialHair !== (i % 3 === 0); feats[i * 2 + (yes ? 0 : 1)] = 1; });
  const r = attributeAccuracy(feats, 2, traits.map((t) => ({ traits: t, facts })), probe, { labels: ['yes', 'no'], weights: Float32Array.from([1, 0, 0, 1]) });
  const right = traits.filter((_, i) => i % 3 !== 0).length;
  assert.equal(r.accuracy, right / traits.length);
  assert.equal(r.groups!.reduce((a, g) => a + g.n, 0), traits.length);
  assert.equal(r.groups!.reduce((a, g) => a + g.right, 0), right);
  assert.ok(r.groups!.some((g) => g.group === 'clean-shaven'));
});

test('lookalikes differ from their base in exactly the changed parts', () => {
  const [base] = generateFaces(streamRng('twin-test', 1), 1, DEMO_DISTINCT);
  for (const k of [1, 2, 3]) {
    const { face, changed } = lookalikeFace(base!, k, streamRng('twin-test', k));
    const a = partIds(base!.face), b = partIds(face.face);
    assert.equal(changed.length, k);
    assert.equal(a.filter((x, i) => x !== b[i]).length, k);
    assert.equal(face.face.hair.color, base!.face.hair.color);
  }
});

test('fp16 writer rounds to nearest even like numpy', () => {
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(-2), 0xc000);
  assert.equal(floatToHalf(65504), 0x7bff);
  assert.equal(floatToHalf(1e6), 0x7c00);
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(floatToHalf(2 ** -24), 0x0001); // smallest subnormal
});

test('checkpoints: a tampered file is refused; a half-swapped one falls back to the old whole one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-ckpt-'));
  try {
    const w = new Map([['a', { shape: [2], data: Float32Array.of(1, 2) }]]);
    saveCheckpoint(dir, w, new Map(), { step: 3, configHash: 'h', untouchedScale: 1, extra: {} });
    assert.equal(loadCheckpoint(dir)!.state.step, 3);
    const f = join(dir, 'checkpoint', 'weights.safetensors');
    const bytes = readFileSync(f);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(f, bytes);
    assert.throws(() => loadCheckpoint(dir), /does not match the sha256/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

const miniCorpus = async (dir: string) => {
  const cfg = resolvePretrainConfig({ name: 'mini', corpus: miniCorpusOptions(dir) }, 'mini.json');
  const { dir: cdir, ...opts } = cfg.corpus;
  await buildCorpus(cdir, opts);
  return loadCorpus(cdir);
};
const miniCorpusOptions = (dir: string) => ({ dir: join(dir, 'corpus'), identities: 48, perIdentity: 4, heldout: 24, hard: 2, renderSize: 96, cropSize: 32, margin: 0.25, glassesRate: 0.3, hatRate: 0.1 });

test('mini pretraining (seconds): the loss falls and gender is learned zero-shot from a prompt no caption was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-pretrain-'));
  try {
    const corpus = await miniCorpus(dir);
    const cfg = resolvePretrainConfig({
      name: 'mini', seed: 1, corpus: miniCorpusOptions(dir),
      training: { epochs: 24, batchPairs: 16, lr: 0.002, warmupSteps: 10, photoPairWeight: 1, checkpointEvery: 1000 },
    }, 'mini.json');
    const r = await pretrainClip(cfg, vitCfg(), corpus, ClipTokenizer.load(), join(dir, 'run'));
    assert.equal(r.status, 'done');
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(r.log.slice(0, 5).map((l) => l.loss)), last = mean(r.log.slice(-5).map((l) => l.loss));
    const ev = r.evals.at(-1)!;
    assert.ok(last < first - 0.5, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    // zero-shot from a prompt no caption was ("a man" / "a woman"), on the photos it trained on:
    // a mini run learns the words of its captions, not yet a world that transfers to new people
    const m = corpus.manifest, d = r.model.cfg.embedDim;
    const { feats, images } = setFeatures(r.model, corpus, 'train');
    const probe = ATTRIBUTE_PROBES.find((p) => p.name === 'gender')!;
    const truth = images.map((k) => ({ traits: m.identities[m.images[k]!.identity]!.traits, facts: m.images[k]!.facts }));
    const gender = attributeAccuracy(feats, d, truth, probe, probeClassifier(r.model, ClipTokenizer.load(), probe));
    assert.ok(gender.accuracy >= 0.8 && gender.accuracy > gender.majority + 0.2, `zero-shot gender ${gender.accuracy} (majority ${gender.majority})`);
    r.model.dispose();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('mini pretraining: a run stopped after step 3 resumes to the same losses, step for step', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-pretrain-'));
  try {
    const corpus = await miniCorpus(dir);
    const cfg = resolvePretrainConfig({ name: 'mini', seed: 2, corpus: miniCorpusOptions(dir), training: { epochs: 1, batchPairs: 16, warmupSteps: 2, photoPairWeight: 1, facialHairNegatives: 1, facialHairHead: 1, checkpointEvery: 2 } }, 'mini.json');
    const tok = ClipTokenizer.load();
    // hard negatives add columns and nothing else: the same captions and pixels, never positive for their own photo
    const o = { seed: 2, maxTokens: 50, shiftPx: 2, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], contextLength: 77 };
    const pairs = epochBatches(corpus, 2, 0, 16)[0]!;
    const without = makeBatch(corpus, tok, pairs, 0, o), withNeg = makeBatch(corpus, tok, pairs, 0, { ...o, facialHairNegatives: 1 });
    assert.deepEqual(withNeg.captions, without.captions);
    assert.deepEqual(withNeg.pixels, without.pixels);
    assert.ok(withNeg.negatives.length > 0 && without.negatives.length === 0);
    const n = withNeg.images.length, cols = n + withNeg.negatives.length;
    assert.equal(withNeg.tokens.length, cols);
    assert.equal(withNeg.positives.length, n * cols);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.equal(withNeg.positives[i * cols + j], without.positives[i * n + j]);
    const full = await pretrainClip(cfg, vitCfg(), corpus, tok, join(dir, 'a'));
    full.model.dispose();
    let steps = 0;
    const part = await pretrainClip(cfg, vitCfg(), corpus, tok, join(dir, 'b'), { shouldStop: () => ++steps >= 3 });
    assert.equal(part.status, 'stopped');
    assert.equal(part.steps, 3);
    part.model.dispose();
    assert.ok(existsSync(join(dir, 'b', 'checkpoint', 'state.json')));
    const resumed = await pretrainClip(cfg, vitCfg(), corpus, tok, join(dir, 'b'), {}, { resume: true });
    assert.equal(resumed.status, 'done');
    assert.deepEqual(resumed.log.map((l) => l.loss), full.log.map((l) => l.loss));
    assert.deepEqual(resumed.evals.map((e) => e.heldout.auc), full.evals.map((e) => e.heldout.auc));
    resumed.model.dispose();
    await assert.rejects(pretrainClip({ ...cfg, seed: 3 }, vitCfg(), corpus, tok, join(dir, 'b'), {}, { resume: true }), /belongs to another config/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
