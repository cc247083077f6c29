/**
 * The gates the teaching CLIP passes before it ships (issue 10), measured in one run and written to
 * <model dir>/gates.json (MODEL_CARD.md quotes it):
 *   1. zero-shot attributes on held-out people   ← <model dir>/pretrain-report.json (final, fp16 weights;
 *      facial hair with its breakdown by style, the attribute's `groups`)
 *   2. verification on the demo set's people vs face-api and Human, same pairs, this run;
 *      near-twin TAR at FAR 1e-2                 ← pretrain-report.json
 *   3. the paper's protocol on the demo set: zero-shot by name, then the text-tower finetune
 *   4. pretraining wall time                      ← pretrain-report.json
 *
 *   npm run -s teaching:gates [-- <model dir> [<experiment.json>]]
 * Defaults: models/teaching-clip and experiments/demo.json (its dataset is generated if missing).
 */
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { initTf } from '../lib/runtime/tf.ts';
import { runExperiment } from '../lib/experiment/run.ts';
import { loadExperiment } from '../lib/experiment/config.ts';
import { demoVerification } from '../lib/experiment/teaching-gates.ts';
import { loadOrSynth, datasetPath } from '../lib/services/stages.ts';
import { readRunMetrics } from '../lib/report/read-metrics.ts';
import type { RunMetrics } from '../lib/report/run-metrics.ts';
import type { AttributeResult } from '../lib/pretrain/evaluate.ts';
import { writeJsonAtomic } from '../lib/util/fs-atomic.ts';
import { repoRoot } from '../lib/util/paths.ts';

const modelDir = resolve(process.argv[2] ?? join(repoRoot, 'models', 'teaching-clip'));
const experiment = resolve(process.argv[3] ?? join(repoRoot, 'experiments', 'demo.json'));
const say = (s: string) => process.stderr.write(`gates: ${s}\n`);
await initTf();

const rel = (p: string) => relative(repoRoot, p) || '.';
const report = JSON.parse(readFileSync(join(modelDir, 'pretrain-report.json'), 'utf8'));

const { config, baseDir } = loadExperiment(experiment, []);
await loadOrSynth(config, baseDir, say);
const verif = await demoVerification(modelDir, datasetPath(config, baseDir), { clipMargin: config.preprocess.margin, say });

const metrics = (dir: string): RunMetrics => {
  const { metrics: m, problem } = readRunMetrics(dir);
  if (!m) throw new Error(problem);
  return m;
};
const zsDir = await runExperiment(experiment, { sets: ['method.kind=clip-zero-shot', 'name=gate-zero-shot'], quiet: true });
const ftDir = await runExperiment(experiment, { sets: ['name=gate-finetune'], quiet: true });
const zs = metrics(zsDir), ft = metrics(ftDir);
const row = (m: RunMetrics) => ({ closedSet: m.closedSet.accuracy, deployment: m.deployment ? { tp: m.deployment.tp, fn: m.deployment.fn, fp: m.deployment.fp, tn: m.deployment.tn, accuracy: m.deployment.accuracy, fpr: m.deployment.fpr, fnr: m.deployment.fnr } : null });

const attrs = report.final.attributes as AttributeResult[];
const facialHair = attrs.find((a) => a.groups);
const binary = attrs.filter((a) => a.labels.length === 2);
const bestFace = Math.max(...verif.faces.map((f) => f.auc));
verif.dataset = rel(verif.dataset);
verif.clip.model = rel(verif.clip.model);
const gates = {
  model: rel(modelDir), weightsSha256: report.weights.sha256, measuredAt: new Date().toISOString(),
  gate1: { attributes: attrs, binaryAtLeast90: binary.every((a) => a.accuracy >= 0.9) },
  gate2: {
    demo: verif, clipAuc: verif.clip.auc, bestFaceDescriptorAuc: bestFace,
    pass: verif.clip.auc >= 0.98 && verif.clip.auc > bestFace,
    nearTwins: { identities: report.corpus.hardIdentities ?? null, all: report.final.hard, twinsOnly: report.final.hard.twinsOnly },
  },
  gate3: { experiment: rel(experiment), zeroShotByName: { run: rel(zsDir), ...row(zs), chance: 1 / zs.closedSet.confusion.labels.length }, finetune: { run: rel(ftDir), ...row(ft) }, pass: (ft.closedSet.accuracy ?? 0) >= 0.9 },
  gate4: { trainMinutes: report.trainSeconds / 60, pass: report.trainSeconds <= 3600 },
};
writeJsonAtomic(join(modelDir, 'gates.json'), gates);
say(`gate 1: ${attrs.map((a) => `${a.name} ${(100 * a.accuracy).toFixed(1)}% (chance ${(100 * a.chance).toFixed(0)}%, majority ${(100 * a.majority).toFixed(0)}%)`).join('; ')}`);
if (facialHair) say(`gate 1, ${facialHair.name} by style (${(100 * facialHair.accuracy).toFixed(1)}%): ${facialHair.groups!.map((g) => `${g.group} ${g.right}/${g.n}`).join(', ')}`);
say(`gate 2: demo AUC ${verif.clip.auc.toFixed(4)} vs best face descriptor ${bestFace.toFixed(4)}; near-twin TAR@FAR1e-2 ${report.final.hard.tar[0].tar.toFixed(3)} (twins only ${report.final.hard.twinsOnly.tar[0].tar.toFixed(3)})`);
say(`gate 3: zero-shot by name ${(100 * (zs.closedSet.accuracy ?? NaN)).toFixed(1)}%; after finetune ${(100 * (ft.closedSet.accuracy ?? NaN)).toFixed(1)}%; deployment ${ft.deployment ? `TP ${ft.deployment.tp} FN ${ft.deployment.fn} FP ${ft.deployment.fp} TN ${ft.deployment.tn}` : 'none'}`);
say(`gate 4: ${(report.trainSeconds / 60).toFixed(1)} min`);
process.stdout.write(join(modelDir, 'gates.json') + '\n');
