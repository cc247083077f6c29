/**
 * Confusion-matrix heatmap: truth down the rows, prediction across the columns (scikit-learn's
 * convention, as `lib/eval/closed-set.ts` builds it), identity names on both axes, every cell
 * annotated with its count (and its row share when normalised).
 */
import { BASE_LAYOUT, check, titled, toCsv, type Figure } from './types.ts';

export interface ConfusionSpec {
  /** row and column names in order: matrix[i][j] = #(truth = labels[i], prediction = labels[j]) */
  labels: string[];
  matrix: number[][];
}

export interface ConfusionOptions {
  /** 'row': colour and annotate each cell by its share of the row (per-identity recall on the diagonal) */
  normalize?: 'none' | 'row';
  title?: string;
  /** append "accuracy x% (diagonal/total)" to the title (default true; off when the labels of rows and columns mean different things) */
  showAccuracy?: boolean;
}

/** ColorBrewer "Blues", light for 0 to dark for the maximum (plotly's named 'Blues' runs the other way). */
export const BLUES = [[0, '#f7fbff'], [0.125, '#deebf7'], [0.25, '#c6dbef'], [0.375, '#9ecae1'], [0.5, '#6baed6'], [0.625, '#4292c6'], [0.75, '#2171b5'], [0.875, '#08519c'], [1, '#08306b']];

/** Each row divided by its sum; a row with no samples stays null (drawn as a gap, not as 0 %). */
export function rowNormalize(matrix: readonly (readonly number[])[]): (number | null)[][] {
  return matrix.map((row) => {
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (sum > 0 ? v / sum : null));
  });
}

export function confusionMatrixFigure(spec: ConfusionSpec, opts: ConfusionOptions = {}): Figure {
  const { labels, matrix } = spec;
  const n = labels.length;
  check(matrix.length === n && matrix.every((r) => r.length === n), 'confusionMatrixFigure', `matrix must be ${n}×${n} to match labels`);
  const normalize = opts.normalize ?? 'none';
  const shares = rowNormalize(matrix);
  const z = normalize === 'row' ? shares : matrix.map((r) => [...r]);
  const text = matrix.map((row, i) => row.map((count, j) => {
    if (normalize === 'none') return String(count);
    const s = shares[i]![j];
    return s === null || s === undefined ? '' : `${(100 * s).toFixed(s === 0 || s === 1 ? 0 : 1)}%<br>(${count})`;
  }));
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const correct = matrix.reduce((a, row, i) => a + (row[i] ?? 0), 0);
  const acc = total && opts.showAccuracy !== false ? `<br><sup>accuracy ${(100 * correct / total).toFixed(1)}% (${correct}/${total})</sup>` : '';
  const side = Math.min(900, 300 + 40 * n);
  return {
    data: [{
      type: 'heatmap',
      x: labels,
      y: labels,
      z,
      text,
      texttemplate: '%{text}',
      textfont: { size: n > 20 ? 8 : 11 },
      hovertemplate: 'truth %{y}<br>predicted %{x}<br>%{text}<extra></extra>',
      colorscale: BLUES,
      zmin: 0,
      zmax: normalize === 'row' ? 1 : Math.max(1, ...matrix.flat()),
      colorbar: { title: { text: normalize === 'row' ? 'row share' : 'count' } },
      xgap: 1,
      ygap: 1,
    }],
    layout: {
      ...BASE_LAYOUT,
      title: titled((opts.title ?? (normalize === 'row' ? 'Confusion matrix (row-normalised)' : 'Confusion matrix (counts)')) + acc),
      xaxis: { title: { text: 'predicted' }, type: 'category', tickangle: -45, constrain: 'domain' },
      yaxis: { title: { text: 'truth' }, type: 'category', autorange: 'reversed', scaleanchor: 'x' },
      width: side + 160,
      height: side + 60,
      margin: { ...BASE_LAYOUT.margin, l: 120, b: 120, t: 80 },
    },
  };
}

/** Long format, one line per cell: truth,predicted,count,row_share. */
export function confusionCsv(spec: ConfusionSpec): string {
  const shares = rowNormalize(spec.matrix);
  const rows = spec.labels.flatMap((t, i) => spec.labels.map((p, j) => [t, p, spec.matrix[i]![j]!, shares[i]![j] ?? '']));
  return toCsv(['truth', 'predicted', 'count', 'row_share'], rows);
}
