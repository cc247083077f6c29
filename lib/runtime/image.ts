/**
 * The one file that imports sharp (ARCHITECTURE.md "exactly one file imports each heavy runtime";
 * transformers.js keeps sharp inside `utils/image.js` the same way). Everything else takes an
 * `RgbImage`: 8-bit RGB, HWC, rows top to bottom, already upright.
 *
 * Decoding follows what CLIP's reference pipeline sees through PIL (`Image.open(p)` then
 * `clip.clip._transform`'s `convert('RGB')`), except where PIL is plainly wrong for photos:
 * - EXIF orientation: applied (sharp `autoOrient`), so pixels are upright. PIL does not rotate by
 *   itself, but every face pipeline does (transformers.js `RawImage` rotates too), and a sideways
 *   face is not a face to the detector.
 * - Alpha: DROPPED, not composited (PIL `convert('RGB')` on RGBA keeps R,G,B and discards A).
 *   Caveat: PIL resizes an RGBA image in premultiplied space before that convert, so the colour
 *   of transparent pixels can differ after CLIP's resize; opaque images are unaffected.
 * - 16-bit PNG: the high byte (v >> 8), which is also what PIL's "RGB;16B" unpacker keeps
 *   (measured: sharp gives 0x12FF -> 18, not round(0x12FF/257) = 19). 16-bit GREY differs: PIL
 *   opens it as mode I;16 and its convert('RGB') clamps at 255 instead of scaling; we scale.
 * - Greyscale: replicated into R=G=B (PIL `convert('RGB')` of mode L).
 * - ICC profiles: IGNORED for RGB/grey input, as PIL ignores them, so a Display-P3 photo gives
 *   the same numbers CLIP saw in training. CMYK is the exception: there is no RGB without a
 *   conversion, so sharp converts through the embedded profile (or its built-in CMYK profile).
 *   PIL's own CMYK->RGB is a naive formula; CMYK photos therefore differ slightly from PIL.
 * - Palette (P) images decode to RGB; note PIL's `resize` uses NEAREST for mode P, not BICUBIC.
 * - Multi-frame (GIF, TIFF): the first frame, as PIL.
 *
 * Every failure is a `UserError` with one line `<file>: <reason>`.
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { readFile } from 'node:fs/promises';
import { UserError } from '../util/errors.ts';

export interface RgbImage {
  width: number;
  height: number;
  /** RGB, HWC, 8-bit, length width*height*3 */
  data: Uint8Array;
  /** where it came from (file path, or a label for buffers); used in error messages */
  source: string;
}

/** Throws unless `img.data` holds exactly width × height × 3 bytes. */
export function assertRgb(img: Pick<RgbImage, 'width' | 'height' | 'data'>): void {
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`image buffer has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`);
  }
}

export interface DecodeOptions {
  /** refuse images with more pixels than this (default 100 megapixels; sharp's own default is 268 MP) */
  maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS = 100_000_000;

/** sharp's version, for env.json. */
export const sharpVersion: string = sharp.versions.sharp ?? 'unknown';

function fail(source: string, reason: string): never {
  throw new UserError(`${source}: ${reason.replace(/\s+/g, ' ').trim()}`);
}

/** Decode an image file. Throws UserError `<path>: <reason>` for anything that is not a usable image. */
export async function decodeImage(path: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(path, 'file not found');
    if (code === 'EISDIR') fail(path, 'is a directory, not an image file');
    if (code === 'EACCES' || code === 'EPERM') fail(path, 'permission denied');
    fail(path, `cannot read (${code ?? (e as Error).message})`);
  }
  return decodeImageBuffer(buf, path, opts);
}

