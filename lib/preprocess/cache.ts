/**
 * Content-addressed crop cache. The key is sha256 over everything that decides the crop: the image
 * file's bytes, the detector's name (model, version, threshold), the face policy, the template
 * (which already encodes size and margin) and a format version. A hit means no decode, no
 * detection, no warp; `force` recomputes and overwrites.
 *
 * Layout: `<dir>/<k[0..2]>/<k>.json` (the record) and, for faces, `<dir>/<k[0..2]>/<k>.png`
 * (lossless crop). The PNG is written first and the JSON last, each atomically (temp + rename), so a
 * JSON on disk always means a complete entry. "No face" results are cached too (they cost a
 * detector run); decode failures are not (they cost little and depend on the pixel limit).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.ts';
import type { Point } from './align.ts';

/** Bump when the record format or the crop maths change, so old entries are not reused. */
export const CACHE_FORMAT = 1;

export interface CropKeyParts {
  /** sha256 hex of the image file's bytes */
  imageSha256: string;
  detector: string;
  policy: string;
  template: Point[];
  margin: number;
  size: number;
}

export type CacheRecord =
  | {
      status: 'ok';
      /** 5 keypoints in source pixels (ArcFace order) */
      keypoints: Point[];
      score: number;
      box: [number, number, number, number];
      /** faces found before the policy picked one */
      faces: number;
      /** which detector found it (for union) */
      detector?: string;
      /** source size after EXIF orientation */
      width: number;
      height: number;
      /** source → crop matrix */
      matrix: number[][];
    }
  | { status: 'skipped'; reason: string; faces: number; width: number; height: number };

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function cropKey(p: CropKeyParts): string {
  const canon = JSON.stringify({
    format: CACHE_FORMAT,
    image: p.imageSha256,
    detector: p.detector,
    policy: p.policy,
    template: p.template.map(([x, y]) => [round(x), round(y)]),
    margin: p.margin,
    size: p.size,
  });
  return sha256(canon);
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export class CropCache {
  constructor(readonly dir: string) {}

  private base(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new RangeError(`not a cache key: ${key}`);
    return join(this.dir, key.slice(0, 2), key);
  }

  /** Path of the crop PNG for `key` (exists only for status 'ok'). */
  cropPath(key: string): string {
    return this.base(key) + '.png';
  }

  /** The record, or undefined on a miss (or a half-written/corrupt entry, treated as a miss). */
  get(key: string): CacheRecord | undefined {
    const json = this.base(key) + '.json';
    if (!existsSync(json)) return undefined;
    try {
      const rec = JSON.parse(readFileSync(json, 'utf8')) as CacheRecord;
      if (rec.status === 'ok' && !existsSync(this.cropPath(key))) return undefined;
      if (rec.status !== 'ok' && rec.status !== 'skipped') return undefined;
      return rec;
    } catch {
      return undefined;
    }
  }

  put(key: string, rec: CacheRecord, png?: Uint8Array): void {
    if (rec.status === 'ok') {
      if (!png) throw new Error('cache put: an ok record needs its crop PNG');
      writeFileAtomic(this.cropPath(key), png);
    }
    writeJsonAtomic(this.base(key) + '.json', rec);
  }
}
