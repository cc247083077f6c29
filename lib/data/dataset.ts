/**
 * Loading a dataset folder. With `<dir>/manifest.json` the manifest is validated against
 * `data-spec/dataset.schema.json` and then checked entry by entry (paths inside the root, files
 * present, identities defined, deployment sessions consistent). Without one, the folder is read
 * as one sub-folder per person (`folders.ts`), as the paper's data was organised.
 *
 * Problems never stop the load of the good entries: an entry with an error is left out of the
 * returned manifest and listed in `problems`; warnings leave everything in. Only an unreadable or
 * schema-invalid manifest makes `loadDataset` throw (`inspectDataset` returns those as problems).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { sha256FileSync } from '../util/hash.ts';
import { checkUserJson } from '../util/json.ts';
import { nameKey, scanFolders } from './folders.ts';
import { checkRelativePath, fileProblem } from './paths.ts';
import { datasetSchemaPath, schemaErrors } from './schema.ts';
import type { Dataset, DeploymentSession, Identity, ImageEntry, Manifest, Problem } from './types.ts';

export { resolveImagePath } from './paths.ts';

export const MANIFEST = 'manifest.json';
/**
 * Written by `data synth` before its first image and removed after manifest.json: a folder that
 * holds it without a manifest is a generation that was interrupted (Ctrl-C, kill, disk full).
 */
export const SYNTH_JOURNAL = '.synth-partial.json';

export interface LoadOptions {
  /** compare each image's `sha256` (when given) with the file; slower (reads every file) */
  verifyHashes?: boolean;
}

function rootOf(dir: string): string {
  const root = resolve(dir);
  if (!existsSync(root)) throw new UserError(`${root}: dataset folder not found; pass an existing folder`);
  if (!statSync(root).isDirectory()) throw new UserError(`${root}: not a folder; pass the dataset folder (holding manifest.json or one folder per person)`);
  return root;
}

/** Reads and checks a dataset without throwing on its content: every problem is in `problems`. */
export function inspectDataset(dir: string, opts: LoadOptions = {}): Dataset {
  const root = rootOf(dir);
  const file = join(root, MANIFEST);
  if (!existsSync(file)) {
    if (existsSync(join(root, SYNTH_JOURNAL))) {
      const reason = `an interrupted "data synth" left this folder without its manifest; generate it again (clipface data synth --out ${root}, or rerun the experiment whose dataset.synth makes it)`;
      return { root, source: 'manifest', manifest: { version: 1, name: root, identities: [], images: [] }, problems: [{ path: SYNTH_JOURNAL, reason, code: 'incomplete', severity: 'error' }] };
    }
    const { manifest, problems } = scanFolders(root);
    return { root, source: 'folders', manifest, problems };
  }
  const empty: Manifest = { version: 1, name: root, identities: [], images: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const reason = `not valid JSON (${(e as Error).message.split('\n')[0]}); fix the syntax`;
    return { root, source: 'manifest', manifest: empty, problems: [{ path: MANIFEST, reason, code: 'invalid-json', severity: 'error' }] };
  }
  try {
    checkUserJson(raw, MANIFEST);
  } catch (e) {
    return { root, source: 'manifest', manifest: empty, problems: [{ path: MANIFEST, reason: (e as Error).message.slice(MANIFEST.length + 2), code: 'invalid-json', severity: 'error' }] };
  }
  const errs = schemaErrors(raw);
  if (errs.length > 0) {
    const problems: Problem[] = errs.map((e) => ({
      path: `${MANIFEST}#${e.pointer}`, reason: e.message, code: 'schema', severity: 'error',
    }));
    return { root, source: 'manifest', manifest: empty, problems };
  }
  const { manifest, problems } = checkManifest(root, raw as Manifest, opts);
  if (!manifest.images.length) problems.push({ path: MANIFEST, reason: 'no usable images: the dataset is empty; list images (and their identities) in the manifest', code: 'no-images', severity: 'error' });
  return { root, source: 'manifest', manifest, problems };
}

/**
 * Loads a dataset for use. Throws a UserError (naming the file, listing every schema error) when
 * the manifest cannot be read or does not match the schema; per-entry problems are returned.
 */
export function loadDataset(dir: string, opts: LoadOptions = {}): Dataset {
  const ds = inspectDataset(dir, opts);
  const partial = ds.problems.find((p) => p.code === 'incomplete');
  if (partial) throw new UserError(`${ds.root}: ${partial.reason}`);
  const fatal = ds.problems.filter((p) => p.code === 'schema' || p.code === 'invalid-json');
  if (fatal.length > 0) {
    const file = join(ds.root, MANIFEST);
    const list = fatal.map((p) => `${p.path.replace(MANIFEST, '')} ${p.reason}`).join('; ');
    throw new UserError(`${file} does not match ${datasetSchemaPath}: ${list}; fix these entries (clipface data check ${ds.root} lists them)`);
  }
  return ds;
}