/** Mostly printable bytes and no NUL in the first 512: someone saved text (HTML, JSON, an error page) as .jpg. */
function looksLikeText(buf: Uint8Array): boolean {
  const head = buf.subarray(0, 512);
  let printable = 0;
  for (const b of head) {
    if (b === 0) return false;
    if ((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d || b >= 0x80) printable++;
  }
  return printable >= 0.95 * head.length;
}

/**
 * A JPEG without its end-of-image marker or a PNG without its IEND chunk was cut short. Checked on
 * the bytes because libvips' error text is a process-wide buffer: with images decoding in
 * parallel, the message that reaches us can belong to another image or be empty.
 */
function looksTruncated(buf: Uint8Array): boolean {
  const n = buf.length;
  const tail = (k: number) => buf.subarray(Math.max(0, n - k));
  if (buf[0] === 0xff && buf[1] === 0xd8) return !tail(64).some((b, i, t) => b === 0xff && t[i + 1] === 0xd9);
  if (buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return !Buffer.from(tail(64)).includes('IEND');
  return false;
}

function explainSharpError(source: string, buf: Uint8Array, err: unknown): never {
  const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  if (/unsupported image format/i.test(msg)) {
    fail(source, looksLikeText(buf) ? 'not an image (text file?)' : 'not an image (unrecognised format)');
  }
  if (/pixel limit/i.test(msg)) fail(source, 'image has more pixels than the limit (decode option maxPixels)');
  if (/premature end|truncated|end of file|unexpected end/i.test(msg) || looksTruncated(buf)) fail(source, `truncated or corrupt image (${msg || 'cut short'})`);
  fail(source, `cannot decode image (${msg})`);
}

/** Decode encoded image bytes (JPEG, PNG, WebP, GIF, TIFF, AVIF, ...); `source` names it in errors. */
export async function decodeImageBuffer(buf: Uint8Array, source: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (buf.length === 0) fail(source, 'empty file (0 bytes)');
  let meta: Metadata;
  try {
    // header only: cheap, and lets us give the pixel-limit error with the actual size
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (e) {
    explainSharpError(source, buf, e);
  }
  const { width = 0, height = 0 } = meta;
  if (width * height > maxPixels) {
    fail(source, `${width}x${height} = ${(width * height / 1e6).toFixed(1)} megapixels exceeds the limit of ${(maxPixels / 1e6).toFixed(1)} (decode option maxPixels)`);
  }
  try {
    const { data, info } = await sharp(buf, {
      autoOrient: true,
      // 'error' also aborts on truncation ("premature end of JPEG image") but tolerates the
      // harmless libjpeg warnings (e.g. extraneous bytes) that PIL also accepts.
      failOn: 'error',
      limitInputPixels: maxPixels,
      ignoreIcc: meta.space !== 'cmyk',
    })
      .removeAlpha() // drop, don't composite: PIL convert('RGB')
      .toColourspace('srgb') // grey -> 3 channels, 16-bit -> 8-bit (high byte), CMYK -> RGB
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) fail(source, `decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length), source };
  } catch (e) {
    if (e instanceof UserError) throw e;
    explainSharpError(source, buf, e);
  }
}

function toSharp(img: RgbImage): Sharp {
  if (img.data.length !== img.width * img.height * 3) fail(img.source, `RGB buffer has ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
}

/** Lossless PNG bytes of an image (crop caches, figures, golden comparisons). */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  return toSharp(img).png().toBuffer();
}

/** JPEG bytes; quality 1..100 (default 90). Lossy: never use it for crops the model will read back. */
export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Buffer> {
  return toSharp(img).jpeg({ quality }).toBuffer();
}

/**
 * Resize to exactly width x height with sharp (Lanczos3 by default). For thumbnails and display
 * only: it is NOT PIL's bicubic, so model inputs must go through `lib/clip/preprocess.ts`.
 */
export async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data, info } = await toSharp(img).resize(width, height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length), source: img.source };
}

/** 2x3 affine matrix in OpenCV's convention: rows [a, b, c], [d, e, f]; maps SOURCE (x, y) to DESTINATION. */
export type Affine2x3 = readonly [readonly [number, number, number], readonly [number, number, number]];

export interface WarpOptions {
  /** 'constant' (default; insightface `norm_crop` uses cv2's borderValue=0) or 'replicate' (edge pixels). */
  border?: 'constant' | 'replicate';
  /** fill colour for border 'constant' (default black) */
  fill?: readonly [number, number, number];
}

/**
 * `cv2.warpAffine(img, M, (outW, outH), flags=INTER_LINEAR)` in plain JS: each destination pixel
 * (x, y) samples the source at M^-1 (x, y) with bilinear interpolation, pixel centres at integer
 * coordinates (OpenCV's convention, so insightface's `estimate_norm` matrices apply unchanged).
 * Like OpenCV, with border 'constant' a sample whose neighbours fall outside blends with the
 * fill colour. Done in JS rather than `sharp.affine` because sharp's affine takes a forward
 * matrix with its own output-canvas offsets and interpolator names; here the maths is explicit.
 * OpenCV quantises the sample position to 1/32 px and the weights to 15 bits, so results may
 * differ from cv2 by 1 level on some pixels; this version is the exact float bilinear.
 */
