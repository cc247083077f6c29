/** `clipface embed` end to end: the JSON contract, parity from raw image files, and bad inputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { golden, goldenDir, repoRoot } from './helpers/golden.ts';

function clipface(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'lib/cli/main.ts'), ...args], {
    cwd: repoRoot, encoding: 'utf8', env: { ...process.env, CLIPFACE_QUIET: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = join(goldenDir(), 'clip-rn-tiny');
const config = join(dir, 'config.json');
const weights = join(dir, 'model.fp16.safetensors');

test('embed prints the JSON contract and matches the reference from the original image files', () => {
  const g = golden('clip-rn-tiny');
  const imgs = g.images.map((im: any) => join(dir, im.file));
  const texts = [g.prompts[0].text, g.prompts[13].text];
  const r = clipface('embed', '--config', config, '--weights', weights, ...imgs.flatMap((p: string) => ['--image', p]), ...texts.flatMap((t: string) => ['--text', t]));
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['images', 'texts', 'logits_per_image']);
  assert.deepEqual(out.images.map((i: any) => i.source), imgs);
  assert.deepEqual(out.texts[1].tokens, g.prompts[13].tokens, 'tokens of the truncated prompt');
  const ref = g.outputs_fp16_weights;
  for (let i = 0; i < imgs.length; i++) {
    const a = out.images[i].embedding as number[], b = ref.encode_image[i] as number[];
    const cos = a.reduce((s, v, j) => s + v * b[j]!, 0) / Math.hypot(...a) / Math.hypot(...b);
    assert.ok(cos >= 0.99999, `image ${i}: cosine ${cos} (our resize is a port of PIL's)`);
  }
  for (const [k, col] of [[0, 0], [1, 13]] as const) {
    for (let i = 0; i < imgs.length; i++) assert.ok(Math.abs(out.logits_per_image[i][k] - ref.logits_per_image[i][col]) <= 2e-3);
  }
});

test('embed: bad inputs give one line naming the problem, a non-zero exit and no stdout', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'clipface-embed-'));
  writeFileSync(join(tmp, 'notes.jpg'), 'this is a text file, not a photo\n');
  const bytes = readFileSync(weights);
  writeFileSync(join(tmp, 'half.safetensors'), bytes.subarray(0, 1000));
  const cfg = JSON.parse(readFileSync(config, 'utf8'));
  writeFileSync(join(tmp, 'typo.json'), JSON.stringify({ ...cfg, text_cfg: { ...cfg.text_cfg, layer: 2 } }));
  writeFileSync(join(tmp, 'shapes.json'), JSON.stringify({ ...cfg, embed_dim: 32 }));
  const cases: [string[], RegExp][] = [
    [['--config', config, '--weights', join(tmp, 'missing.safetensors'), '--text', 'a'], /missing\.safetensors: weights file not found/],
    [['--config', config, '--weights', join(tmp, 'half.safetensors'), '--text', 'a'], /half\.safetensors: not a valid safetensors file/],
    [['--config', join(tmp, 'typo.json'), '--weights', weights, '--text', 'a'], /typo\.json: unsupported key "text_cfg\.layer"/],
    [['--config', join(tmp, 'shapes.json'), '--weights', weights, '--text', 'a'], /weights do not match the config: .*mis-shaped/],
    [['--config', config, '--weights', weights, '--image', join(tmp, 'notes.jpg')], /notes\.jpg: not an image/],
    [['--config', config, '--weights', weights, '--image', join(tmp, 'nope.png')], /nope\.png/],
    [['--config', config, '--weights', weights], /nothing to embed/],
    [['--weights', weights, '--text', 'a'], /--config and --weights are required/],
    [['--config', config, '--weights', weights, '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    const r = clipface('embed', ...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.stdout, '', `nothing on stdout for ${args.join(' ')}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, re);
  }
});

test('every command answers --help, and an unknown command fails clearly', () => {
  const top = clipface('--help');
  assert.equal(top.code, 0);
  const names = [...top.stdout.matchAll(/^  (\S+)\s{2,}/gm)].map((m) => m[1]!);
  assert.ok(names.includes('embed') && names.includes('models'), top.stdout);
  for (const n of names) {
    const r = clipface(n, '--help');
    assert.equal(r.code, 0, `${n} --help`);
    assert.match(r.stdout, /usage: clipface/);
  }
  const bad = clipface('frobnicate');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
});
