/**
 * `clipface data prepare <dataset> --out <dir> [...]`: detect, align and cache face crops for a
 * whole dataset (manifest or one folder per person), write prepare-report.json and the contact
 * sheet. Wired into lib/cli/commands/data.ts; kept here so the data command stays small.
 */
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { parse } from '../args.ts';
import { loadDataset } from '../../data/dataset.ts';
import { DEFAULT_MAX_PIXELS } from '../../runtime/image.ts';
import { UserError } from '../../util/errors.ts';
import { DEFAULT_CLIP_MARGIN } from '../../preprocess/align.ts';
import { createDetector, DEFAULT_MIN_FACE, DETECTOR_HELP, parseDetectorSpec, type FacePolicy } from '../../preprocess/detector.ts';
import { prepareDataset } from '../../preprocess/prepare.ts';
import { itemsFromDataset, skippedFromProblems } from '../../preprocess/prepare-items.ts';

export const PREPARE_HELP = `  prepare <dataset> --out <dir> [--detector union] [--size 224] [--margin ${DEFAULT_CLIP_MARGIN}]
        [--policy largest] [--min-score s] [--min-face ${DEFAULT_MIN_FACE}] [--max-pixels ${DEFAULT_MAX_PIXELS}]
        [--concurrency n] [--cache <dir>] [--force]
      detect faces, take 5 keypoints, align them to the ArcFace template and write <size>-px crops
      (content-addressed, in <out>/crops or --cache; a rerun does no work, --force redoes it).
      --detector   ${DETECTOR_HELP}
                   union: human, face-api when human finds none, then both on a padded image;
                   scrfd: your own SCRFD *_kps ONNX file (e.g. insightface det_10g.onnx)
      --size       crop side: 224 for CLIP, 112 for ArcFace-style models
      --margin     context around the ArcFace template: 0 = ArcFace's tight crop, 0.25 = 12.5 % more
                   on every side
      --policy     several faces in one image: largest | highest-score | fail-if-many
      --min-score  detector score threshold (defaults: face-api 0.1, human 0.1, scrfd 0.5)
      --min-face   ignore faces smaller than this fraction of the image's shorter side (0 = keep all)
      --max-pixels refuse larger images (reported as skipped)
      Writes <out>/prepare-report.json (every image: ok with keypoints and crop, or skipped with a
      reason), <out>/contact-sheet.html and one PNG grid per identity for checking the crops by eye.
      Bad images never stop the run. Exit 1 only when no image could be cropped.`;

function num(name: string, v: string | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UserError(`data prepare: --${name} must be ${what}, got "${v}"`);
  return n;
}

const POLICIES: FacePolicy[] = ['largest', 'highest-score', 'fail-if-many'];

export async function runPrepareCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('data prepare', argv, {
    out: { type: 'string' }, detector: { type: 'string' }, size: { type: 'string' }, margin: { type: 'string' },
    policy: { type: 'string' }, 'min-score': { type: 'string' }, 'min-face': { type: 'string' }, 'max-pixels': { type: 'string' },
    concurrency: { type: 'string' }, cache: { type: 'string' }, force: { type: 'boolean' },
  }, true);
  if (positionals.length !== 1) throw new UserError('data prepare: give exactly one dataset folder');
  if (!values.out) throw new UserError('data prepare: --out <dir> is required (where crops and the report go)');
  const spec = parseDetectorSpec(values.detector ?? 'union');
  const size = num('size', values.size, (n) => Number.isInteger(n) && n >= 16 && n <= 4096, 'an integer from 16 to 4096') ?? 224;
  const margin = num('margin', values.margin, (n) => n > -0.5 && n <= 4, 'a number in (-0.5, 4]') ?? DEFAULT_CLIP_MARGIN;
  const policy = (values.policy ?? 'largest') as FacePolicy;
  if (!POLICIES.includes(policy)) throw new UserError(`data prepare: --policy must be one of ${POLICIES.join(', ')}, got "${values.policy}"`);
  const minScore = num('min-score', values['min-score'], (n) => n >= 0 && n <= 1, 'a number in [0, 1]');
  const minFace = num('min-face', values['min-face'], (n) => n >= 0 && n < 1, 'a number in [0, 1)');
  const maxPixels = num('max-pixels', values['max-pixels'], (n) => Number.isInteger(n) && n > 0, 'a positive integer');
  const concurrency = num('concurrency', values.concurrency, (n) => Number.isInteger(n) && n > 0, 'a positive integer') ?? availableParallelism();

  const ds = loadDataset(positionals[0]!);
  const items = itemsFromDataset(ds);
  const preSkipped = skippedFromProblems(ds.problems);
  const detector = await createDetector(spec, { minScore, minFace });
  const out = resolve(values.out);
  console.error(`data prepare: ${items.length} images from ${ds.root} with ${detector.name}, ${size}px, margin ${margin}, ${concurrency} in flight`);
  let report;
  try {
    report = await prepareDataset({
      root: ds.root, items, out, detector, size, margin, policy, force: values.force ?? false, maxPixels, concurrency,
      cacheDir: values.cache ? resolve(values.cache) : undefined, preSkipped,
      problems: ds.problems.map((p) => ({ path: p.path, code: p.code, reason: p.reason, severity: p.severity })),
    });
  } finally {
    await detector.dispose?.();
  }
  const s = report.summary;
  const codes = Object.entries(s.byCode).map(([c, n]) => `${c} ${n}`).join(', ');
  console.error(`data prepare: ${s.ok} ok, ${s.skipped} skipped${codes ? ` (${codes})` : ''}, ${s.cached} from cache, ${s.seconds.toFixed(1)} s (${s.imagesPerSecond} img/s)`);
  console.error(`data prepare: check the crops in ${resolve(out, 'contact-sheet.html')}`);
  console.log(resolve(out, 'prepare-report.json'));
  return s.ok > 0 ? 0 : 1;
}
