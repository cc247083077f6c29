/**
 * Group-by / mean / sd over per-run rows, with nodejs-polars when its native binding loads, and
 * an identical plain-TypeScript path when it does not (nodejs-polars ships its engine as a
 * per-platform optional package, e.g. nodejs-polars-linux-x64-gnu; without it the import throws).
 * Both paths: groups in order of first appearance; mean over non-null values; sd = sample
 * standard deviation (ddof 1, polars' default), null with fewer than two values; n = runs in
 * the group; every number rounded to 6 decimals, so the two engines give the same table.
 */
export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface Aggregated {
  rows: Row[];
  engine: 'nodejs-polars' | 'typescript';
}

const r6 = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(6)));

type Polars = typeof import('nodejs-polars').default;
let polars: Promise<Polars | null> | undefined;

/** nodejs-polars, or null when its native binding is absent (CLIPFACE_NO_POLARS=1 forces null). */
export function loadPolars(): Promise<Polars | null> {
  polars ??= process.env.CLIPFACE_NO_POLARS ? Promise.resolve(null)
    : import('nodejs-polars').then((m) => ((m as { default?: Polars }).default ?? (m as unknown as Polars))).catch(() => null);
  return polars;
}

/** `${v}_mean`, `${v}_sd` for each value column, plus the group keys and n, one row per group. */
export async function aggregate(rows: readonly Row[], by: readonly string[], values: readonly string[], engine?: 'typescript'): Promise<Aggregated> {
  const pl = engine === 'typescript' ? null : await loadPolars();
  if (!rows.length) return { rows: [], engine: pl ? 'nodejs-polars' : 'typescript' };
  return pl ? { rows: withPolars(pl, rows, by, values), engine: 'nodejs-polars' } : { rows: withTs(rows, by, values), engine: 'typescript' };
}

function withTs(rows: readonly Row[], by: readonly string[], values: readonly string[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = JSON.stringify(by.map((b) => r[b] ?? null));
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const out: Row = Object.fromEntries(by.map((b) => [b, g[0]![b] ?? null]));
    out.n = g.length;
    for (const v of values) {
      const xs = g.map((r) => r[v]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      const mean = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
      const sd = xs.length > 1 && mean !== null ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : null;
      out[`${v}_mean`] = r6(mean);
      out[`${v}_sd`] = r6(sd);
    }
    return out;
  });
}

function withPolars(pl: Polars, rows: readonly Row[], by: readonly string[], values: readonly string[]): Row[] {
  // explicit columns (polars infers one dtype per column; non-finite numbers become nulls)
  const cols: Record<string, Cell[]> = { _order: rows.map((_, i) => i), _all: rows.map(() => 0) };
  for (const b of by) cols[b] = rows.map((r) => r[b] ?? null);
  for (const v of values) cols[v] = rows.map((r) => (typeof r[v] === 'number' && Number.isFinite(r[v]) ? r[v] : null));
  const df = pl.DataFrame(cols);
  const keys = by.length ? [...by] : ['_all'];
  const agg = df.groupBy(...keys).agg(
    pl.col('_order').min().alias('_order'),
    pl.col('_order').count().alias('n'),
    ...values.flatMap((v) => [pl.col(v).mean().alias(`${v}_mean`), pl.col(v).std().alias(`${v}_sd`)]),
  ).sort('_order');
  return (agg.toRecords() as Record<string, unknown>[]).map((rec) => {
    const out: Row = Object.fromEntries(by.map((b) => [b, (rec[b] ?? null) as Cell]));
    out.n = Number(rec.n);
    for (const v of values) {
      out[`${v}_mean`] = r6(rec[`${v}_mean`] as number | null);
      out[`${v}_sd`] = r6(rec[`${v}_sd`] as number | null);
    }
    return out;
  });
}

/** A markdown table of rows (columns in `cols` order; numbers as given). */
export function markdown(rows: readonly Row[], cols: readonly string[], headers: Record<string, string> = {}): string {
  const esc = (c: Cell | undefined) => String(c ?? '').replaceAll('|', '\\|');
  return [
    `| ${cols.map((c) => headers[c] ?? c).join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => esc(r[c])).join(' | ')} |`),
  ].join('\n') + '\n';
}
