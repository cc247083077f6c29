/**
 * The teaching CLIP's pretraining curves (notebook 9): what `clipface pretrain` measured after each
 * epoch on people it never saw (pretrain-report.json `epochs`, lib/pretrain/heldout.ts), and the
 * per-step log when a run's train-log.csv is at hand (lib/cli/commands/pretrain.ts writes it; the
 * shipped model keeps only the report).
 */
import { BASE_LAYOUT, check, PALETTE, titled, type Figure, type Trace } from './types.ts';

/** One per-epoch evaluation, as pretrain-report.json stores it (only the fields drawn here). */
export interface PretrainEpoch {
  epoch: number;
  step: number;
  heldout: { auc: number; tar: { far: number; tar: number }[] };
  hard: { auc: number; twinsOnly: { auc: number } };
  attributes: { name: string; accuracy: number; majority: number }[];
}

/** One optimiser step of train-log.csv (StepLog in lib/pretrain/train.ts). */
export interface PretrainStep { step: number; loss: number; lr: number; logitScale: number }

const tarAt = (e: PretrainEpoch, far: number) => e.heldout.tar.find((t) => t.far === far)?.tar ?? null;

/**
 * Left: verification of unseen people per epoch (ROC AUC and TAR at FAR 1e-2 of the held-out set;
 * AUC of near-twins against each other). Right: zero-shot attribute accuracy per epoch, each
 * attribute's majority-class rate as a dotted line of the same colour (several are imbalanced).
 */
export function pretrainEpochsFigure(epochs: readonly PretrainEpoch[], opts: { title?: string } = {}): Figure {
  check(epochs.length > 0, 'pretrainEpochsFigure', 'no epochs');
  const x = epochs.map((e) => e.epoch);
  const line = (name: string, y: (number | null)[], i: number, axes: Record<string, string>, dash?: string): Trace => ({
    type: 'scatter', mode: 'lines+markers', name, x, y, line: { color: PALETTE[i % PALETTE.length], ...(dash ? { dash } : {}) }, marker: { size: 6 }, ...axes,
  });
  const left = { xaxis: 'x', yaxis: 'y' }, right = { xaxis: 'x2', yaxis: 'y2' };
  const data: Trace[] = [
    line('held-out AUC', epochs.map((e) => e.heldout.auc), 0, left),
    line('held-out TAR at FAR 1e-2', epochs.map((e) => tarAt(e, 0.01)), 1, left),
    line('near-twins AUC (twin vs twin)', epochs.map((e) => e.hard.twinsOnly.auc), 2, left),
  ];
  const names = epochs[0]!.attributes.map((a) => a.name);
  names.forEach((name, i) => {
    const acc = epochs.map((e) => e.attributes.find((a) => a.name === name)?.accuracy ?? null);
    data.push({ ...line(name, acc, i + 3, right), legendgroup: name });
    const maj = epochs.at(-1)!.attributes.find((a) => a.name === name)?.majority ?? null;
    data.push({
      type: 'scatter', mode: 'lines', name: `${name}: majority class`, legendgroup: name, showlegend: false, x: [x[0], x.at(-1)], y: [maj, maj],
      line: { color: PALETTE[(i + 3) % PALETTE.length], dash: 'dot', width: 1 }, hoverinfo: 'skip', ...right,
    });
  });
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title ?? `Pretraining, measured after each epoch on people never seen (${epochs.at(-1)!.step} steps)`),
      xaxis: { domain: [0, 0.42], title: { text: 'epoch' }, dtick: 1 },
      yaxis: { title: { text: 'verification' }, range: [0, 1.02] },
      xaxis2: { domain: [0.55, 1], anchor: 'y2', title: { text: 'epoch' }, dtick: 1 },
      yaxis2: { anchor: 'x2', title: { text: 'zero-shot attribute accuracy (dotted: majority class)' }, range: [0, 1.02] },
      legend: { orientation: 'h', y: -0.22 },
      width: 1100, height: 520, margin: { ...BASE_LAYOUT.margin, b: 150 },
    },
  };
}

/** Loss per step (and the learnable logit scale, CLIP's exp(t), on a second axis) of train-log.csv. */
export function pretrainStepsFigure(log: readonly PretrainStep[], opts: { title?: string } = {}): Figure {
  check(log.length > 0, 'pretrainStepsFigure', 'no steps');
  const x = log.map((r) => r.step);
  return {
    data: [
      { type: 'scatter', mode: 'lines', name: 'loss', x, y: log.map((r) => r.loss), line: { color: PALETTE[0] } },
      { type: 'scatter', mode: 'lines', name: 'logit scale', x, y: log.map((r) => r.logitScale), line: { color: PALETTE[1], dash: 'dash' }, yaxis: 'y2' },
    ],
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title ?? `Pretraining loss: ${log.length} steps, ${log[0]!.loss.toFixed(2)} → ${log.at(-1)!.loss.toFixed(2)}`),
      xaxis: { title: { text: 'step' } },
      yaxis: { title: { text: 'loss (CLIP + photo term)' }, rangemode: 'tozero' },
      yaxis2: { overlaying: 'y', side: 'right', title: { text: 'logit scale' }, rangemode: 'tozero', showgrid: false },
      legend: { orientation: 'h', y: 1.1, x: 1, xanchor: 'right' },
      width: 900, height: 440, margin: { ...BASE_LAYOUT.margin, r: 80 },
    },
  };
}

/** train-log.csv (header step,epoch,lr,loss,logitScale,…) → steps; null when a needed column is missing. */
export function parsePretrainLog(csv: string): PretrainStep[] | null {
  const [head, ...lines] = csv.trim().split('\n');
  const cols = (head ?? '').split(',');
  const at = (k: string) => cols.indexOf(k);
  if (['step', 'loss', 'lr', 'logitScale'].some((k) => at(k) < 0)) return null;
  return lines.filter(Boolean).map((l) => {
    const v = l.split(',').map(Number);
    return { step: v[at('step')]!, loss: v[at('loss')]!, lr: v[at('lr')]!, logitScale: v[at('logitScale')]! };
  });
}
