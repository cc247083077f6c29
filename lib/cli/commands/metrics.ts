/**
 * `clipface metrics`: the paper's Table I numbers (deployment accuracy, FPR, FNR) from raw counts
 * or from a predictions CSV, with the standard open-set FPIR/FNIR beside them (lib/eval/).
 */
import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parse } from '../args.ts';
import { UserError } from '../../util/errors.ts';
import { paperRatesFromCounts, PAPER_THRESHOLD, type Counts, type PaperRates } from '../../eval/deployment.ts';
import { parsePredictionsCsv, summarizePredictions, type PredictionRow, type PredictionsSummary } from '../../eval/predictions.ts';
import { mcnemar } from '../../eval/stats.ts';
import { wilson } from '../../eval/stats.ts';

const help = `usage: clipface metrics --counts TP,FN,FP,TN [--json]
       clipface metrics --predictions <predictions.csv> [--threshold 0.8] [--aggregation majority|mean-prob]
                        [--enrolled-rejected fp|tn] [--json]

Prints the paper's deployment accuracy, FPR and FNR (%), computed as in Table I of arXiv 2411.12319:
enrolled subjects are the NEGATIVES and unknown subjects the POSITIVES, so
  TP = unknown subject rejected          FN = unknown subject accepted as someone
  TN = enrolled subject named correctly  FP = enrolled subject misidentified or rejected
  accuracy = (TP+TN)/all   FPR = FP/(FP+TN)   FNR = FN/(FN+TP)
e.g. --counts 1,1,2,8 (the paper's CLIP row) gives 75.00 / 20.00 / 50.00.
With --predictions it also prints the standard open-set rates (ISO/IEC 19795-1, NIST FRTE 1:N):
FPIR = unknown subjects accepted / unknown; FNIR = enrolled not named correctly / enrolled.

options:
  --counts TP,FN,FP,TN        four non-negative integers, in that order
  --predictions <file.csv>    a CSV with a header row naming these columns (any order, extra ignored):
        kind        test | deployment (test rows give the closed-set test accuracy, no threshold)
        subject     who stood before the camera; deployment frames of one subject share it
        known       true | false: is the subject enrolled?
        truth       the enrolled identity (empty for unknown subjects)
        prediction  the model's top identity (empty or "unrecognized" for none)
        confidence  the top identity's confidence, a fraction in [0, 1]
  --threshold <t>             confidence < t is "unrecognized" (default ${PAPER_THRESHOLD})
  --aggregation <a>           frames → one decision per subject: "majority" of thresholded frame
                              decisions (default; ties → unrecognized) or "mean-prob" (threshold the
                              mean confidence of the top identity)
  --enrolled-rejected fp|tn   count a rejected enrolled subject as FP (default) or TN (lenient)
  --compare <other.csv>       McNemar's test between this file's test rows and another run's
                              (paired by the path column that clipface run writes)
  --json                      print one JSON object instead of tables`;

async function run(argv: string[]): Promise<number> {
  const { values } = parse('metrics', argv, {
    counts: { type: 'string' },
    predictions: { type: 'string' },
    threshold: { type: 'string' },
    aggregation: { type: 'string' },
    'enrolled-rejected': { type: 'string' },
    json: { type: 'boolean', default: false },
    compare: { type: 'string' },
  });
  if (!values.counts === !values.predictions) {
    throw new UserError('metrics: give exactly one of --counts TP,FN,FP,TN or --predictions <file.csv> (see "clipface metrics --help")');
  }
  if (values.counts !== undefined) {
    const counts = parseCounts(values.counts);
    const rates = paperRatesFromCounts(counts);
    if (values.json) console.log(JSON.stringify({ counts, ...rates, percent: percent(rates) }, nanToNull, 2));
    else console.log(countsLine(counts) + '\n' + ratesTable(rates));
    return 0;
  }
  const file = values.predictions!;
  const threshold = values.threshold === undefined ? PAPER_THRESHOLD : Number(values.threshold);
  if (!(threshold >= 0 && threshold <= 1)) throw new UserError(`metrics: --threshold "${values.threshold}" must be a number in [0, 1], e.g. 0.8`);
  const aggregation = values.aggregation ?? 'majority';
  if (aggregation !== 'majority' && aggregation !== 'mean-prob') throw new UserError(`metrics: --aggregation "${aggregation}" must be majority or mean-prob`);
  const enrolledRejected = values['enrolled-rejected'] ?? 'fp';
  if (enrolledRejected !== 'fp' && enrolledRejected !== 'tn') throw new UserError(`metrics: --enrolled-rejected "${enrolledRejected}" must be fp or tn`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`metrics: cannot read --predictions ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path`);
  }
  const rows = parsePredictionsCsv(text, file);
  if (values.compare) return compare(rows, file, values.compare, values.json ?? false);
  const summary = summarizePredictions(rows, { threshold, aggregation, enrolledRejected });
  if (!summary.test && !summary.deployment) throw new UserError(`metrics: ${file} has no data rows; add test or deployment rows under the header`);
  if (values.json) console.log(JSON.stringify(jsonSummary(summary), nanToNull, 2));
  else console.log(textSummary(summary));
  return 0;
}

function parseCounts(s: string): Counts {
  const parts = s.split(',').map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.length !== 4 || nums.some((n, i) => parts[i] === '' || !Number.isInteger(n) || n < 0)) {
    throw new UserError(`metrics: --counts "${s}" must be four non-negative integers TP,FN,FP,TN, e.g. --counts 1,1,2,8`);
  }
  const [tp, fn, fp, tn] = nums as [number, number, number, number];
  return { tp, fn, fp, tn };
}

