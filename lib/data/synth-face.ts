/**
 * The facesjs half of the synthetic demo dataset (SYNTHFACE-NOTES.md §2.1–2.2): seeded cartoon
 * identities that differ by construction, and a "2.5-D" posed face built from facesjs layers.
 *
 * facesjs draws every part at a fixed place in a 400×600 viewBox (eyes (140,310)/(260,310),
 * brows y 270, nose (200,370), mouth (200,440)). A layer = `faceToSvgString` with every other
 * feature set to the id '__none' (unknown ids are skipped). Each layer gets its own affine map from
 * a depth z per part: yaw shifts a part by z·sin(yaw) and squeezes spacing by cos(yaw), each eye
 * and brow is foreshortened by cos(a+yaw)/cos(a) (left and right halves via clip paths), the ears
 * (z < 0) move the other way and widen/narrow, pitch shifts by z·sin(pitch). Head outline, hair
 * and body stay put. Roll, scale and translation are one outer matrix. Ground-truth points come
 * from each layer's alpha and go through the same matrices, so they are exact.
 *
 * facesjs uses Math.random only; `withRandom` swaps in a seeded generator for `generate()`.
 * `faceToSvgString` mutates its argument (overrides, hat rule), so it always gets a clone.
 */
import { faceToSvgString, generate, type FaceConfig, type Feature, type Gender, type Race } from 'facesjs';
import { renderSvgAlpha } from '../runtime/image.ts';
import { UserError } from '../util/errors.ts';
import { chance, choice, type Rng } from '../util/rng.ts';
import type { Keypoints5, Point } from './types.ts';

export type Expression = 'neutral' | 'smile' | 'grin' | 'open' | 'frown' | 'closed' | 'blink';
/** mouth ids an identity may wear at rest (the expressive ones are swapped in per image) */
const NEUTRAL_MOUTHS = ['mouth2', 'mouth3', 'mouth4', 'mouth5', 'mouth6', 'mouth7', 'mouth8', 'straight', 'side', 'smile-closed'];
const EXPRESSION: Record<Expression, { mouths: string[] | null; eyeOpen: number; browRaise: number; browAngle: number }> = {
  neutral: { mouths: null, eyeOpen: 1, browRaise: 0, browAngle: 0 },
  smile: { mouths: ['smile-closed', 'smile'], eyeOpen: 0.88, browRaise: -2, browAngle: 0 },
  grin: { mouths: ['smile2', 'smile3', 'smile4'], eyeOpen: 0.78, browRaise: -3, browAngle: -2 },
  open: { mouths: ['mouth'], eyeOpen: 1.12, browRaise: -10, browAngle: -4 },
  frown: { mouths: ['closed', 'angry'], eyeOpen: 0.92, browRaise: 5, browAngle: 9 },
  closed: { mouths: ['straight'], eyeOpen: 1, browRaise: 0, browAngle: 0 },
  blink: { mouths: null, eyeOpen: 0.15, browRaise: 0, browAngle: 0 },
};
/** parts whose ids make an identity (SYNTHFACE-NOTES §2.1) */
export const ID_PARTS = ['head', 'eye', 'nose', 'hair', 'eyebrow', 'mouth', 'facialHair', 'ear'] as const;
export type IdPart = (typeof ID_PARTS)[number];
const RACES: Race[] = ['white', 'black', 'brown', 'asian'];

export interface SynthFace { face: FaceConfig; gender: Gender; race: Race }

export function withRandom<T>(rng: Rng, fn: () => T): T {
  const saved = Math.random;
  Math.random = rng;
  try { return fn(); } finally { Math.random = saved; }
}

const idOf = (f: FaceConfig, p: (typeof ID_PARTS)[number]) => (f[p] as { id: string }).id;

/** How different every pair of drawn identities must be. */
export interface DistinctRule {
  /** at least this many of the 8 identity part ids differ (demo set: 5) */
  minPartsDiffer: number;
  /** no two share eye + hair ids (demo set: true) */
  eyeHairUnique: boolean;
}
export const DEMO_DISTINCT: DistinctRule = { minPartsDiffer: 5, eyeHairUnique: true };

/** The identity's part ids in ID_PARTS order: what "the same person" means in this world. */
export const partIds = (f: FaceConfig): string[] => ID_PARTS.map((p) => idOf(f, p));

/** One identity drawn from `rng` (before any distinctness check). */
export function drawFace(rng: Rng): SynthFace | undefined {
  const gender: Gender = chance(rng, 0.5) ? 'female' : 'male';
  const race = choice(rng, RACES);
  const face = withRandom(rng, () => generate(undefined, { gender, race }));
  if (face.nose.id === 'nose4' || face.nose.id === 'pinocchio') return undefined; // off-centre noses
  face.mouth = { id: choice(rng, NEUTRAL_MOUTHS), flip: chance(rng, 0.5) };
  face.glasses = { id: 'none' };
  face.accessories = { id: 'none' };
  return { face, gender, race };
}

