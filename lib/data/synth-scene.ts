/**
 * Per-image nuisances of the synthetic dataset (SYNTHFACE-NOTES.md §2.2–2.3): view-dependent pose
 * with jitter, expression, glasses/hats, clothing, cluttered background, directional light and
 * vignette (in the SVG), then one JS pass over the raw RGB for gamma, contrast, brightness, colour
 * cast and Gaussian noise; blur and JPEG quality are applied by the encoder (runtime/image.ts).
 * Background clutter, noise, blur and JPEG are kept on on purpose: they make the cartoons more
 * photo-like, and detectors find them more often (clean flat renders: ~50 %).
 */
import { svgsIndex } from 'facesjs';
import type { RawRgb } from '../runtime/image.ts';
import { chance, choice, randInt, uniform, weighted, type Rng } from '../util/rng.ts';
import type { Expression, FaceLook, FacePose } from './synth-face.ts';
import type { View } from './types.ts';

/** base yaw / pitch per view in degrees (jitter ±7 / ±5 on top); yaw > 0 turns features to the image's right */
export const VIEW_POSE: Record<Exclude<View, 'other'>, [number, number]> = {
  front: [0, 0], above: [0, 20], below: [0, -20], left: [-28, 0], right: [28, 0],
};
const EXPRESSIONS: Record<Expression, number> = { neutral: 35, smile: 20, grin: 12, open: 9, frown: 10, closed: 10, blink: 4 };
const DEPLOY_EXPRESSIONS: Record<Expression, number> = { neutral: 60, smile: 20, grin: 5, open: 0, frown: 5, closed: 8, blink: 2 };
const GLASSES = ['glasses1-primary', 'glasses1-secondary', 'glasses2-black', 'glasses2-primary', 'glasses2-secondary'];
const HATS = ['hat', 'hat2', 'hat3', 'headband', 'headband-high'];

type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; angle: number; color: string; opacity: number }
  | { kind: 'ellipse'; x: number; y: number; rx: number; ry: number; color: string; opacity: number }
  | { kind: 'line'; x: number; y: number; x2: number; y2: number; width: number; color: string; opacity: number };

export interface Scene {
  background: { from: string; to: string; angle: number; clutter: Shape[] };
  light: { angle: number; strength: number; vignette: number };
  photo: { gamma: number; contrast: number; brightness: number; cast: [number, number, number]; noise: number; blur: number; jpeg: number };
}

export interface Shot { pose: FacePose; look: FaceLook; scene: Scene }

const r3 = (v: number) => Math.round(v * 1000) / 1000;
const hex = (rng: Rng, lo = 0, hi = 255) =>
  '#' + [0, 1, 2].map(() => randInt(rng, lo, hi).toString(16).padStart(2, '0')).join('');

function sampleBackground(rng: Rng, size: number): Scene['background'] {
  const clutter: Shape[] = [];
  const n = randInt(rng, 0, 13);
  for (let i = 0; i < n; i++) {
    const color = hex(rng), opacity = r3(uniform(rng, 0.3, 1));
    const x = r3(uniform(rng, 0, size)), y = r3(uniform(rng, 0, size));
    const kind = choice(rng, ['rect', 'ellipse', 'line'] as const);
    if (kind === 'rect') clutter.push({ kind, x, y, w: r3(uniform(rng, 0.05, 0.5) * size), h: r3(uniform(rng, 0.05, 0.5) * size), angle: r3(uniform(rng, -45, 45)), color, opacity });
    else if (kind === 'ellipse') clutter.push({ kind, x, y, rx: r3(uniform(rng, 0.03, 0.25) * size), ry: r3(uniform(rng, 0.03, 0.25) * size), color, opacity });
    else clutter.push({ kind, x, y, x2: r3(uniform(rng, 0, size)), y2: r3(uniform(rng, 0, size)), width: r3(uniform(rng, 1, 0.03 * size)), color, opacity });
  }
  return { from: hex(rng), to: hex(rng), angle: r3(uniform(rng, 0, 360)), clutter };
}

/** How often an image shows glasses / a hat or headband (the demo set: 10 % / 8 %). */
export interface OccluderRates { glasses: number; hat: number }
export const DEMO_OCCLUDERS: OccluderRates = { glasses: 0.1, hat: 0.08 };

function sampleLook(rng: Rng, deploy: boolean, rates: OccluderRates = DEMO_OCCLUDERS): FaceLook {
  const teamColors: [string, string, string] = [hex(rng), hex(rng), hex(rng)];
  return {
    expression: weighted(rng, deploy ? DEPLOY_EXPRESSIONS : EXPRESSIONS),
    mouthPick: randInt(rng, 0, 5),
    glasses: chance(rng, rates.glasses) ? choice(rng, GLASSES) : 'none',
    accessory: chance(rng, rates.hat) ? choice(rng, HATS) : 'none',
    jersey: choice(rng, svgsIndex.jersey),
    teamColors,
  };
}

function samplePhoto(rng: Rng, deploy: boolean): Scene['photo'] {
  return {
    gamma: r3(Math.exp(uniform(rng, -0.45, 0.45))),
    contrast: r3(uniform(rng, 0.65, 1.25)),
    brightness: r3(uniform(rng, -40, 40)),
    cast: [r3(uniform(rng, 0.9, 1.1)), r3(uniform(rng, 0.9, 1.1)), r3(uniform(rng, 0.9, 1.1))],
    noise: chance(rng, 0.5) ? r3(uniform(rng, 2, deploy ? 8 : 14)) : 0,
    blur: chance(rng, deploy ? 0.2 : 0.4) ? r3(uniform(rng, 0.3, deploy ? 1.2 : 2)) : 0,
    jpeg: deploy ? randInt(rng, 70, 92) : randInt(rng, 35, 95),
  };
}

