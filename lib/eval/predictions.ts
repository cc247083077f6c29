/**
 * The predictions table every model arm (CLIP, VGG-Face, ArcFace, stand-ins) can write, and its
 * summary as the paper's Table I row: test-split accuracy ("Training Accuracy" column, top-1 on the
 * held-out 20 %) plus the deployment accuracy/FPR/FNR, with the standard FPIR/FNIR beside them.
 *
 * CSV columns (header row required, names case-insensitive, extra columns ignored):
 *   kind        test | deployment
 *   subject     who stood in front of the camera (deployment; frames of one subject share it)
 *   known       true/false (also 1/0, yes/no): is the subject enrolled?
 *   truth       the enrolled identity; empty for unknown subjects
 *   prediction  the model's top identity; empty or "unrecognized" for no claim
 *   confidence  the top identity's confidence as a fraction in [0, 1]
 * Parsing is pure (text in), so notebooks and the CLI share it; errors name the line and the fix.
 */
import { UserError } from '../util/errors.ts';
import { accuracy } from './closed-set.ts';
import {
  deploymentReport, UNRECOGNIZED, type DeploymentFrame, type DeploymentOptions, type DeploymentReport,
} from './deployment.ts';
import { wilson, type Interval } from './stats.ts';

export interface PredictionRow {
  /** 1-based line in the file */
  line: number;
  kind: 'test' | 'deployment' | 'train' | 'probe';
  subject: string;
  known: boolean;
  truth: string | null;
  prediction: string | null;
  confidence: number;
  /** the image, when the file has a `path` column (clipface run writes one): pairs rows across runs */
  path?: string;
}

export const PREDICTION_COLUMNS = ['kind', 'subject', 'known', 'truth', 'prediction', 'confidence'] as const;

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF; blank lines skipped. */
export function parseCsv(text: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0]!.trim() !== '') rows.push({ line: rowLine, cells: row });
    row = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n') line++;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n') { endRow(); rowLine = line; }
    else if (ch !== '\r') field += ch;
  }
  if (field !== '' || row.length) endRow();
  return rows;
}

/** Parse and validate a predictions CSV; `source` (a path) only appears in error messages. */
export function parsePredictionsCsv(text: string, source = 'predictions.csv'): PredictionRow[] {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  const header = (rows.shift()?.cells ?? []).map((h) => h.trim().toLowerCase());
  const col = {} as Record<(typeof PREDICTION_COLUMNS)[number], number>;
  for (const name of PREDICTION_COLUMNS) {
    col[name] = header.indexOf(name);
    if (col[name] < 0) {
      throw new UserError(`${source}: missing column "${name}"; the header must name ${PREDICTION_COLUMNS.join(',')}`);
    }
  }
  const pathCol = header.indexOf('path');
  return rows.map(({ line, cells }) => {
    const at = (name: (typeof PREDICTION_COLUMNS)[number]) => (cells[col[name]] ?? '').trim();
    const where = `${source}:${line}`;
    const kind = at('kind').toLowerCase();
    // train rows (Table I's training accuracy) and probe rows (unknown people's photos) are
    // written by `clipface run` for open-set analysis; the summary reads test and deployment rows
    if (!['test', 'deployment', 'train', 'probe'].includes(kind)) throw new UserError(`${where}: kind "${at('kind')}" must be test, deployment, train or probe`);
    const known = parseBool(at('known'), where);
    const truth = at('truth') || null;
    const prediction = at('prediction') && at('prediction').toLowerCase() !== UNRECOGNIZED ? at('prediction') : null;
    const confText = at('confidence');
    const confidence = confText === '' && prediction === null ? 0 : Number(confText);
    if (!Number.isFinite(confidence) || confidence < 0 || confidence > 1) {
      throw new UserError(`${where}: confidence "${confText}" must be a number in [0, 1] (write 0.93, not 93)`);
    }
    if (known && !truth) throw new UserError(`${where}: known subject without a truth identity; fill the truth column`);
    if ((kind === 'test' || kind === 'train') && !known) throw new UserError(`${where}: test rows are enrolled images; set known=true and fill truth`);
    const subject = at('subject') || (kind === 'test' ? `row${line}` : '');
    if (!subject) throw new UserError(`${where}: deployment row without a subject; name who stood before the camera`);
    const path = pathCol >= 0 ? (cells[pathCol] ?? '').trim() : '';
    return { line, kind: kind as PredictionRow['kind'], subject, known, truth: known ? truth : null, prediction, confidence, ...(path ? { path } : {}) };
  });
}

function parseBool(v: string, where: string): boolean {
  const s = v.toLowerCase();
  if (['true', '1', 'yes', 'y'].includes(s)) return true;
  if (['false', '0', 'no', 'n'].includes(s)) return false;
  throw new UserError(`${where}: known "${v}" must be true or false`);
}

export interface PredictionsSummary {
  /** top-1 accuracy on kind=test rows (no threshold: Table I's closed-set column); null if none */
  test: { images: number; accuracy: number; wilson95: Interval } | null;
  /** the deployment protocol on kind=deployment rows; null if none */
  deployment: DeploymentReport | null;
}

export function summarizePredictions(rows: readonly PredictionRow[], opts: DeploymentOptions = {}): PredictionsSummary {
  const test = rows.filter((r) => r.kind === 'test');
  const dep = rows.filter((r) => r.kind === 'deployment');
  const acc = accuracy(test.map((r) => r.truth ?? ''), test.map((r) => r.prediction ?? UNRECOGNIZED));
  const hits = Math.round(acc * test.length);
  const frames: DeploymentFrame[] = dep.map((r) => ({
    subject: r.subject, known: r.known, trueIdentity: r.truth, predicted: r.prediction, confidence: r.confidence,
  }));
  return {
    test: test.length ? { images: test.length, accuracy: acc, wilson95: wilson(hits, test.length) } : null,
    deployment: dep.length ? deploymentReport(frames, opts) : null,
  };
}
