/** `clipface bench` (= `npm run bench`): issue 7's benchmark; the results file is the last stdout line. */
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { CASE_NAMES, runBench, type CaseName } from '../../bench/run.ts';

const help = `usage: clipface bench [--only <case>[,<case>...]] [--quick] [--out <dir>] [--wait-idle <s>]

Measures, each case in its own process (so peak RSS is per case), on the tfjs backend in use:
  ids10, ids100, ids1000  one finetuning step of the RN50-size text tower (random weights) over
                          that many identity prompts, batch 16 of cached image features, AdamW
                          → textStep.idsN {ms, peakRssMiB}
  ids77                   the same with 10 full 77-token prompts, no exact savings
                          → textStep77.ids10
  image                   RN50 image embedding, batch 16 (onnxruntime when available)
                          → imageEmbed.imagesPerSec
  preprocess              face detection + 5 points (union) on a synthetic set: images/s,
                          detection rate, median keypoint error → preprocess
  negatives               accuracy cost of the sampled-negatives approximation (small case), and
                          its RN50 1000-identity step → approximations.sampledNegatives
  demo                    clipface run experiments/demo.json at RN50 size → demoEndToEndSec
Where python3 has torch, the same cases run in PyTorch in the same session (key "pytorch") with
ratios; otherwise "pytorch": null and the reason. Writes results/bench/<date>.json atomically.

  --only      comma-separated cases (${CASE_NAMES.join(', ')})
  --quick     ids10, ids77 and image with fewer repetitions (about a minute)
  --out       output folder (default results/bench)
  --wait-idle before each case, wait up to <s> seconds for other processes to go idle
              (default 60, --quick 0)
Progress goes to stderr. Other processes on the box skew timings: each case records foreignCores
(cores other processes used while it was timed).`;

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark the finetune step, image embedding and the demo run (results/bench/<date>.json)',
  help,
  async run(argv) {
    const { values } = parse('bench', argv, { only: { type: 'string', multiple: true }, quick: { type: 'boolean' }, out: { type: 'string' }, 'wait-idle': { type: 'string' } });
    const wait = values['wait-idle'] === undefined ? undefined : Number(values['wait-idle']);
    if (wait !== undefined && !(wait >= 0)) throw new UserError(`bench: --wait-idle must be a number of seconds ≥ 0, got "${values['wait-idle']}"`);
    const only = (values.only ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    for (const c of only) if (!(CASE_NAMES as readonly string[]).includes(c)) throw new UserError(`bench: unknown case "${c}" (cases: ${CASE_NAMES.join(', ')})`);
    const path = await runBench({ only: only as CaseName[], quick: values.quick, outDir: values.out, waitIdleSec: wait });
    process.stdout.write(path + '\n');
    return 0;
  },
};
