/**
 * Where the golden reference data lives: `../shared/golden` beside the checkout (CI and
 * developers have it), else the trimmed copy in `test/fixtures/golden` (a clone without shared/).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Under CI=true a parity fixture that is absent fails the tests that need it instead of skipping
 * them: a CI run must not pass by quietly testing less (issue 13 item 15). Elsewhere (a clone
 * without ../shared) those tests skip and say which file is missing.
 */
export const strictFixtures = /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** The `skip` option of a test that needs `path`: false when present or under CI=true (the test then fails on the missing file). */
export function skipWithout(path: string): string | false {
  if (existsSync(path) || strictFixtures) return false;
  return `${path} is not in this clone (only the trimmed fixture is); CI=true makes this a failure`;
}

export function goldenDir(): string {
  // for the test of the CI rule itself: a golden folder other than the default two
  if (process.env.CLIPFACE_GOLDEN_DIR) return resolve(process.env.CLIPFACE_GOLDEN_DIR);
  const shared = resolve(repoRoot, '..', 'shared', 'golden');
  if (existsSync(join(shared, 'clip-rn-tiny', 'golden.json'))) return shared;
  return join(repoRoot, 'test', 'fixtures', 'golden');
}

/** True when the full golden sets (both towers, fp32 + fp16) are available. */
export function hasFullGolden(): boolean {
  return existsSync(join(goldenDir(), 'clip-vit-tiny', 'model.fp32.safetensors'));
}

const cache = new Map<string, any>();
/** golden.json of `set` ('clip-rn-tiny' | 'clip-vit-tiny'), parsed once per process. */
export function golden(set: string): any {
  if (!cache.has(set)) cache.set(set, JSON.parse(readFileSync(join(goldenDir(), set, 'golden.json'), 'utf8')));
  return cache.get(set);
}

/** The golden sets whose golden.json is present (both beside the checkout; only clip-rn-tiny in the fixture). */
export function goldenSets(): string[] {
  return ['clip-rn-tiny', 'clip-vit-tiny'].filter((s) => strictFixtures || existsSync(join(goldenDir(), s, 'golden.json')));
}

/**
 * Paths of a golden set's config and weights: the fp32 file when present, else fp16 (the trimmed
 * fixture has only fp16). For tests that compare our own code paths with each other, either works.
 */
export function goldenModelFiles(set: string): { config: string; weights: string } {
  const dir = join(goldenDir(), set);
  const fp32 = join(dir, 'model.fp32.safetensors');
  return { config: join(dir, 'config.json'), weights: existsSync(fp32) ? fp32 : join(dir, 'model.fp16.safetensors') };
}
