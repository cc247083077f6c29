/**
 * Face alignment: a least-squares similarity transform (Umeyama) from 5 detected keypoints onto the
 * ArcFace template, then an affine warp. Pure math here; the pixels are warped by the image runtime.
 *
 * Mirrors insightface `python-package/insightface/utils/face_align.py`:
 *   estimate_norm(lmk, image_size) = skimage SimilarityTransform().estimate(lmk, arcface_dst · size/112)
 *   norm_crop(img, lmk)          = cv2.warpAffine(img, M, (size, size), borderValue=0)
 * with one addition, `margin` (see `templateFor`), because CLIP was trained on loose photos rather
 * than on tight ArcFace crops; the margin is an experiment parameter.
 */

export type Point = [number, number];
/** Row-major 2×3 affine matrix [[a, b, c], [d, e, f]]: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine = [[number, number, number], [number, number, number]];

/**
 * insightface `arcface_dst` (112×112, pixel coordinates): eye, eye, nose tip, mouth corner,
 * mouth corner, each pair ordered left to right as seen in the image.
 */
export const ARCFACE_TEMPLATE_112: readonly Point[] = Object.freeze([
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
] as Point[]);

/** Margin used for CLIP crops when nothing else is said (see `templateFor`). */
export const DEFAULT_CLIP_MARGIN = 0.25;

/**
 * The template for an output of `size`×`size` pixels with `margin` extra context.
 *
 * margin = 0 is insightface's tight crop (template × size/112, the `mode='arcface'` rule). A margin
 * m > 0 shrinks the template about the crop centre by 1/(1+m), so the crop shows (1+m)× the field of
 * view of the ArcFace crop in each direction (m = 0.25: 12.5 % more on every side). Negative margins
 * (down to −0.5) zoom in.
 */
export function templateFor(size: number, margin = 0): Point[] {
  if (!(size > 0) || !Number.isFinite(size)) throw new RangeError(`crop size must be a positive number, got ${size}`);
  if (!(margin > -0.5) || !Number.isFinite(margin)) throw new RangeError(`margin must be a number > -0.5, got ${margin}`);
  const c = size / 2;
  // insightface face_align.estimate_norm: a multiple of 112 scales arcface_dst by size/112; a
  // multiple of 128 scales it by size/128 and shifts x by 8·size/128 (the 112 template centred in
  // a 128 crop). Other sizes (CLIP's 64, 96, …; insightface refuses them) scale the 112 template.
  const by128 = size % 112 !== 0 && size % 128 === 0;
  const r = by128 ? size / 128 : size / 112;
  const base = ARCFACE_TEMPLATE_112.map(([x, y]) => [x * r + (by128 ? 8 * r : 0), y * r] as Point);
  return base.map(([x, y]) => [(x - c) / (1 + margin) + c, (y - c) / (1 + margin) + c] as Point);
}

/**
 * Least-squares similarity (uniform scale, rotation, translation; no reflection) taking `src` onto
 * `dst`, as skimage `SimilarityTransform.estimate` → `_umeyama(src, dst, estimate_scale=True)`.
 *
 * In 2-D the proper similarities are exactly x' = a·x − b·y + tx, y' = b·x + a·y + ty (complex
 * multiplication by a+ib), so the Umeyama optimum — SVD of the cross-covariance with the
 * reflection-fixing sign on the smaller singular value — has this closed form: with centred
 * points, a = Σ(s·d)/Σ|s|², b = Σ(s×d)/Σ|s|². A mirrored input therefore gets the best rotation,
 * never a flip. Needs ≥ 2 distinct source points.
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Affine {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new RangeError(`need ≥ 2 matching point pairs, got ${n} and ${dst.length}`);
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) { sx += src[i][0]; sy += src[i][1]; dx += dst[i][0]; dy += dst[i][1]; }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let dot = 0, cross = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i][0] - sx, y = src[i][1] - sy;
    const u = dst[i][0] - dx, v = dst[i][1] - dy;
    dot += x * u + y * v;
    cross += x * v - y * u;
    norm += x * x + y * y;
  }
  if (!(norm > 1e-12)) throw new RangeError('source keypoints coincide; no similarity transform');
  const a = dot / norm, b = cross / norm;
  return [
    [a, -b, dx - (a * sx - b * sy)],
    [b, a, dy - (b * sx + a * sy)],
  ];
}

export function applyAffine(m: Affine, p: Point): Point {
  return [m[0][0] * p[0] + m[0][1] * p[1] + m[0][2], m[1][0] * p[0] + m[1][1] * p[1] + m[1][2]];
}

export function invertAffine(m: Affine): Affine {
  const [[a, b, c], [d, e, f]] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-15) throw new RangeError('affine matrix is singular');
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  return [
    [ia, ib, -(ia * c + ib * f)],
    [id, ie, -(id * c + ie * f)],
  ];
}

/** Scale of a similarity matrix (output pixels per source pixel). */
export function affineScale(m: Affine): number {
  return Math.hypot(m[0][0], m[1][0]);
}

export interface AlignSpec {
  /** output side in pixels: 224 for CLIP, 112 for ArcFace-style recognisers */
  size: number;
  /** extra context around the ArcFace template (0 = insightface's tight crop) */
  margin: number;
}

/** The source→crop matrix for 5 keypoints (cv2.warpAffine convention: maps source to output). */
export function alignMatrix(keypoints5: readonly Point[], spec: AlignSpec): Affine {
  if (keypoints5.length !== 5) throw new RangeError(`need 5 keypoints, got ${keypoints5.length}`);
  return estimateSimilarity(keypoints5, templateFor(spec.size, spec.margin));
}

/** Where 5 source keypoints land in the aligned crop (crop pixels; for drawing them on it). */
export function cropKeypoints(keypoints5: readonly Point[] | undefined, spec: AlignSpec): Point[] {
  if (!keypoints5) return [];
  const m = alignMatrix(keypoints5, spec);
  return keypoints5.map((p) => applyAffine(m, p));
}

/** Mean distance (pixels) between warped keypoints and the template: the fit residual. */
export function alignResidual(keypoints5: readonly Point[], m: Affine, spec: AlignSpec): number {
  const t = templateFor(spec.size, spec.margin);
  let s = 0;
  keypoints5.forEach((p, i) => { const q = applyAffine(m, p); s += Math.hypot(q[0] - t[i][0], q[1] - t[i][1]); });
  return s / keypoints5.length;
}
