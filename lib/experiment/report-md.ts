/** report.md: the run in one page of Markdown (numbers with their intervals, the recipe, the stamp). */
import { join } from 'node:path';
import { PAPER_CLIP_RN50 } from '../figures/table-one.ts';
import { RANDOM_STAMP } from '../models/stamp.ts';
import type { RunMetrics } from '../report/run-metrics.ts';
import { thresholdsMarkdown } from '../report/thresholds-section.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';
import type { ExperimentConfig } from './config.ts';

const pct = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(2)} %`);
const fixed4 = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));

export function writeReportMd(dir: string, cfg: ExperimentConfig, m: RunMetrics): void {
  const lines: string[] = [];
  lines.push(`# ${cfg.name}`, '');
  if (m.stamp === RANDOM_STAMP) lines.push(`> **${m.stamp.toUpperCase()}.** These numbers check the pipeline; they say nothing about CLIP.`, '');
  else if (m.stamp) lines.push(`> **${m.stamp}.** A small CLIP pretrained by this project on its synthetic world (models/teaching-clip/MODEL_CARD.md).`, '');
  if (cfg.description) lines.push(cfg.description, '');
  lines.push('Intended use: research and teaching. OpenAI\'s CLIP model card places face recognition out of scope for deployment.', '');
  lines.push(`- model: ${m.model}`, `- data: ${m.data.root} (train ${m.data.train}, test ${m.data.test}, unknown-person images ${m.data.unknownImages}, deployment frames ${m.data.deploymentFrames}, skipped ${m.data.skipped.length})`);
  if (m.data.leftOut.length) lines.push(`- left out of the run: ${m.data.leftOut.length} dataset entr${m.data.leftOut.length === 1 ? 'y' : 'ies'} with errors: ${m.data.leftOut.map((p) => `${p.path} (${p.reason})`).join('; ')}`);
  lines.push(`- prompt: "${cfg.prompt.template}"`, `- training: ${cfg.training.epochs} epoch(s), batch ${cfg.training.batchSize}, AdamW lr ${cfg.training.lr} wd ${cfg.training.weightDecay}, ${cfg.training.schedule} schedule, seed ${cfg.training.seed}`, '');
  const zs = m.method.zeroShotTestAccuracy;
  lines.push('## Training', '', `${m.train.steps} steps; loss ${fixed4(m.train.firstLoss)} → ${fixed4(m.train.finalLoss)}; training-split accuracy ${pct(m.train.trainSplitAccuracy)} ${zs !== undefined ? ` (zero-shot test accuracy before training: ${pct(zs)})` : ''}.`, '');
  const cs = m.closedSet;
  lines.push('## Closed set (test split)', '', `Accuracy ${pct(cs.accuracy)} on ${cs.images} images (chance ${pct(cs.chance)}; Wilson 95 % ${pct(cs.wilson95.lower)}–${pct(cs.wilson95.upper)}).`, '');
  if (m.deployment) {
    const d = m.deployment;
    const paper = PAPER_CLIP_RN50;
    lines.push('## Deployment (paper protocol)', '', `Threshold ${d.threshold}, ${d.subjects} subjects, frames aggregated by ${d.aggregation}.`, '');
    lines.push('| | TP | FN | FP | TN | accuracy | FPR | FNR |', '|---|---|---|---|---|---|---|---|');
    lines.push(`| this run | ${d.tp} | ${d.fn} | ${d.fp} | ${d.tn} | ${pct(d.accuracy)} | ${pct(d.fpr)} | ${pct(d.fnr)} |`);
    lines.push(`| ${paper.method} (Table I) | ${paper.counts!.tp} | ${paper.counts!.fn} | ${paper.counts!.fp} | ${paper.counts!.tn} | ${pct(paper.deploymentAccuracy)} | ${pct(paper.fpr)} | ${pct(paper.fnr)} |`, '');
    lines.push(`Paper accounting: enrolled subjects are negatives, unknown subjects positives. Standard (ISO/IEC 19795-1) at the same threshold: FPIR ${pct(d.standard.fpir)}, FNIR ${pct(d.standard.fnir)} (misidentification ${pct(d.standard.misidentificationRate)}).`, '');
  }
  lines.push(...thresholdsMarkdown(m));
  const v = m.openSet.verification;
  if (v) lines.push('## Open set', '', `Image-to-prompt verification: AUC ${v.auc}, EER ${pct(v.eer.eer)}. Identification: ${m.openSet.probes.mated} mated and ${m.openSet.probes.nonMated} non-mated probes; FNIR at FPIR 0.1: ${pct(m.openSet.fnirAtFpir.find((x) => x.targetFpir === 0.1)?.fnir)}.`, '');
  lines.push('Files: `config.json`, `env.json`, `metrics.json`, `predictions.csv`, `train-log.csv`, `checkpoint/`, `prepare/` (crops report and contact sheet).', '');
  writeFileAtomic(join(dir, 'report.md'), lines.join('\n'));
}
