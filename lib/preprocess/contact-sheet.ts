/**
 * Contact sheet for the manual crop check the paper did after SCRFD cropping: one PNG grid per
 * identity (crops with the 5 warped keypoints drawn) and `contact-sheet.html` tying them together
 * with the list of skipped images and their reasons.
 *
 * Keypoint colours, in ArcFace order: image-left eye red, image-right eye green, nose blue,
 * image-left mouth corner yellow, image-right mouth corner magenta. A swapped pair or a point off
 * its feature is visible at a glance.
 */
import { writeFileAtomic } from '../util/fs-atomic.ts';
import { decodeImage, encodePng, resizeRgb, type RgbImage } from '../runtime/image.ts';
import { join } from 'node:path';
import { cropKeypoints } from './align.ts';
import type { PrepareReport, ReportEntry } from './prepare.ts';

export const KEYPOINT_COLOURS: [number, number, number][] = [[255, 40, 40], [40, 220, 40], [60, 120, 255], [255, 230, 0], [255, 0, 255]];
const TILE = 112;
const COLS = 10;
const GAP = 2;

function dot(img: RgbImage, x: number, y: number, r: number, c: [number, number, number]): void {
  const cx = Math.round(x), cy = Math.round(y);
  for (let yy = cy - r; yy <= cy + r; yy++) {
    for (let xx = cx - r; xx <= cx + r; xx++) {
      if (xx < 0 || yy < 0 || xx >= img.width || yy >= img.height) continue;
      const o = (yy * img.width + xx) * 3;
      img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2];
    }
  }
}

/** Paste `tiles` into a grid, COLS per row, on a dark background. */
export function grid(tiles: RgbImage[], tile = TILE, cols = COLS): RgbImage {
  const n = Math.max(1, tiles.length), c = Math.min(cols, n), rows = Math.ceil(n / c);
  const width = c * tile + (c + 1) * GAP, height = rows * tile + (rows + 1) * GAP;
  const data = new Uint8Array(width * height * 3).fill(32);
  tiles.forEach((t, i) => {
    const ox = GAP + (i % c) * (tile + GAP), oy = GAP + Math.floor(i / c) * (tile + GAP);
    for (let y = 0; y < Math.min(tile, t.height); y++) {
      const src = t.data.subarray(y * t.width * 3, y * t.width * 3 + Math.min(tile, t.width) * 3);
      data.set(src, ((oy + y) * width + ox) * 3);
    }
  });
  return { width, height, data, source: 'contact-sheet' };
}

async function tileFor(out: string, e: ReportEntry, report: PrepareReport): Promise<RgbImage> {
  const crop = await decodeImage(join(out, e.crop!));
  const t = crop.width === TILE ? crop : await resizeRgb(crop, TILE, TILE);
  const k = TILE / report.size;
  cropKeypoints(e.keypoints, report).forEach(([x, y], i) => dot(t, x * k, y * k, 1, KEYPOINT_COLOURS[i]));
  return t;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fileSafe = (s: string) => s.replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 80) || '_';

/** Write `<out>/contact-sheet.html` and `<out>/contact-sheet/<identity>.png`. */
export async function writeContactSheet(out: string, report: PrepareReport): Promise<void> {
  const groups = new Map<string, ReportEntry[]>();
  for (const e of report.images) {
    const g = e.identity ?? (e.kind === 'deployment' ? '(deployment frames)' : '(no identity)');
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(e);
  }
  const used = new Set<string>();
  const sections: string[] = [];
  for (const [id, entries] of groups) {
    const ok = entries.filter((e) => e.status === 'ok' && e.crop);
    const skipped = entries.filter((e) => e.status !== 'ok');
    let png = '';
    if (ok.length > 0) {
      let name = fileSafe(id);
      for (let i = 2; used.has(name); i++) name = `${fileSafe(id)}_${i}`;
      used.add(name);
      png = `contact-sheet/${name}.png`;
      const tiles: RgbImage[] = [];
      for (const e of ok) tiles.push(await tileFor(out, e, report));
      writeFileAtomic(join(out, png), await encodePng(grid(tiles)));
    }
    sections.push([
      `<h2>${esc(id)} <small>${ok.length} ok, ${skipped.length} skipped</small></h2>`,
      png ? `<img src="${esc(png)}" alt="crops of ${esc(id)}">` : '<p>no crops</p>',
      ok.length ? `<details><summary>tiles, row by row</summary><ol>${ok.map((e) => `<li><a href="${esc(e.crop!)}">${esc(e.path)}</a> score ${e.score}${e.faces && e.faces > 1 ? ` (${e.faces} faces)` : ''}</li>`).join('')}</ol></details>` : '',
      skipped.length ? `<ul class="skip">${skipped.map((e) => `<li>${esc(e.path)}: ${esc(e.reason ?? '')}</li>`).join('')}</ul>` : '',
    ].join('\n'));
  }
  const s = report.summary;
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>Crop contact sheet</title>
<style>body{font-family:sans-serif;background:#181818;color:#ddd;margin:1em}img{image-rendering:pixelated;max-width:100%}
small{color:#999;font-weight:normal}.skip{color:#f99}a{color:#9cf}</style></head><body>
<h1>Crop contact sheet</h1>
<p>dataset <code>${esc(report.dataset)}</code>, detector <code>${esc(report.detector)}</code>, ${report.size}px, margin ${report.margin}, policy ${report.policy}:
${s.ok} ok, ${s.skipped} skipped of ${s.total}.</p>
<p>Keypoints: <span style="color:#f33">eye (image-left)</span>, <span style="color:#3d3">eye (image-right)</span>,
<span style="color:#47f">nose</span>, <span style="color:#fe0">mouth (image-left)</span>, <span style="color:#f0f">mouth (image-right)</span>.
Check that each crop is the right person, upright, and the dots sit on their features.</p>
${sections.join('\n')}
</body></html>
`;
  writeFileAtomic(join(out, 'contact-sheet.html'), html);
}
