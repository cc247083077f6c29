/** `clipface grid <grid.json>`: an ablation grid, resumable and shardable; prints Table I at the end. */
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { initTf } from '../../runtime/tf.ts';
import { runGrid } from '../../grid/runner.ts';
import { loadGrid, parseShard, shardRuns } from '../../grid/spec.ts';

const help = `usage: clipface grid <grid.json> [--shard i/n] [--summary-only] [--list] [--set key.path=value]... [--quiet]

Expands one grid file (a list of arms × a cartesian product of key paths over a base experiment;
see lib/grid/spec.ts and experiments/*.grid.json) into runs and runs each like "clipface run",
each in its own folder <resultsDir>/runs/<run id>/. Runs already finished with the same resolved
config are skipped; interrupted ones resume from their checkpoint. Then writes the summary from every
finished run (summary.{md,csv,json}, runs.csv, table1.{md,csv,html}, kshot.{csv,html} with a
dataset.split.kShot axis; mean ± sd over a seed axis) and prints the Table I layout on stdout.

  --shard i/n      run only runs i, i+n, i+2n, ... (0 ≤ i < n): a Slurm job array runs
                   clipface grid g.json --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
                   and then, once, clipface grid g.json --summary-only
  --summary-only   run nothing; rebuild the summary from the finished runs
  --list           print the expanded runs (id and overrides) and exit
  --set a.b=value  an override for every run, after the grid's own
  --quiet          no per-run progress on stderr`;

export const gridCommand: Command = {
  name: 'grid',
  summary: 'run an ablation grid (list × product of overrides), resumable, --shard i/n; summary + Table I',
  help,
  async run(argv) {
    const { values, positionals } = parse('grid', argv, {
      shard: { type: 'string' }, 'summary-only': { type: 'boolean' }, list: { type: 'boolean' },
      set: { type: 'string', multiple: true }, quiet: { type: 'boolean' },
    }, true);
    if (positionals.length !== 1) throw new UserError('grid: give exactly one grid file, e.g. clipface grid experiments/table1.grid.json');
    const shard = values.shard ? parseShard(values.shard) : undefined;
    if (values.list) {
      const g = loadGrid(positionals[0]!, values.set ?? []);
      for (const r of shardRuns(g.runs, shard)) process.stdout.write(`${r.index}\t${r.id}\t${r.sets.join(' ')}\n`);
      return 0;
    }
    if (!values['summary-only']) await initTf({ quiet: values.quiet });
    const t0 = performance.now();
    const r = await runGrid(positionals[0]!, { shard, summaryOnly: values['summary-only'], sets: values.set ?? [], quiet: values.quiet });
    const s = r.summary;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    process.stderr.write(`grid: ${r.ran.length} ran, ${r.skipped.length} skipped, ${r.failed.length} failed in ${secs} s; ${s.finished}/${s.total} runs finished; summary (${s.engine}) in ${s.dir}\n`);
    process.stdout.write(`Table I layout, grid ${r.grid.spec.name} (${s.finished}/${s.total} runs):\n\n${s.tableIMarkdown}`);
    return r.failed.length ? 1 : 0;
  },
};
