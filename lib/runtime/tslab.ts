/**
 * The running tslab kernel, and the only file that touches tslab. What is sent to it (figures,
 * tables, and the offline-page fallback outside a kernel) is built above this floor, in
 * lib/report/display.ts.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

export type Bundle = Record<string, unknown>;
type Writer = (msg: { data: Bundle; metadata: Record<string, unknown>; transient: { display_id: string } }, update: boolean) => void;

export interface Kernel { send(bundle: Bundle): void }

/**
 * The running kernel, or null. tslab sets `globalThis.__tslab__` before it runs a cell; without
 * it we are not in a kernel and never load tslab. In a kernel, the module that owns the live
 * `lastWriteDisplayData` (tslab/dist/jupyter.js, reassigned per execution) carries several MIME
 * types in one display_data message; tslab's public `display.raw` can only send one.
 */
export async function kernel(): Promise<Kernel | null> {
  if (process.env.CLIPFACE_DISPLAY === 'file' || !('__tslab__' in globalThis)) return null;
  let tslab: { display: { raw(type: string, b: string): unknown } } | undefined;
  try {
    // tslab hooks require('tslab') to its own instance; under an ESM loader this is node_modules' copy
    tslab = (await import('tslab')) as unknown as typeof tslab;
  } catch {
    tslab = undefined;
  }
  const cache = createRequire(import.meta.url).cache;
  const live = Object.entries(cache).find(([path, m]) =>
    /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(path) && typeof (m?.exports as { lastWriteDisplayData?: unknown })?.lastWriteDisplayData === 'function')?.[1]?.exports as
    { lastWriteDisplayData: Writer } | undefined;
  if (live) {
    return { send: (data) => live.lastWriteDisplayData({ data, metadata: {}, transient: { display_id: randomBytes(8).toString('hex') } }, false) };
  }
  const display = tslab?.display;
  if (!display) return null;
  // one MIME type only: the richest every front end renders
  return { send: (data) => display.raw('text/html', String(data['text/html'] ?? data['text/plain'])) };
}

/** Is this code running inside a tslab kernel cell right now? */
export async function inKernel(): Promise<boolean> {
  return (await kernel()) !== null;
}
