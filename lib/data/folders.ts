/**
 * A dataset without a manifest: `<root>/<person>/<image>` (sub-folders of a person folder are
 * capture sessions), as the paper's data was organised ("folders named after each person").
 * Every person is `known`, every view `other`. Turned into a Manifest so the rest of the code sees
 * one format.
 *
 * - Names are Unicode: ids are NFC-normalised; the display name is the folder name with '_' read
 *   as a space. Two folders whose names agree after NFKC + case folding (e.g. "José" written NFC
 *   and NFD, or "Alice" and "alice") are one person: their images are merged, with a warning.
 * - Files that are not images (by extension) are skipped with a warning; dot-files are ignored.
 * - Person folders with no image are reported (warning) and give no identity.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileProblem } from './paths.ts';
import type { Identity, ImageEntry, Manifest, Problem } from './types.ts';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'];

const isImageName = (name: string) => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));
/** Key under which two folder names count as the same person. */
export const nameKey = (name: string) => name.normalize('NFKC').toLowerCase().trim();
/** Code-unit order, so the result does not depend on the locale. */
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface Walk { files: { rel: string; session: string }[]; skipped: string[] }

function walk(root: string, dirRel: string, session: string | undefined, acc: Walk): void {
  const entries = readdirSync(join(root, dirRel), { withFileTypes: true }).sort((a, b) => byName(a.name, b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const rel = `${dirRel}/${e.name}`;
    if (e.isDirectory()) walk(root, rel, session ?? e.name.normalize('NFC'), acc);
    else if ((e.isFile() || e.isSymbolicLink()) && isImageName(e.name)) acc.files.push({ rel, session: session ?? 'default' });
    else acc.skipped.push(rel);
  }
}

export function scanFolders(root: string): { manifest: Manifest; problems: Problem[] } {
  const problems: Problem[] = [];
  const warn = (path: string, code: Problem['code'], reason: string) => problems.push({ path, reason, code, severity: 'warning' });
  const identities: Identity[] = [];
  const images: ImageEntry[] = [];
  const byKey = new Map<string, Identity>();

  const top = readdirSync(root, { withFileTypes: true }).sort((a, b) => byName(a.name, b.name));
  for (const e of top) {
    if (e.name.startsWith('.')) continue;
    if (!e.isDirectory()) {
      warn(e.name, 'stray-file', 'file at the dataset root is ignored; put images in one folder per person');
      continue;
    }
    const acc: Walk = { files: [], skipped: [] };
    walk(root, e.name, undefined, acc);
    for (const s of acc.skipped) warn(s, 'not-an-image', `skipped: not an image file (expected ${IMAGE_EXTENSIONS.join(' ')})`);
    if (acc.files.length === 0) {
      warn(`${e.name}/`, 'empty-folder', 'person folder holds no images; add photos or remove the folder');
      continue;
    }
    const id = e.name.normalize('NFC');
    let ident = byKey.get(nameKey(id));
    if (ident) {
      warn(`${e.name}/`, 'duplicate-name', `folder name equals "${ident.id}" after Unicode normalisation and case folding; its images are merged into that identity (rename the folder if they are different people)`);
    } else {
      ident = { id, name: id.replace(/_/g, ' ').trim() || id, role: 'known' };
      byKey.set(nameKey(id), ident);
      identities.push(ident);
    }
    for (const f of acc.files) {
      const fp = fileProblem(root, f.rel);
      if (fp) problems.push({ path: f.rel, reason: fp.reason, code: fp.code, severity: 'error' });
      else images.push({ path: f.rel, identity: ident.id, view: 'other', session: f.session });
    }
  }
  // an empty dataset is an error, not an "OK" from data check
  if (identities.length === 0) problems.push({ path: '.', code: 'no-images', severity: 'error', reason: 'no person folder with images found; expected <root>/<person>/<image> or a manifest.json' });
  return { manifest: { version: 1, name: basename(root), identities, images }, problems };
}
