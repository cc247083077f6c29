/** env.json: what produced a run (versions, backend, CPU, git commit, seed), for reproducibility. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { join } from 'node:path';
import { backendInfo } from '../runtime/tf.ts';
import { repoRoot } from '../util/paths.ts';

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function pkgVersion(name: string): string | null {
  try {
    return JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export function environment(seed: number): Record<string, unknown> {
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = commit ? (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '' : null;
  return {
    createdAt: new Date().toISOString(),
    seed,
    git: { commit, dirty },
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: { model: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    tfjs: backendInfo() ?? null,
    packages: Object.fromEntries(['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu',
      'onnxruntime-node', 'sharp', 'facesjs', '@vladmandic/face-api', '@vladmandic/human'].map((p) => [p, pkgVersion(p)])),
  };
}
