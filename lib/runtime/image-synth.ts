/**
 * The sharp side of the synthetic face generator (lib/data/synth*.ts): SVG → raster and the final
 * blur + JPEG. A second file that imports sharp, next to `image.ts` (decoding and encoding of real
 * photos), because these calls are specific to synthesis (librsvg rendering at an exact pixel
 * size, alpha masks for ground-truth keypoints, deterministic encoder settings) and the two halves
 * were written in parallel; nothing outside lib/data/synth* should use it. Like image.ts, it
 * hands out plain typed arrays only.
 *
 * Determinism: for one build of sharp/libvips/librsvg/mozjpeg the same SVG and raw pixels give the
 * same bytes (SYNTHFACE-NOTES.md §2.4); `synthLibraryVersions` goes into the manifest.
 */
import sharp from 'sharp';

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
