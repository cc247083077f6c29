/**
 * The synthesis half of the image runtime now lives in lib/runtime/image.ts (the one file that
 * imports sharp). This file only re-exports it for the importers not yet moved (lib/data/synth*,
 * lib/pretrain/corpus.ts); import from image.ts in new code and delete this file when none is
 * left (issue 12).
 */
export { blurAndEncodeJpeg, renderSvgAlpha, renderSvgRgb, synthLibraryVersions, type RawRgb } from './image.ts';