/**
 * `count` faces from one seeded stream, rejection-sampled until mutually distinct under `rule`
 * (default: the demo set's ≥ 5 of the 8 part ids differ, and no two share eye + hair).
 * `reject` can veto a face (e.g. one that belongs to another set).
 */
export function generateFaces(rng: Rng, count: number, rule: DistinctRule = DEMO_DISTINCT, reject?: (f: SynthFace) => boolean): SynthFace[] {
  const out: SynthFace[] = [];
  const ids: string[][] = [];
  for (let tries = 0; out.length < count; tries++) {
    if (tries > 1000 * (count + 1)) throw new UserError(`data synth: could not draw ${count} distinct identities; ask for fewer`);
    const f = drawFace(rng);
    if (!f || reject?.(f)) continue;
    const mine = partIds(f.face);
    const clash = ids.some((o) => {
      let differ = 0;
      for (let k = 0; k < mine.length; k++) if (o[k] !== mine[k]) differ++;
      return differ < rule.minPartsDiffer || (rule.eyeHairUnique && o[1] === mine[1] && o[3] === mine[3]);
    });
    if (!clash) { out.push(f); ids.push(mine); }
  }
  return out;
}

/**
 * A lookalike of `base`: the same person except `k` identity parts (1–3), each redrawn from
 * another random face of the same gender and race until its id differs. Colours, head width and
 * every other trait stay. Used for near-twin verification pairs and lookalike impostors.
 */
export function lookalikeFace(base: SynthFace, k: number, rng: Rng): { face: SynthFace; changed: IdPart[] } {
  if (!Number.isInteger(k) || k < 1 || k > ID_PARTS.length) throw new RangeError(`lookalike: k must be an integer in [1, ${ID_PARTS.length}], got ${k}`);
  const parts = [...ID_PARTS];
  const changed: IdPart[] = [];
  while (changed.length < k) {
    const p = parts[Math.floor(rng() * parts.length)]!;
    if (!changed.includes(p)) changed.push(p);
  }
  const face = structuredClone(base.face);
  for (const p of changed) {
    for (let t = 0; t < 200; t++) {
      const donor = withRandom(rng, () => generate(undefined, { gender: base.gender, race: base.race }));
      if (p === 'mouth') donor.mouth = { id: choice(rng, NEUTRAL_MOUTHS), flip: chance(rng, 0.5) };
      if (p === 'nose' && (donor.nose.id === 'nose4' || donor.nose.id === 'pinocchio')) continue;
      if (idOf(donor, p) === idOf(face, p)) continue;
      (face as unknown as Record<string, unknown>)[p] = structuredClone(donor[p]);
      if (p === 'hair') face.hair.color = base.face.hair.color; // a changed style, not a changed colour
      break;
    }
  }
  return { face: { face, gender: base.gender, race: base.race }, changed: changed.sort() };
}

/** What varies per image on top of the identity. */
export interface FaceLook {
  expression: Expression;
  /** index into the expression's mouth list */
  mouthPick: number;
  glasses: string;
  accessory: string;
  jersey: string;
  teamColors: [string, string, string];
}

export interface FacePose {
  /** degrees */ yaw: number; pitch: number; roll: number;
  /** face size: head width ≈ scale × image width × 0.75 */
  scale: number;
  /** offset of the face centre, fraction of the image size */
  tx: number; ty: number;
}

type Aff = [number, number, number, number, number, number]; // SVG matrix(a b c d e f)
const mul = (m: Aff, n: Aff): Aff => [
  m[0] * n[0] + m[2] * n[1], m[1] * n[0] + m[3] * n[1], m[0] * n[2] + m[2] * n[3],
  m[1] * n[2] + m[3] * n[3], m[0] * n[4] + m[2] * n[5] + m[4], m[1] * n[4] + m[3] * n[5] + m[5]];