/** Nuisances of one enrolment photo taken from `view`. */
export function sampleShot(rng: Rng, view: View, size: number, occluders: OccluderRates = DEMO_OCCLUDERS): Shot {
  const [yaw0, pitch0] = view === 'other' ? [uniform(rng, -28, 28), uniform(rng, -20, 20)] : VIEW_POSE[view];
  const pose: FacePose = {
    yaw: r3(yaw0 + uniform(rng, -7, 7)), pitch: r3(pitch0 + uniform(rng, -5, 5)), roll: r3(uniform(rng, -12, 12)),
    scale: r3(uniform(rng, 0.62, 0.85)), tx: r3(uniform(rng, -0.06, 0.06)), ty: r3(uniform(rng, -0.05, 0.05)),
  };
  const look = sampleLook(rng, false, occluders);
  const scene: Scene = {
    background: sampleBackground(rng, size),
    light: { angle: r3(uniform(rng, 0, 360)), strength: r3(uniform(rng, 0, 0.55)), vignette: r3(uniform(rng, 0, 0.5)) },
    photo: samplePhoto(rng, false),
  };
  return { pose, look, scene };
}

/** The fixed room of a deployment session (same camera, wall and lamp for every subject). */
export function sampleRoom(rng: Rng, size: number): Pick<Scene, 'background' | 'light'> {
  return { background: sampleBackground(rng, size), light: { angle: r3(uniform(rng, 0, 360)), strength: r3(uniform(rng, 0.1, 0.4)), vignette: r3(uniform(rng, 0.1, 0.35)) } };
}

/** One frame of a subject standing in front of the deployment camera: frontal, small jitter. */
export function sampleDeployFrame(rng: Rng, room: Pick<Scene, 'background' | 'light'>): Shot {
  const pose: FacePose = {
    yaw: r3(uniform(rng, -8, 8)), pitch: r3(uniform(rng, -6, 6)), roll: r3(uniform(rng, -5, 5)),
    scale: r3(uniform(rng, 0.66, 0.8)), tx: r3(uniform(rng, -0.04, 0.04)), ty: r3(uniform(rng, -0.03, 0.03)),
  };
  const look = sampleLook(rng, true);
  const light = { ...room.light, strength: r3(room.light.strength * uniform(rng, 0.9, 1.1)) };
  return { pose, look, scene: { background: room.background, light, photo: samplePhoto(rng, true) } };
}

function shapeSvg(s: Shape): string {
  const paint = `fill="${s.color}" fill-opacity="${s.opacity}"`;
  if (s.kind === 'rect') return `<rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" transform="rotate(${s.angle} ${s.x} ${s.y})" ${paint}/>`;
  if (s.kind === 'ellipse') return `<ellipse cx="${s.x}" cy="${s.y}" rx="${s.rx}" ry="${s.ry}" ${paint}/>`;
  return `<line x1="${s.x}" y1="${s.y}" x2="${s.x2}" y2="${s.y2}" stroke="${s.color}" stroke-opacity="${s.opacity}" stroke-width="${s.width}"/>`;
}

/** The whole picture as one SVG: background + clutter, the posed face, light gradient and vignette. */
export function sceneSvg(size: number, scene: Scene, face: { group: string; defs: string }): string {
  const { background: bg, light } = scene;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}"><defs>${face.defs}`
    + `<linearGradient id="cf-bg" gradientTransform="rotate(${bg.angle} 0.5 0.5)"><stop offset="0" stop-color="${bg.from}"/><stop offset="1" stop-color="${bg.to}"/></linearGradient>`
    + `<linearGradient id="cf-light" gradientTransform="rotate(${light.angle} 0.5 0.5)"><stop offset="0" stop-color="#000" stop-opacity="${light.strength}"/>`
    + `<stop offset="1" stop-color="#fff" stop-opacity="${r3(light.strength * 0.5)}"/></linearGradient>`
    + `<radialGradient id="cf-vig" r="0.75"><stop offset="0.55" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="${light.vignette}"/></radialGradient></defs>`
    + `<rect width="${size}" height="${size}" fill="url(#cf-bg)"/>${bg.clutter.map(shapeSvg).join('')}${face.group}`
    + `<rect width="${size}" height="${size}" fill="url(#cf-light)"/><rect width="${size}" height="${size}" fill="url(#cf-vig)"/></svg>`;
}

/** In place: gamma (lookup table), contrast, brightness, per-channel cast, Gaussian noise from `noiseRng`. */
export function photoPass(img: RawRgb, p: Scene['photo'], noiseRng: Rng): void {
  const lut = new Float64Array(256);
  for (let i = 0; i < 256; i++) lut[i] = 255 * Math.pow(i / 255, p.gamma);
  const d = img.data;
  let spare = NaN;
  for (let i = 0; i < d.length; i++) {
    let v = (lut[d[i]!]! - 128) * p.contrast + 128 + p.brightness;
    v *= p.cast[i % 3]!;
    if (p.noise > 0) {
      let g: number;
      if (Number.isNaN(spare)) { // Box–Muller, both values used
        const rad = Math.sqrt(-2 * Math.log(1 - noiseRng())), th = 2 * Math.PI * noiseRng();
        g = rad * Math.cos(th); spare = rad * Math.sin(th);
      } else { g = spare; spare = NaN; }
      v += g * p.noise;
    }
    d[i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  }
}