export function warpAffineRgb(img: RgbImage, m: Affine2x3, outW: number, outH: number, opts: WarpOptions = {}): RgbImage {
  const [[a, b, c], [d, e, f]] = m;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) fail(img.source, 'warpAffineRgb: matrix is not invertible');
  // inverse of [[a b c][d e f][0 0 1]]
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  const ic = -(ia * c + ib * f), iff = -(id * c + ie * f);
  const { width: W, height: H, data: src } = img;
  const replicate = opts.border === 'replicate';
  const fill = opts.fill ?? [0, 0, 0];
  const out = new Uint8Array(outW * outH * 3);
  const px = [0, 0, 0, 0]; // offsets of the 4 neighbours, -1 = outside (use fill)
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const sx = ia * x + ib * y + ic;
      const sy = id * x + ie * y + iff;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      for (let k = 0; k < 4; k++) {
        let xx = x0 + (k & 1), yy = y0 + (k >> 1);
        if (replicate) {
          xx = xx < 0 ? 0 : xx >= W ? W - 1 : xx;
          yy = yy < 0 ? 0 : yy >= H ? H - 1 : yy;
          px[k] = (yy * W + xx) * 3;
        } else {
          px[k] = xx < 0 || yy < 0 || xx >= W || yy >= H ? -1 : (yy * W + xx) * 3;
        }
      }
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const o = (y * outW + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const v00 = px[0]! < 0 ? fill[ch]! : src[px[0]! + ch]!;
        const v01 = px[1]! < 0 ? fill[ch]! : src[px[1]! + ch]!;
        const v10 = px[2]! < 0 ? fill[ch]! : src[px[2]! + ch]!;
        const v11 = px[3]! < 0 ? fill[ch]! : src[px[3]! + ch]!;
        const v = v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11;
        out[o + ch] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
      }
    }
  }
  return { width: outW, height: outH, data: out, source: img.source };
}

// ---------------------------------------------------------------------------------------------
// Synthesis (lib/data/synth*.ts): SVG → raster and the final blur + JPEG. Specific to the
// synthetic generator: librsvg rendering at an exact pixel size, alpha masks for ground-truth
// keypoints, deterministic encoder settings. For one build of sharp/libvips/librsvg/mozjpeg the
// same SVG and raw pixels give the same bytes (SYNTHFACE-NOTES.md §2.4); `synthLibraryVersions`
// goes into the manifest.
// ---------------------------------------------------------------------------------------------

export interface RawRgb {
  width: number;
  height: number;
  /** RGB, HWC, 8-bit */
  data: Uint8Array;
}

/** Versions that decide the pixels of a synthetic image. */
export const synthLibraryVersions: Record<string, string> = {
  sharp: sharp.versions.sharp ?? 'unknown',
  libvips: sharp.versions.vips ?? 'unknown',
  ...(sharp.versions.rsvg ? { librsvg: sharp.versions.rsvg } : {}),
  ...(sharp.versions.mozjpeg ? { mozjpeg: sharp.versions.mozjpeg } : {}),
};

/** Renders an SVG document (its width/height attributes give the size) to opaque RGB. */
export async function renderSvgRgb(svg: string): Promise<RawRgb> {
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 })
    .flatten({ background: '#000000' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Renders an SVG document and returns only its alpha channel (width × height bytes). */
export async function renderSvgAlpha(svg: string): Promise<{ width: number; height: number; alpha: Uint8Array }> {
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 })
    .ensureAlpha()
    .extractChannel(3)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, alpha: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Optional Gaussian blur (sigma ≥ 0.3; smaller = none), then baseline JPEG at `quality`. */
export async function blurAndEncodeJpeg(img: RawRgb, blurSigma: number, quality: number): Promise<Buffer> {
  let s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  if (blurSigma >= 0.3) s = s.blur(blurSigma);
  return s.jpeg({ quality: Math.round(quality), chromaSubsampling: '4:2:0' }).toBuffer();
}
