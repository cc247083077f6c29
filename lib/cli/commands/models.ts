/**
 * `clipface models list | fetch <id> [--force] | verify [<id>]`: the registry, the weights cache
 * and downloads. Tables and the model folder go to stdout; progress and warnings to stderr.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { downloadFile, formatBytes, progressReporter } from '../../models/download.ts';
import { sha256File } from '../../util/hash.ts';
import {
  cacheDir, fileState, getModel, listModels, modelDir, recordHash, type ModelEntry,
} from '../../models/registry.ts';

const help = `usage: clipface models <subcommand>

  list                  the registry: id, architecture, licence, whether cached and verified
  fetch <id> [--force]  download a model into the cache (resumable, sha256-checked); prints
                        the model folder. --force downloads again even if present
  verify [<id>]         recompute the sha256 of cached files (all cached models without <id>)
                        and report OK, MISMATCH or unpinned (with the hash to pin)

The cache is $CLIPFACE_CACHE, else models/cache in the repository (now: <cache>).
Without network, fetch fails at once: download the files elsewhere and copy them to the folder
it names, or give a local folder / --weights to the commands that load a model.
User-supplied baselines (ArcFace, VGG-Face) are not downloadable; fetch prints where to put them.`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** "yes" / "2/3" / "no" and a verification summary from the hash record (no hashing). */
function cacheColumns(m: ModelEntry): [string, string] {
  const dir = modelDir(m.id);
  const states = m.files.map((f) => fileState(dir, f));
  const present = states.filter((s) => s !== 'missing').length;
  const cached = present === states.length ? 'yes' : present === 0 ? 'no' : `${present}/${states.length}`;
  if (present === 0) return [cached, '-'];
  const order = ['mismatch', 'unchecked', 'missing', 'unpinned', 'verified'] as const;
  const worst = order.find((s) => states.includes(s))!;
  const label = { mismatch: 'MISMATCH', unchecked: 'not yet', missing: 'partial', unpinned: 'unpinned', verified: 'yes' }[worst];
  return [cached, label];
}

function list(argv: string[]): number {
  parse('models list', argv, {});
  const rows = [['id', 'arch', 'family', 'licence', 'source', 'cached', 'verified']];
  for (const m of listModels()) {
    rows.push([m.id, m.architecture, m.family, m.licence.name, m.source, ...cacheColumns(m)]);
  }
  console.log(table(rows));
  console.error(`cache: ${cacheDir()}`);
  return 0;
}

async function fetchModel(argv: string[]): Promise<number> {
  const { values, positionals } = parse('models fetch', argv, { force: { type: 'boolean' } }, true);
  if (positionals.length !== 1) throw new UserError('models fetch: give exactly one model id (see "clipface models list")');
  const m = getModel(positionals[0]!);
  const dir = modelDir(m.id);
  if (m.source === 'shipped') {
    console.error(`${m.id} ships with this repository in ${dir}; nothing to fetch ("clipface models verify ${m.id}" checks its sha256)`);
    return 0;
  }
  if (m.source === 'user-supplied') {
    throw new UserError(`${m.id} is user-supplied (${m.licence.name} licence), not downloadable: put ${m.files.map((f) => f.name).join(', ')} in ${dir}. ${m.howToGet ?? ''}`.trim());
  }
  console.error(`${m.id}: licence ${m.licence.name} (${m.licence.url})${m.licence.note ? `\n  ${m.licence.note}` : ''}`);
  for (const f of m.files) {
    const dest = join(dir, f.name);
    if (values.force) {
      rmSync(dest, { force: true });
      rmSync(`${dest}.part`, { force: true });
    } else if (existsSync(dest)) {
      console.error(`${f.name}: already in the cache (--force to download again; "clipface models verify ${m.id}" to check it)`);
      continue;
    }
    const bar = progressReporter(f.name);
    let r;
    try {
      r = await downloadFile(f.url!, dest, { sha256: f.sha256, bytes: f.bytes, onProgress: bar.update });
    } finally {
      bar.stop();
    }
    recordHash(dir, f.name, r.sha256);
    const how = r.resumed ? ' (resumed)' : '';
    if (f.sha256) console.error(`${f.name}: ${formatBytes(r.bytes)}${how}, sha256 OK`);
    else console.error(`${f.name}: ${formatBytes(r.bytes)}${how}, sha256 ${r.sha256} (unpinned: check it and pin it in models/registry.json)`);
  }
  console.log(dir);
  return 0;
}

async function verify(argv: string[]): Promise<number> {
  const { positionals } = parse('models verify', argv, {}, true);
  if (positionals.length > 1) throw new UserError('models verify: give at most one model id');
  const models = positionals.length ? [getModel(positionals[0]!)] : listModels();
  let bad = 0;
  let checked = 0;
  for (const m of models) {
    const dir = modelDir(m.id);
    const present = m.files.filter((f) => existsSync(join(dir, f.name)));
    if (present.length === 0) {
      if (positionals.length) throw new UserError(`${m.id} is not in the cache (${dir}): run "clipface models fetch ${m.id}"`);
      continue;
    }
    const width = Math.max(...m.files.map((f) => f.name.length));
    for (const f of m.files) {
      const path = join(dir, f.name);
      let line: string;
      if (!existsSync(path)) {
        line = 'missing';
        bad++;
      } else {
        const sha = await sha256File(path);
        recordHash(dir, f.name, sha);
        checked++;
        if (!f.sha256) {
          line = `unpinned  sha256 ${sha}`;
          console.error(`warning: ${m.id}/${f.name} has no pinned sha256; if this file came from a trusted source, pin ${sha}`);
        } else if (sha === f.sha256) {
          line = 'OK';
        } else {
          line = `MISMATCH  expected ${f.sha256}, got ${sha}`;
          bad++;
        }
      }
      console.log(`${m.id}  ${f.name.padEnd(width)}  ${line}`);
    }
  }
  if (checked === 0 && bad === 0) console.error(`no cached models in ${cacheDir()}`);
  return bad > 0 ? 1 : 0;
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list the model registry, fetch weights into the cache, verify their sha256',
  get help() {
    return help.replace('<cache>', cacheDir());
  },
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'list') return list(rest);
    if (sub === 'fetch') return fetchModel(rest);
    if (sub === 'verify') return verify(rest);
    throw new UserError(sub ? `models: unknown subcommand "${sub}" (list, fetch, verify)` : 'models: give a subcommand: list, fetch <id> or verify [<id>] (see "clipface models --help")');
  },
};