/** Per-entry checks of a schema-valid manifest; bad entries are left out. */
export function checkManifest(root: string, raw: Manifest, opts: LoadOptions = {}): { manifest: Manifest; problems: Problem[] } {
  const problems: Problem[] = [];
  const err = (path: string, code: Problem['code'], reason: string) => problems.push({ path, reason, code, severity: 'error' });
  const warn = (path: string, code: Problem['code'], reason: string) => problems.push({ path, reason, code, severity: 'warning' });

  const identities: Identity[] = [];
  const byId = new Map<string, Identity>();
  raw.identities.forEach((ident, i) => {
    const id = ident.id.normalize('NFC');
    if (byId.has(id)) return err(`${MANIFEST}#/identities/${i}`, 'duplicate-identity', `identity id "${id}" is defined twice; give each person one entry`);
    const copy = { ...ident, id };
    byId.set(id, copy);
    identities.push(copy);
  });
  // a lookalike of nobody would be counted at a distance from a person who is not there: keep the
  // person, drop the claim (the run then counts them as a stranger) and say how to fix it
  for (const ident of identities) {
    if (ident.lookalikeOf === undefined) continue;
    const of = ident.lookalikeOf.normalize('NFC');
    const why = of === ident.id ? 'names the identity itself' : !byId.has(of) ? `names "${of}", which is not listed in identities` : undefined;
    if (why) {
      warn(`${MANIFEST}#/identities (${ident.id})`, 'lookalike', `lookalikeOf ${why}; give the id of the enrolled person they look like, or remove lookalikeOf (they count as a stranger meanwhile)`);
      delete ident.lookalikeOf; delete ident.lookalikeDistance; delete ident.lookalikeParts;
    } else ident.lookalikeOf = of;
  }

  const images: ImageEntry[] = [];
  const byPath = new Map<string, ImageEntry>();
  raw.images.forEach((img, i) => {
    const where = `${MANIFEST}#/images/${i} (${img.path})`;
    const c = checkRelativePath(img.path);
    if (!c.ok) return err(where, 'path-outside-root', c.reason);
    const identity = img.identity.normalize('NFC');
    if (!byId.has(identity)) return err(where, 'unknown-identity', `identity "${identity}" is not listed in identities; add it or fix the id`);
    if (byPath.has(c.path)) return err(where, 'duplicate-path', `"${c.path}" is listed twice; keep one entry per file`);
    const fp = fileProblem(root, c.path);
    if (fp) return err(where, fp.code, fp.reason);
    if (opts.verifyHashes && img.sha256 && sha256FileSync(join(root, c.path)) !== img.sha256) {
      return err(where, 'checksum', 'sha256 does not match the file; the file changed since the manifest was written (regenerate or update the hash)');
    }
    if (img.keypoints && img.width && img.height) {
      const out = img.keypoints.some(([x, y]) => x < -0.5 || y < -0.5 || x > img.width! - 0.5 || y > img.height! - 0.5);
      if (out) warn(where, 'keypoints', `a keypoint lies outside the ${img.width}×${img.height} image`);
    }
    const entry = { ...img, path: c.path, identity };
    byPath.set(c.path, entry);
    images.push(entry);
  });

  const deployment: DeploymentSession[] = [];
  (raw.deployment ?? []).forEach((s, i) => {
    const where = `${MANIFEST}#/deployment/${i}`;
    const subject = s.subject.normalize('NFC');
    const ident = byId.get(subject);
    if (!ident) return err(where, 'deployment', `subject "${subject}" is not listed in identities; add it (role unknown for people not enrolled)`);
    if (s.known !== (ident.role === 'known')) {
      return err(where, 'deployment', `known is ${s.known} but identity "${subject}" has role "${ident.role}"; make them agree`);
    }
    const frames: string[] = [];
    s.frames.forEach((f, j) => {
      const c = checkRelativePath(f);
      const img = c.ok ? byPath.get(c.path) : undefined;
      if (!c.ok) return err(`${where}/frames/${j} (${f})`, 'path-outside-root', c.reason);
      if (!img) return err(`${where}/frames/${j} (${f})`, 'deployment', 'frame is not a usable entry of images; list it in images (or fix the path)');
      if (img.identity !== subject) return err(`${where}/frames/${j} (${f})`, 'deployment', `the image belongs to "${img.identity}", not to the subject "${subject}"`);
      frames.push(c.path);
    });
    if (frames.length > 0) deployment.push({ ...s, subject, frames });
  });

  // CLIP's tokenizer lowercases, so "Alice" and "alice" get the same prompt and one of the two
  // can never be predicted
  const byName = new Map<string, Identity>();
  for (const ident of identities) {
    const other = byName.get(nameKey(ident.name));
    if (other) warn(`${MANIFEST}#/identities (${ident.id})`, 'duplicate-name', `name "${ident.name}" equals "${other.name}" (identity "${other.id}") up to case; CLIP's prompts lowercase names, so one of them can never be predicted: rename one, or use prompt.names "neutral"`);
    else byName.set(nameKey(ident.name), ident);
  }
  const counted = new Set(images.map((im) => im.identity));
  for (const ident of identities) {
    if (!counted.has(ident.id)) warn(`${MANIFEST}#/identities (${ident.id})`, 'no-images', `identity "${ident.id}" has no usable images`);
  }
  const manifest: Manifest = { ...raw, identities, images };
  if (raw.deployment) manifest.deployment = deployment;
  return { manifest, problems };
}
