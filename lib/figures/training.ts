/**
 * Learning curves: the finetune's per-step loss (with a smoothed line once there are enough
 * steps), the learning-rate schedule on a second y axis, and batch accuracy in a strip below;
 * K-shot curves (accuracy against shots per identity, mean ± sd over seeds).
 */
import { BASE_LAYOUT, check, PALETTE, titled, toCsv, type Figure, type Trace } from './types.ts';

export interface TrainStep {
  step: number;
  loss: number;
  lr: number;
  batchAccuracy: number;
}

/** Exponential moving average with bias correction (as TensorBoard's smoothing slider). */
export function ema(values: readonly number[], weight: number): number[] {
  let m = 0;
  return values.map((v, i) => {
    m = weight * m + (1 - weight) * v;
    return m / (1 - weight ** (i + 1));
  });
}

export function trainingCurveFigure(log: readonly TrainStep[], opts: { title?: string; smoothing?: number } = {}): Figure {
  const steps = log.map((r) => r.step);
  const loss = log.map((r) => r.loss);
  const smoothing = opts.smoothing ?? (log.length >= 30 ? 0.8 : 0);
  const data: Trace[] = [
    { type: 'scatter', mode: log.length > 200 ? 'lines' : 'lines+markers', name: 'loss', x: steps, y: loss,
      line: { color: PALETTE[0], width: smoothing ? 1 : 2 }, opacity: smoothing ? 0.45 : 1, marker: { size: 4 }, yaxis: 'y' },
  ];
  if (smoothing) data.push({ type: 'scatter', mode: 'lines', name: `loss (EMA ${smoothing})`, x: steps, y: ema(loss, smoothing), line: { color: PALETTE[0], width: 2.5 }, yaxis: 'y' });
  data.push(
    { type: 'scatter', mode: 'lines', name: 'learning rate', x: steps, y: log.map((r) => r.lr), line: { color: PALETTE[1], dash: 'dash' }, yaxis: 'y2' },
    { type: 'scatter', mode: 'lines', name: 'batch accuracy', x: steps, y: log.map((r) => r.batchAccuracy), line: { color: PALETTE[2], shape: 'hv' }, yaxis: 'y3' },
  );
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title ?? `Training: ${log.length} steps, final loss ${log.length ? log[log.length - 1]!.loss.toFixed(4) : 'n/a'}`),
      xaxis: { title: { text: 'step' }, anchor: 'y3' },
      yaxis: { domain: [0.34, 1], title: { text: 'cross-entropy loss' }, rangemode: 'tozero' },
      yaxis2: { overlaying: 'y', side: 'right', title: { text: 'learning rate' }, exponentformat: 'e', rangemode: 'tozero', showgrid: false },
      yaxis3: { domain: [0, 0.24], title: { text: 'batch acc' }, range: [0, 1.05] },
      legend: { orientation: 'h', y: 1.08, x: 1, xanchor: 'right' },
      width: 1000, height: 560, margin: { ...BASE_LAYOUT.margin, r: 90 },
    },
  };
}

export function trainingCsv(log: readonly TrainStep[]): string {
  return toCsv(['step', 'loss', 'lr', 'batch_accuracy'], log.map((r) => [r.step, r.loss, r.lr, r.batchAccuracy]));
}

export interface KShotSeries {
  name: string;
  /** shots per identity */
  k: number[];
  /** mean accuracy (fraction) over seeds at each k */
  mean: number[];
  /** standard deviation over seeds (drawn as ± error bars) */
  sd: number[];
}

export function kShotCurveFigure(series: readonly KShotSeries[], opts: { title?: string; yTitle?: string } = {}): Figure {
  const data: Trace[] = series.map((s, i) => {
    check(s.k.length === s.mean.length && s.k.length === s.sd.length, 'kShotCurveFigure', `${s.name}: k, mean and sd differ in length`);
    const order = s.k.map((_, j) => j).sort((a, b) => s.k[a]! - s.k[b]!);
    return {
      type: 'scatter', mode: 'lines+markers', name: s.name,
      x: order.map((j) => s.k[j]), y: order.map((j) => s.mean[j]),
      error_y: { type: 'data', array: order.map((j) => s.sd[j]), visible: true, thickness: 1.2, width: 4 },
      line: { color: PALETTE[i % PALETTE.length] }, marker: { size: 7 },
      hovertemplate: 'K=%{x}<br>%{y:.3f} ± %{error_y.array:.3f}<extra>%{fullData.name}</extra>',
    };
  });
  const ks = [...new Set(series.flatMap((s) => s.k))].sort((a, b) => a - b);
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title ?? 'Accuracy vs shots per identity (mean ± sd over seeds)'),
      xaxis: { title: { text: 'K (images per identity)' }, tickvals: ks, type: ks.length > 2 && ks.every((k) => k > 0) && ks[ks.length - 1]! / ks[0]! >= 16 ? 'log' : 'linear' },
      yaxis: { title: { text: opts.yTitle ?? 'accuracy' }, range: [0, 1.02] },
      width: 760, height: 480,
    },
  };
}

export function kShotCsv(series: readonly KShotSeries[]): string {
  return toCsv(['name', 'k', 'mean', 'sd'], series.flatMap((s) => s.k.map((k, i) => [s.name, k, s.mean[i], s.sd[i]])));
}
