/**
 * CLIP image preprocessing, exactly `clip.clip._transform(n_px)` (openai/CLIP d05afc4):
 *   Resize(n_px, BICUBIC) -> CenterCrop(n_px) -> convert('RGB') -> ToTensor -> Normalize(mean, std)
 * as run by torchvision 0.14 on a PIL image with Pillow 9.4 (the golden set's versions).
 *
 * The resize is a port of Pillow's antialiased resampler (src/libImaging/Resample.c:
 * `precompute_coeffs`, `normalize_coeffs_8bpc`, `ImagingResampleHorizontal_8bpc` /
 * `ImagingResampleVertical_8bpc`, `ImagingResampleInner`), so crops are byte-identical to PIL's:
 * sharp/libvips bicubic differs by a few uint8 levels (golden README), which moves embeddings.
 *
 * mean/std/size come from the weights' preprocess config (open_clip `PreprocessCfg`), never
 * hard-coded here.
 */
import { decodeImage, type RgbImage } from '../runtime/image.ts';

/** The fields of the weights' preprocess config this file needs (`PreprocessCfg` in config.ts fits). */
export interface ClipPreprocessCfg {
  size: number;
  mean: readonly number[];
  std: readonly number[];
}

// ---------------------------------------------------------------- Pillow's resampler

/** Pillow `bicubic_filter`: Keys cubic convolution with a = -0.5, support 2. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** 8 bits for the result, 2 for overflow of negative lobes / sums above 1 (Resample.c). */
const PRECISION_BITS = 32 - 8 - 2;

interface Coeffs {
  /** per output index: first input index */
  min: Int32Array;
  /** per output index: number of taps */
  count: Int32Array;
  /** fixed-point weights, `ksize` per output index */
  k: Int32Array;
  ksize: number;
}

/**
 * Pillow `precompute_coeffs` (box = [0, inSize]) followed by `normalize_coeffs_8bpc`.
 * All in doubles as in C; `(int)` casts are truncations toward zero (Math.trunc).
 */
function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale; // widen the kernel only when downscaling (antialias)
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const min = new Int32Array(outSize), count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = bicubic((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x]! / ww : w[x]!;
      // normalize_coeffs_8bpc: round half away from zero into fixed point
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    min[xx] = xmin;
    count[xx] = xmax;
  }
  return { min, count, k, ksize };
}

/** Pillow `clip8`: the accumulator carries PRECISION_BITS fraction bits; clamp to 0..255. */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS; // arithmetic shift = floor, as in C on these compilers
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * One horizontal pass over rows [y0, y1) of `src` (width sw), producing output columns
 * [x0, x1). Pillow computes every column; each output pixel depends only on its own taps, so
 * computing just the ones the centre crop keeps gives the same bytes.
 */
