/** `clipface run <experiment.json>`: an experiment end to end; the results folder is the last stdout line. */
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { runExperiment } from '../../experiment/run.ts';

const help = `usage: clipface run <experiment.json> [--set key.path=value]... [--resume [<run dir>]] [--quiet]

Runs one experiment (data-spec/experiment.schema.json; unknown keys are errors) end to end:
dataset → seeded split → face alignment → frozen image embeddings (cached) → single-shot
text-encoder finetuning → closed-set, deployment (threshold 0.8) and open-set evaluation.

Writes results/<date>-<name>-<hash>/: config.json, env.json, metrics.json, predictions.csv,
train-log.csv, checkpoint/ (finetuned text tower, safetensors), report.md, prepare/ (crops report,
contact sheet). A finished run is never overwritten. The folder is printed as the last line.

  --set a.b=value   override a config value (JSON or a string), e.g. --set training.epochs=3
  --resume [dir]    continue an interrupted run (Ctrl-C leaves a checkpoint); without dir, the
                    latest unfinished run of the same config
  --quiet           no progress on stderr

Without real weights (model.id / model.dir / model.weights), a seeded random-init CLIP is used
and every output says "random weights: pipeline check, not a result".`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run an experiment end to end (train, evaluate, write results/<run>/)',
  help,
  async run(argv) {
    // --resume takes an optional folder: accept "--resume" alone or "--resume <dir>"
    const i = argv.indexOf('--resume');
    let resume: boolean | string = false;
    if (i >= 0) {
      const next = argv[i + 1];
      resume = next && !next.startsWith('--') && !next.endsWith('.json') ? next : true;
      argv = [...argv.slice(0, i), ...argv.slice(i + (typeof resume === 'string' ? 2 : 1))];
    }
    const { values, positionals } = parse('run', argv, { set: { type: 'string', multiple: true }, quiet: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new UserError('run: give exactly one experiment file, e.g. clipface run experiments/demo.json');
    const dir = await runExperiment(positionals[0]!, { sets: values.set ?? [], resume, quiet: values.quiet });
    process.stdout.write(dir + '\n');
    return 0;
  },
};