const apply = (m: Aff, [x, y]: Point): Point => [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
const fmt = (m: Aff) => `matrix(${m.map((v) => +v.toFixed(4)).join(' ')})`;
const ID: Aff = [1, 0, 0, 1, 0, 0];

/** head rotation centre in facesjs units, and the radius used for eye/brow foreshortening */
const CX = 200, CY = 340, RADIUS = 125;
const DEG = Math.PI / 180;

/** The affine map of a part anchored at (ax, ay) with depth z, squeezed by (sx, sy), lifted by `raise`. */
function part(ax: number, ay: number, z: number, sx: number, sy: number, yaw: number, pitch: number, raise = 0, cosTerm = true): Aff {
  const dx = (cosTerm ? (ax - CX) * (Math.cos(yaw) - 1) : 0) + z * Math.sin(yaw);
  const dy = (cosTerm ? (ay - CY) * (Math.cos(pitch) - 1) : 0) + z * Math.sin(pitch) + raise;
  return [sx, 0, 0, sy, ax + dx - sx * ax, ay + dy - sy * ay];
}
const foreshorten = (x: number, yaw: number) => { const a = Math.asin((x - CX) / RADIUS); return Math.cos(a + yaw) / Math.cos(a); };

/** facesjs's hat rule (display.js), applied up front so the hair layer can be drawn alone. */
const HAT_SHORT = new Set(['afro', 'afro2', 'curly', 'curly2', 'curly3', 'faux-hawk', 'hair', 'high', 'juice', 'messy-short', 'messy', 'middle-part', 'parted', 'shaggy1', 'shaggy2', 'short3', 'spike', 'spike2', 'spike3', 'spike4']);
const HAT_FADE = new Set(['blowoutFade', 'curlyFade1', 'curlyFade2', 'dreads', 'fauxhawk-fade', 'tall-fade']);
function hairUnderHat(f: FaceConfig): void {
  if (!['hat', 'hat2', 'hat3', 'santa-hat'].includes(f.accessories.id)) return;
  f.hair.id = HAT_SHORT.has(f.hair.id) ? 'short' : HAT_FADE.has(f.hair.id) ? 'short-fade' : '__none';
}

const LAYERS: Feature[] = ['hairBg', 'body', 'jersey', 'ear', 'head', 'eyeLine', 'smileLine', 'miscLine', 'facialHair', 'eye', 'eyebrow', 'mouth', 'nose', 'hair', 'glasses', 'accessories'];
const layerCache = new Map<string, string>();

/** The SVG content (no outer <svg>) of one feature of `face`, in facesjs's 400×600 frame. */
function layer(face: FaceConfig, feature: Feature): string {
  const f = structuredClone(face) as unknown as Record<string, unknown>;
  for (const other of LAYERS) if (other !== feature) f[other] = { ...(f[other] as object), id: '__none' };
  const key = JSON.stringify(f) + feature;
  let s = layerCache.get(key);
  if (s === undefined) {
    const svg = faceToSvgString(structuredClone(f) as unknown as FaceConfig);
    s = svg.slice(svg.indexOf('>') + 1, svg.lastIndexOf('</svg>')).trim();
    if (layerCache.size > 5000) layerCache.clear();
    layerCache.set(key, s);
  }
  return s;
}

/** The identity's face as worn in one image. */
export function dressFace(base: FaceConfig, look: FaceLook): FaceConfig {
  const f = structuredClone(base);
  const ex = EXPRESSION[look.expression];
  if (ex.mouths) f.mouth = { id: ex.mouths[look.mouthPick % ex.mouths.length]!, flip: false };
  f.eyebrow = { ...f.eyebrow, angle: f.eyebrow.angle + ex.browAngle };
  f.glasses = { id: look.glasses };
  f.accessories = { id: look.accessory };
  f.jersey = { id: look.jersey };
  f.teamColors = look.teamColors;
  hairUnderHat(f);
  return f;
}

// ---- ground truth from layer alpha -------------------------------------------------------------
const alphaCache = new Map<string, Promise<{ width: number; alpha: Uint8Array }>>();
function alphaOf(content: string) {
  let p = alphaCache.get(content);
  if (!p) {
    p = renderSvgAlpha(`<svg xmlns="http://www.w3.org/2000/svg" width="400" height="600" viewBox="0 0 400 600">${content}</svg>`);
    if (alphaCache.size > 2000) alphaCache.clear();
    alphaCache.set(content, p);
  }
  return p;
}
/** alpha-weighted centroid of the pixels with x in [x0, x1) and y in [y0, y1); continuous coordinates */
function centroid(a: { width: number; alpha: Uint8Array }, x0: number, x1: number, y0 = 0, y1 = a.alpha.length / a.width): Point {
  let s = 0, sx = 0, sy = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
    const v = a.alpha[y * a.width + x]!;
    if (v > 0) { s += v; sx += v * (x + 0.5); sy += v * (y + 0.5); }
  }
  return s > 0 ? [sx / s, sy / s] : [(x0 + x1) / 2, (y0 + y1) / 2];
}
function opaqueBox(a: { width: number; alpha: Uint8Array }) {
  let x0 = Infinity, x1 = -1, y0 = Infinity, y1 = -1;
  const h = a.alpha.length / a.width;
  for (let y = 0; y < h; y++) for (let x = 0; x < a.width; x++) {
    if (a.alpha[y * a.width + x]! > 127) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  }
  return x1 < 0 ? undefined : { x0, x1, y0, y1 };
}
async function mouthCorners(content: string): Promise<[Point, Point]> {
  const a = await alphaOf(content);
  const b = opaqueBox(a);
  if (!b) return [[180, 440], [220, 440]];
  const edge = (x: number): Point => centroid(a, x, x + 1);
  return [edge(b.x0), edge(b.x1)];
}
async function noseTip(content: string): Promise<Point> {
  const a = await alphaOf(content);
  const b = opaqueBox(a);
  if (!b) return [200, 390];
  const h = b.y1 + 1 - b.y0;
  const c = centroid(a, b.x0, b.x1 + 1, Math.floor(b.y0 + 0.7 * h), Math.ceil(b.y0 + 0.9 * h));
  return [c[0], b.y0 + 0.8 * h];
}

