/**
 * `clipface data synth | check`: the synthetic demo dataset and dataset validation. Results and
 * tables go to stdout; progress, warnings and problems to stderr.
 */
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { terminalBar } from '../../runtime/progress.ts';
import { UserError } from '../../util/errors.ts';
import { inspectDataset } from '../../data/dataset.ts';
import { splitDataset, PAPER_TRAIN_FRACTION } from '../../data/split.ts';
import { synthDataset } from '../../data/synth.ts';
import type { LookalikeOptions } from '../../data/synth-lookalikes.ts';
import { VIEWS, type Dataset, type Problem } from '../../data/types.ts';
import { PREPARE_HELP, runPrepareCommand } from './prepare.ts';

const help = `usage: clipface data <subcommand>

  synth --out <dir> [--seed 1] [--identities 10] [--unknown 2] [--per-identity 30]
        [--size 256] [--deploy-frames 5]
        [--lookalikes-per-distance 0] [--lookalike-distances 1,2,3] [--lookalike-photos N]
      write the synthetic demo dataset (facesjs cartoons, not real people): <identities>
      enrolled + <unknown> never-enrolled people, <per-identity> photos each over the views
      front/above/below/left/right, <deploy-frames> deployment frames per person, ground-truth
      5 points in <dir>/manifest.json. Same seed and library versions = byte-identical files.
      Lookalikes: unknown near twins of enrolled people, differing in exactly d identity parts
      (d in 1-4), <lookalikes-per-distance> at each distance, <lookalike-photos> photos each
      (default <per-identity>); recorded as lookalikeOf/lookalikeDistance/lookalikeParts.
      <dir> must be empty, new, or an earlier synthetic dataset (which is replaced).

  check <dir> [--seed 0] [--train-fraction 0.8] [--skip-hashes]
      validate a dataset (<dir>/manifest.json against data-spec/dataset.schema.json, or one
      folder per person) and print identities, images per view and the seeded split sizes.
      Exits 1 listing every error; warnings are listed but do not fail. --skip-hashes does not
      compare files with their sha256 in the manifest.

${PREPARE_HELP}

See data-spec/README.md for the dataset conventions.`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows.map((r) => r.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join('  ').trimEnd()).join('\n');
}

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UserError(`data: --${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

/** The lookalike flags as synth options; none given = no lookalikes. */
function lookalikeArgs(values: Record<string, string | boolean | undefined>): { lookalikes?: LookalikeOptions } {
  const per = values['lookalikes-per-distance'] as string | undefined, ds = values['lookalike-distances'] as string | undefined, photos = values['lookalike-photos'] as string | undefined;
  if (per === undefined && ds === undefined && photos === undefined) return {};
  if (ds !== undefined && !/^\d+(,\d+)*$/.test(ds)) throw new UserError(`data synth: --lookalike-distances must be a comma-separated list of integers such as 1,2,3, got "${ds}"`);
  return { lookalikes: {
    perDistance: intArg('lookalikes-per-distance', per) ?? 1,
    ...(ds !== undefined ? { distances: ds.split(',').map(Number) } : {}),
    ...(photos !== undefined ? { photos: intArg('lookalike-photos', photos) } : {}),
  } };
}

function progress(label: string): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = terminalBar(`${label} [{bar}] {value}/{total} | ETA {eta_formatted}`);
  let started = false;
  return {
    update(done, total) { if (!started) { bar.start(total, 0); started = true; } bar.update(done); },
    stop() { if (started) bar.stop(); },
  };
}

async function synth(argv: string[]): Promise<number> {
  const { values } = parse('data synth', argv, {
    out: { type: 'string' }, seed: { type: 'string' }, identities: { type: 'string' }, unknown: { type: 'string' },
    'per-identity': { type: 'string' }, size: { type: 'string' }, 'deploy-frames': { type: 'string' },
    'lookalikes-per-distance': { type: 'string' }, 'lookalike-distances': { type: 'string' }, 'lookalike-photos': { type: 'string' },
  });
  if (!values.out) throw new UserError('data synth: --out <dir> is required (an empty or new folder)');
  const bar = progress('synth');
  let r;
  try {
    r = await synthDataset(values.out, {
      seed: intArg('seed', values.seed), identities: intArg('identities', values.identities), unknown: intArg('unknown', values.unknown),
      perIdentity: intArg('per-identity', values['per-identity']), size: intArg('size', values.size),
      deployFrames: intArg('deploy-frames', values['deploy-frames']), onProgress: bar.update,
      ...lookalikeArgs(values),
    });
  } finally {
    bar.stop();
  }
  console.error(`data synth: ${r.images} images in ${r.seconds.toFixed(1)} s (${(r.images / r.seconds).toFixed(0)} img/s)`);
  console.log(r.out);
  return 0;
}

function summary(ds: Dataset, seed: number, trainFraction: number): string {
  const m = ds.manifest;
  const split = splitDataset(m, { seed, trainFraction });
  const count = (list: { identity: string }[], id: string) => list.filter((im) => im.identity === id).length;
  const frames = new Set(split.deployment);
  const shots = m.images.filter((im) => !frames.has(im)); // enrolment photos: the view columns
  const views = VIEWS.filter((v) => shots.some((im) => im.view === v));
  const rows = [['id', 'name', 'role', ...views, 'images', 'train', 'test', 'unknown', 'deploy']];
  for (const ident of m.identities) {
    const mine = m.images.filter((im) => im.identity === ident.id);
    const role = ident.lookalikeOf ? `${ident.role}, looks like ${ident.lookalikeOf}${ident.lookalikeDistance ? ` (${ident.lookalikeDistance} part${ident.lookalikeDistance === 1 ? ' differs' : 's differ'})` : ''}` : ident.role;
    rows.push([ident.id, ident.name, role, ...views.map((v) => String(count(shots.filter((im) => im.view === v), ident.id))), String(mine.length),
      String(count(split.train, ident.id)), String(count(split.test, ident.id)), String(count(split.unknown, ident.id)), String(count(split.deployment, ident.id))]);
  }
  rows.push(['total', '', '', ...views.map((v) => String(shots.filter((im) => im.view === v).length)), String(m.images.length),
    String(split.train.length), String(split.test.length), String(split.unknown.length), String(split.deployment.length)]);
  const known = m.identities.filter((i) => i.role === 'known').length;
  return [
    `dataset ${ds.root} (${ds.source === 'manifest' ? `manifest "${m.name}"` : 'one folder per person'})`,
    `${m.identities.length} identities (${known} known, ${m.identities.length - known} unknown), ${m.images.length} usable images, ${(m.deployment ?? []).length} deployment subjects`,
    `split: seed ${seed}, ${Math.round(trainFraction * 100)}/${Math.round((1 - trainFraction) * 100)} per known identity, stratified by view`,
    '',
    table(rows),
  ].join('\n');
}

function check(argv: string[]): number {
  const { values, positionals } = parse('data check', argv, {
    seed: { type: 'string' }, 'train-fraction': { type: 'string' }, 'skip-hashes': { type: 'boolean' },
  }, true);
  if (positionals.length !== 1) throw new UserError('data check: give exactly one dataset folder');
  const seed = intArg('seed', values.seed) ?? 0;
  const tf = values['train-fraction'] === undefined ? PAPER_TRAIN_FRACTION : Number(values['train-fraction']);
  if (!(tf > 0 && tf <= 1)) throw new UserError(`data check: --train-fraction must be in (0, 1], got "${values['train-fraction']}"`);
  const ds = inspectDataset(positionals[0]!, { verifyHashes: !values['skip-hashes'] });
  console.log(summary(ds, seed, tf));
  const line = (p: Problem) => `  ${p.severity === 'error' ? 'error  ' : 'warning'} ${p.path}: ${p.reason}`;
  const errors = ds.problems.filter((p) => p.severity === 'error');
  const warnings = ds.problems.filter((p) => p.severity === 'warning');
  if (warnings.length) console.error(`${warnings.length} warning(s):\n${warnings.map(line).join('\n')}`);
  if (errors.length) {
    console.error(`${errors.length} error(s) (entries with errors are left out above):\n${errors.map(line).join('\n')}`);
    return 1;
  }
  console.error(`data check: OK${warnings.length ? ` (${warnings.length} warning(s))` : ''}`);
  return 0;
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'synthetic demo dataset (synth), dataset validation (check), face crops (prepare)',
  help,
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'synth': return synth(rest);
      case 'check': return check(rest);
      case 'prepare': return runPrepareCommand(rest);
      default: throw new UserError(`data: unknown subcommand "${sub ?? ''}"; use synth, check or prepare (see "clipface data --help")`);
    }
  },
};