function resampleHorizontal(src: Uint8Array, sw: number, y0: number, y1: number, c: Coeffs, x0: number, x1: number): Uint8Array {
  const ow = x1 - x0;
  const out = new Uint8Array(ow * (y1 - y0) * 3);
  const half = 1 << (PRECISION_BITS - 1); // rounding: + 0.5 before the shift
  for (let y = y0; y < y1; y++) {
    const row = y * sw * 3;
    const orow = (y - y0) * ow * 3;
    for (let xx = x0; xx < x1; xx++) {
      const xmin = c.min[xx]!, n = c.count[xx]!, kb = xx * c.ksize;
      let s0 = half, s1 = half, s2 = half;
      for (let x = 0; x < n; x++) {
        const kv = c.k[kb + x]!, p = row + (xmin + x) * 3;
        s0 += src[p]! * kv;
        s1 += src[p + 1]! * kv;
        s2 += src[p + 2]! * kv;
      }
      const o = orow + (xx - x0) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/** One vertical pass: output rows [yy0, yy1) of a `w`-wide image whose row 0 is source row `rowOffset`. */
function resampleVertical(src: Uint8Array, w: number, rowOffset: number, c: Coeffs, yy0: number, yy1: number): Uint8Array {
  const out = new Uint8Array(w * (yy1 - yy0) * 3);
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = yy0; yy < yy1; yy++) {
    const ymin = c.min[yy]! - rowOffset, n = c.count[yy]!, kb = yy * c.ksize;
    const orow = (yy - yy0) * w * 3;
    for (let i = 0; i < w * 3; i++) {
      let s = half;
      for (let y = 0; y < n; y++) s += src[(ymin + y) * w * 3 + i]! * c.k[kb + y]!;
      out[orow + i] = clip8(s);
    }
  }
  return out;
}

/**
 * PIL `img.resize((outW, outH), BICUBIC)` followed by `.crop((left, top, left + cropW, top + cropH))`.
 * Pass order as `ImagingResampleInner`: horizontal first (only if the width changes), rounded
 * and clipped to uint8, then vertical (only if the height changes) on the rows it needs.
 */
export function pilResizeBicubicCrop(img: RgbImage, outW: number, outH: number, left = 0, top = 0, cropW = outW, cropH = outH): RgbImage {
  const { width: W, height: H } = img;
  let data = img.data;
  let w = W, x0 = left, rowOffset = 0;
  const needH = outW !== W, needV = outH !== H;
  const cv = needV ? precomputeCoeffs(H, outH) : null;
  // source rows the vertical pass will read for the cropped output rows
  const r0 = cv ? cv.min[top]! : top;
  const r1 = cv ? cv.min[top + cropH - 1]! + cv.count[top + cropH - 1]! : top + cropH;
  if (needH) {
    data = resampleHorizontal(data, W, r0, r1, precomputeCoeffs(W, outW), left, left + cropW);
    w = cropW;
    x0 = 0;
    rowOffset = r0;
  }
  if (cv) {
    if (!needH) { // crop columns first; the vertical pass is per column
      data = cropRgb(data, W, x0, 0, cropW, H);
      w = cropW;
      x0 = 0;
    }
    data = resampleVertical(data, w, rowOffset, cv, top, top + cropH);
  } else {
    data = cropRgb(data, w, x0, top - rowOffset, cropW, cropH);
  }
  return { width: cropW, height: cropH, data, source: img.source };
}

function cropRgb(src: Uint8Array, sw: number, x: number, y: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) out.set(src.subarray(((y + r) * sw + x) * 3, ((y + r) * sw + x + w) * 3), r * w * 3);
  return out;
}

// ---------------------------------------------------------------- torchvision Resize + CenterCrop

/**
 * Python 3 `round()`: halves go to the even neighbour. torchvision's CenterCrop computes
 * `int(round((w - size) / 2.0))`, so a 373-wide image crops at left = round(74.5) = 74, where
 * JavaScript's Math.round gives 75: a one-pixel shift of the whole crop. The trap only shows for
 * odd (w - size), e.g. the golden `extra0_500x300.png`.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `Resize(size, BICUBIC)` then `CenterCrop(size)` on a PIL image: the short side becomes `size`,
 * the long side `int(size * long / short)` (truncation, torchvision `_compute_resized_output_size`),
 * then the centred size x size window. An input already size x size is returned unresampled.
 */
export function clipCrop(img: RgbImage, size = 224): RgbImage {
  const { width: w, height: h } = img;
  if (w === size && h === size) return img;
  const short = Math.min(w, h), long = Math.max(w, h);
  const newLong = Math.trunc((size * long) / short);
  const [rw, rh] = w <= h ? [size, newLong] : [newLong, size];
  const left = roundHalfEven((rw - size) / 2), top = roundHalfEven((rh - size) / 2);
  return pilResizeBicubicCrop(img, rw, rh, left, top, size, size);
}

// ---------------------------------------------------------------- ToTensor + Normalize

/**
 * `ToTensor` (uint8 / 255 in float32) then `Normalize` ((x - mean) / std in float32), HWC -> CHW.
 * Each step is rounded to float32 with Math.fround, as torch does elementwise in float32, so the
 * result matches the golden pixel_values bit for bit.
 */
export function toPixelValues(img: RgbImage, mean: readonly number[], std: readonly number[], out?: Float32Array, offset = 0): Float32Array {
  const n = img.width * img.height;
  const dst = out ?? new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]!), s = Math.fround(std[c]!);
    const base = offset + c * n;
    for (let i = 0; i < n; i++) {
      const x = Math.fround(img.data[i * 3 + c]! / 255);
      dst[base + i] = Math.fround(x - m) / s;
    }
  }
  return dst;
}

/** Decode (if given a path), crop and normalise one image: CHW float32 of length 3*size*size. */
export async function preprocessForClip(input: string | RgbImage, cfg: ClipPreprocessCfg): Promise<Float32Array> {
  const img = typeof input === 'string' ? await decodeImage(input) : input;
  return toPixelValues(clipCrop(img, cfg.size), cfg.mean, cfg.std);
}

/** A batch as one NCHW float32 buffer, ready for a tensor. Images are decoded one at a time. */
export async function preprocessBatch(inputs: readonly (string | RgbImage)[], cfg: ClipPreprocessCfg): Promise<{ data: Float32Array; shape: [number, 3, number, number] }> {
  const per = 3 * cfg.size * cfg.size;
  const data = new Float32Array(inputs.length * per);
  for (let i = 0; i < inputs.length; i++) {
    const inp = inputs[i]!;
    const img = typeof inp === 'string' ? await decodeImage(inp) : inp;
    toPixelValues(clipCrop(img, cfg.size), cfg.mean, cfg.std, data, i * per);
  }
  return { data, shape: [inputs.length, 3, cfg.size, cfg.size] };
}