/**
 * The posed face as an SVG group for a `size`×`size` image, plus its ground-truth 5 points in
 * pixels ((0,0) = centre of the top-left pixel). `defs` must go into the document's <defs>.
 */
export async function posedFace(face: FaceConfig, look: FaceLook, pose: FacePose, size: number): Promise<{ group: string; defs: string; keypoints: Keypoints5 }> {
  const yaw = pose.yaw * DEG, pitch = pose.pitch * DEG, roll = pose.roll * DEG;
  const ex = EXPRESSION[look.expression];
  const cy = Math.cos(yaw), cp = Math.cos(pitch);
  const k = (pose.scale * size) / 400;
  const outer = mul(mul([1, 0, 0, 1, size * (0.5 + pose.tx), size * (0.52 + pose.ty)],
    [Math.cos(roll) * k, Math.sin(roll) * k, -Math.sin(roll) * k, Math.cos(roll) * k, 0, 0]), [1, 0, 0, 1, -200, -330]);

  const eyeL = part(140, 310, 70, foreshorten(140, yaw), cp * ex.eyeOpen, yaw, pitch);
  const eyeR = part(260, 310, 70, foreshorten(260, yaw), cp * ex.eyeOpen, yaw, pitch);
  const s = Math.sin(yaw);
  const maps: Partial<Record<Feature, [Aff, Aff] | Aff>> = {
    ear: [part(55, 325, -35, Math.max(0.2, 1 + 0.8 * s), 1, yaw, pitch, 0, false), part(345, 325, -35, Math.max(0.2, 1 - 0.8 * s), 1, yaw, pitch, 0, false)],
    eyeLine: part(200, 315, 70, cy, cp, yaw, pitch),
    smileLine: part(200, 435, 75, cy, cp, yaw, pitch),
    miscLine: part(200, 330, 60, cy, cp, yaw, pitch),
    facialHair: part(200, 460, 35, (1 + cy) / 2, cp, yaw, pitch),
    eye: [eyeL, eyeR],
    eyebrow: [part(140, 270, 75, foreshorten(140, yaw), cp, yaw, pitch, ex.browRaise), part(260, 270, 75, foreshorten(260, yaw), cp, yaw, pitch, ex.browRaise)],
    mouth: part(200, 440, 80, cy, cp, yaw, pitch),
    nose: part(200, 370, 115, cy, cp, yaw, pitch),
    glasses: part(200, 310, 75, cy, cp, yaw, pitch),
  };
  let body = '';
  const contents: Partial<Record<Feature, string>> = {};
  for (const feature of LAYERS) {
    const c = layer(face, feature);
    contents[feature] = c;
    if (!c) continue;
    const m = maps[feature] ?? ID;
    if (typeof m[0] === 'number') body += m === ID ? c : `<g transform="${fmt(m as Aff)}">${c}</g>`;
    else {
      const [l, r] = m as [Aff, Aff];
      body += `<g transform="${fmt(l)}"><g clip-path="url(#cf-left)">${c}</g></g><g transform="${fmt(r)}"><g clip-path="url(#cf-right)">${c}</g></g>`;
    }
  }
  const defs = '<clipPath id="cf-left" clipPathUnits="userSpaceOnUse"><rect x="-1000" y="-1000" width="1200" height="3000"/></clipPath>'
    + '<clipPath id="cf-right" clipPathUnits="userSpaceOnUse"><rect x="200" y="-1000" width="1200" height="3000"/></clipPath>';

  const eyes = await alphaOf(contents.eye!);
  const [m0, m1] = await mouthCorners(contents.mouth!);
  const nose = await noseTip(contents.nose!);
  const local: [Aff, Point][] = [
    [eyeL, centroid(eyes, 0, 200)], [eyeR, centroid(eyes, 200, 400)],
    [maps.nose as Aff, nose], [maps.mouth as Aff, m0], [maps.mouth as Aff, m1]];
  const keypoints = local.map(([m, p]) => {
    const [x, y] = apply(mul(outer, m), p);
    return [+(x - 0.5).toFixed(2), +(y - 0.5).toFixed(2)] as Point;
  }) as Keypoints5;
  return { group: `<g transform="${fmt(outer)}">${body}</g>`, defs, keypoints };
}
