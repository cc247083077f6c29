/**
 * The paper's Table I layout (arXiv 2411.12319): method, "training accuracy", deployment accuracy,
 * FPR, FNR, all in %, each optionally with a 95 % interval. Values go in as fractions (as
 * `metrics.json` stores them) and come out as the percentages the paper prints (2 decimals).
 *
 * The paper's "Training Accuracy" column is read as top-1 accuracy on the held-out 20 % of the
 * training data (MISSION.md), so it is `heldOutAccuracy` here and in metrics.json's `tableI`,
 * never to be confused with `train.trainSplitAccuracy` (the 80 % the model was fitted on).
 */
import type { Counts } from '../eval/deployment.ts';
import { BASE_LAYOUT, titled, toCsv, type Figure } from './types.ts';

export const TABLE_ONE_COLUMNS = ['heldOutAccuracy', 'deploymentAccuracy', 'fpr', 'fnr'] as const;
export type TableOneColumn = (typeof TABLE_ONE_COLUMNS)[number];

export const TABLE_ONE_HEADERS: Record<'method' | TableOneColumn, string> = {
  method: 'Method',
  heldOutAccuracy: 'Training acc (%) [held-out 20 %]',
  deploymentAccuracy: 'Deployment acc (%)',
  fpr: 'FPR (%)',
  fnr: 'FNR (%)',
};

export interface TableOneRow {
  method: string;
  /** fractions in [0, 1]; null or NaN when the run has no such number (printed as "n/a") */
  heldOutAccuracy: number | null;
  deploymentAccuracy: number | null;
  fpr: number | null;
  fnr: number | null;
  /** 95 % intervals (fractions), printed in brackets after the value */
  ci?: Partial<Record<TableOneColumn, { lower: number | null; upper: number | null }>>;
  /** the deployment counts behind the rates, where known */
  counts?: Counts;
}

/**
 * The paper's CLIP row. Its counts are the only ones that give all three rates with 10 enrolled and
 * 2 unknown subjects (MISSION.md, "Reading the counts").
 */
export const PAPER_CLIP_RN50: TableOneRow = {
  method: 'CLIP RN-50 [paper]', heldOutAccuracy: 0.9218, deploymentAccuracy: 0.75, fpr: 0.2, fnr: 0.5,
  counts: { tp: 1, fn: 1, fp: 2, tn: 8 },
};

/** The paper's Table I (fractions), for side-by-side comparison with a reproduction. */
export const PAPER_TABLE_I: TableOneRow[] = [
  { method: 'VGG-Face (o) [paper]', heldOutAccuracy: 0.9685, deploymentAccuracy: 0.0833, fpr: 0.9, fnr: 1 },
  { method: 'VGG-Face (c) [paper]', heldOutAccuracy: 0.9272, deploymentAccuracy: 0, fpr: 1, fnr: 1 },
  { method: 'ArcFace (o) [paper]', heldOutAccuracy: 0.9526, deploymentAccuracy: 0.1667, fpr: 0.9, fnr: 0.5 },
  { method: 'ArcFace (c) [paper]', heldOutAccuracy: 0.9413, deploymentAccuracy: 0.0833, fpr: 0.9, fnr: 1 },
  PAPER_CLIP_RN50,
];

/** 0.75 → "75.00"; null/NaN → "n/a". */
export function formatPercent(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : (100 * x).toFixed(digits);
}

/** A cell as printed: "75.00" or, with an interval, "75.00 [46.77, 91.11]". */
export function tableOneCell(row: TableOneRow, col: TableOneColumn): string {
  const v = formatPercent(row[col]);
  const ci = row.ci?.[col];
  return ci && v !== 'n/a' ? `${v} [${formatPercent(ci.lower, 1)}, ${formatPercent(ci.upper, 1)}]` : v;
}

/** The table as printed, row-major: header first, then one line per method. */
export function tableOneCells(rows: readonly TableOneRow[]): string[][] {
  return [
    ['method', ...TABLE_ONE_COLUMNS].map((c) => TABLE_ONE_HEADERS[c as keyof typeof TABLE_ONE_HEADERS]),
    ...rows.map((r) => [r.method, ...TABLE_ONE_COLUMNS.map((c) => tableOneCell(r, c))]),
  ];
}

export function tableOneFigure(rows: readonly TableOneRow[], opts: { title?: string } = {}): Figure {
  const [header, ...body] = tableOneCells(rows);
  const columns = header!.map((_, j) => body.map((r) => r[j]!));
  const hasCi = rows.some((r) => r.ci && Object.keys(r.ci).length);
  return {
    data: [{
      type: 'table',
      columnwidth: [2.2, 1.4, 1.4, 1.2, 1.2],
      header: {
        values: header!.map((h) => `<b>${h}</b>`),
        align: ['left', 'right'], fill: { color: '#1f3b57' }, font: { color: 'white', size: 13 }, height: 32,
      },
      cells: {
        values: columns,
        align: ['left', 'right'], height: 28, font: { size: 12 },
        fill: { color: [body.map((_, i) => (i % 2 ? '#f3f6f9' : 'white'))] },
      },
    }],
    layout: {
      ...BASE_LAYOUT,
      title: titled(opts.title ?? `Table I layout${hasCi ? ' (95 % intervals in brackets)' : ''}`),
      width: 1000,
      // rows wrap when a method name is long (~40 characters fit the first column at 1000 px)
      height: 100 + rows.reduce((h, r) => h + 29 * Math.max(1, Math.ceil(r.method.length / 40)), 0),
      margin: { l: 20, r: 20, t: 50, b: 10 },
    },
  };
}

/** Machine-readable: fractions, not the printed strings; intervals as *_lower/*_upper columns. */
export function tableOneCsv(rows: readonly TableOneRow[]): string {
  const header = ['method', ...TABLE_ONE_COLUMNS.flatMap((c) => [c, `${c}_lower`, `${c}_upper`])];
  return toCsv(header, rows.map((r) => [r.method, ...TABLE_ONE_COLUMNS.flatMap((c) => [r[c] ?? '', r.ci?.[c]?.lower ?? '', r.ci?.[c]?.upper ?? ''])]));
}