const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : (100 * x).toFixed(2));
const percent = (r: PaperRates) => ({ accuracy: 100 * r.accuracy, fpr: 100 * r.fpr, fnr: 100 * r.fnr });
const nanToNull = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
const countsLine = (c: Counts) =>
  `TP ${c.tp}  FN ${c.fn}  FP ${c.fp}  TN ${c.tn}   (${c.fp + c.tn} enrolled = negatives, ${c.tp + c.fn} unknown = positives)`;

function ratesTable(r: PaperRates, ci?: Record<keyof PaperRates, [number, number]>): string {
  const rows: [string, number, keyof PaperRates][] = [['accuracy', r.accuracy, 'accuracy'], ['FPR', r.fpr, 'fpr'], ['FNR', r.fnr, 'fnr']];
  const lines = [`metric    value (%)${ci ? '   95% Wilson CI' : ''}`];
  for (const [name, v, key] of rows) {
    const c = ci?.[key];
    lines.push(`${name.padEnd(9)} ${pct(v).padStart(9)}${c ? `   [${pct(c[0])}, ${pct(c[1])}]` : ''}`);
  }
  return lines.join('\n');
}

function paperCis(c: Counts): Record<keyof PaperRates, [number, number]> {
  const w = (k: number, n: number): [number, number] => { const i = wilson(k, n); return [i.lower, i.upper]; };
  return { accuracy: w(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn), fpr: w(c.fp, c.fp + c.tn), fnr: w(c.fn, c.fn + c.tp) };
}

function textSummary(s: PredictionsSummary): string {
  const out: string[] = [];
  if (s.test) {
    const w = s.test.wilson95;
    out.push(`test split: ${s.test.images} images, top-1 accuracy ${pct(s.test.accuracy)} %  (95% Wilson CI ${pct(w.lower)}–${pct(w.upper)})`, '');
  }
  const d = s.deployment;
  if (d) {
    out.push(`deployment: ${d.decisions.length} subjects, threshold ${d.threshold}, ${d.aggregation} of frames, rejected enrolled = ${d.enrolledRejected.toUpperCase()}`);
    out.push(countsLine(d.counts), ratesTable(d.paper, paperCis(d.counts)), '');
    const st = d.standard;
    out.push(`standard open-set (ISO/IEC 19795-1): FPIR ${pct(st.fpir)} %  FNIR ${pct(st.fnir)} %  `
      + `(misidentified ${pct(st.misidentificationRate)} %, rejected ${pct(st.rejectionRate)} % of enrolled)`);
    const wrong = d.decisions.filter((x) => x.cell === 'fp' || x.cell === 'fn');
    for (const x of wrong) {
      out.push(`  ${x.cell.toUpperCase()} ${x.subject}: ${x.known ? x.trueIdentity : 'unknown'} → ${x.decision} (confidence ${x.confidence.toFixed(3)}, ${x.frames} frame${x.frames === 1 ? '' : 's'})`);
    }
  }
  return out.join('\n').trimEnd();
}

function jsonSummary(s: PredictionsSummary) {
  const d = s.deployment;
  return {
    test: s.test,
    deployment: d && {
      threshold: d.threshold, aggregation: d.aggregation, enrolledRejected: d.enrolledRejected,
      counts: d.counts, ...d.paper, percent: percent(d.paper), wilson95: paperCis(d.counts),
      standard: d.standard, decisions: d.decisions,
    },
  };
}

/**
 * McNemar's test between two runs on the same test images (paired by the `path` column, else by
 * row order): did run B get different images right than run A, beyond chance?
 */
function compare(a: PredictionRow[], fileA: string, fileB: string, json: boolean): number {
  let text: string;
  try { text = readFileSync(fileB, 'utf8'); } catch { throw new UserError(`metrics: cannot read --compare ${fileB}; check the path`); }
  const b = parsePredictionsCsv(text, fileB);
  const tests = (rows: PredictionRow[]) => rows.filter((r) => r.kind === 'test');
  const [ta, tb] = [tests(a), tests(b)];
  const key = (r: PredictionRow, i: number) => r.path ?? `#${i}`;
  const byB = new Map(tb.map((r, i) => [key(r, i), r]));
  const pairs = ta.flatMap((r, i) => (byB.has(key(r, i)) ? [[r, byB.get(key(r, i))!] as const] : []));
  if (!pairs.length) throw new UserError(`metrics: ${fileA} and ${fileB} share no test images (pair by a path column, or give files with the same rows)`);
  const ok = (r: PredictionRow) => r.prediction !== null && r.prediction === r.truth;
  const m = mcnemar(pairs.map(([x]) => ok(x)), pairs.map(([, y]) => ok(y)));
  const accA = pairs.filter(([x]) => ok(x)).length / pairs.length, accB = pairs.filter(([, y]) => ok(y)).length / pairs.length;
  if (json) console.log(JSON.stringify({ pairs: pairs.length, accuracyA: accA, accuracyB: accB, ...m }, nanToNull, 2));
  else console.log(`${pairs.length} paired test images: accuracy A ${(accA * 100).toFixed(2)} %, B ${(accB * 100).toFixed(2)} %\n` +
    `McNemar: ${m.b} right only in A, ${m.c} right only in B; exact p = ${m.exactP.toPrecision(4)}, χ² (continuity) = ${m.chi2.toFixed(3)}, p = ${m.chi2P.toPrecision(4)}`);
  return 0;
}

export const metricsCommand: Command = { name: 'metrics', summary: "paper's Table I accuracy/FPR/FNR from counts or a predictions CSV", help, run };
