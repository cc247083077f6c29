/**
 * A dataset as `prepareDataset`'s work list: every usable image once (deployment frames marked),
 * and the entries the dataset loader rejected as skipped report entries (the report lists every
 * image). Used by `clipface data prepare` and the notebooks.
 */
import type { Dataset, Problem } from '../data/types.ts';
import type { PrepareItem, ReportEntry, SkipCode } from './prepare.ts';

/** Entries the loader rejected, as skipped report entries (the report lists every image). */
export function skippedFromProblems(problems: Problem[]): ReportEntry[] {
  const out: ReportEntry[] = [];
  for (const p of problems) {
    const imageError = p.severity === 'error' && (p.path.startsWith('manifest.json#/images/') || !p.path.startsWith('manifest.json'));
    const skippedFile = p.code === 'not-an-image';
    if (!imageError && !skippedFile) continue;
    const m = /^manifest\.json#\/images\/\d+ \((.*)\)$/.exec(p.path);
    const path = m ? m[1] : p.path;
    const code: SkipCode = p.code === 'path-outside-root' || p.code === 'missing-file' || p.code === 'not-an-image' ? p.code : 'dataset-problem';
    out.push({ path, kind: 'image', status: 'skipped', code, reason: p.reason });
  }
  return out;
}

/** Every usable image once; deployment frames (a subset of the images) are marked as such. */
export function itemsFromDataset(ds: Dataset): PrepareItem[] {
  const frames = new Set((ds.manifest.deployment ?? []).flatMap((s) => s.frames));
  return ds.manifest.images.map((im) => ({ path: im.path, identity: im.identity, kind: frames.has(im.path) ? 'deployment' : 'image', ...(im.keypoints ? { keypoints: im.keypoints } : {}) }));
}
