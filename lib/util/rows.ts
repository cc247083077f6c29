/**
 * Row-major matrices as flat typed arrays ([n, dim], row i at i·dim): the few helpers every
 * embedding consumer needs (CLIP arms, face baselines, gallery, figures), written once.
 */

type Rows = Float32Array | Float64Array | readonly number[];

/** The listed rows of x [n, dim], in that order: [rows.length, dim]. */
export function pickRows(x: Float32Array, rows: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, j) => out.set(x.subarray(r * dim, (r + 1) * dim), j * dim));
  return out;
}

/** Row-wise L2 normalisation of [n, dim] features, as a new array (a zero row stays zero). */
export function normalizeRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[i + j]! ** 2;
    const inv = 1 / Math.sqrt(s || 1);
    for (let j = 0; j < dim; j++) out[i + j] = x[i + j]! * inv;
  }
  return out;
}

/** Plain-array dot products of the rows of a [n, dim] with the rows of b [m, dim]: [n][m] (cosines when both hold unit rows). */
export function dotMatrix(a: Rows, b: Rows, dim: number): number[][] {
  const n = a.length / dim, m = b.length / dim;
  return Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, j) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += a[i * dim + k]! * b[j * dim + k]!;
    return s;
  }));
}

/**
 * Cosine similarity of every pair of rows of `features` ([n, dim], row-major), in float64: the
 * rows are normalised in float64 first, so the result is exactly symmetric; a zero row gives 0s.
 */
export function cosineMatrix(features: Rows, dim: number): number[][] {
  if (!(Number.isInteger(dim) && dim > 0 && features.length % dim === 0)) {
    throw new RangeError(`cosineMatrix: length ${features.length} is not a multiple of dim ${dim}`);
  }
  const unit = new Float64Array(features.length);
  for (let i = 0; i < features.length; i += dim) {
    let sq = 0;
    for (let k = 0; k < dim; k++) sq += features[i + k]! * features[i + k]!;
    const norm = Math.sqrt(sq);
    for (let k = 0; k < dim; k++) unit[i + k] = norm > 0 ? features[i + k]! / norm : features[i + k]!;
  }
  return dotMatrix(unit, unit, dim);
}
