/**
 * The embedded tfjs face models, and the only file that loads the @vladmandic/face-api and
 * @vladmandic/human bundles (their detectors in lib/preprocess/detectors/, their recognisers in
 * lib/baselines/tfjs-embedders.ts): package folders, the bundles on our own tfjs engine, a tfjs
 * load router that reads graph models from disk, image → tensor, and one queue for the engine.
 *
 * Why a router: @vladmandic/human loads its models with `new tf.GraphModel(url)` and fetches `http`
 * URLs (src/tfjs/load.ts). Without tfjs-node there is no `file://` handler in tfjs, so we register
 * one for our own scheme `clipface-local://<absolute path>` and point human's `modelBasePath` at
 * it. No network, no global `fetch` patch. face-api has its own `loadFromDisk` (node `fs`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as FaceApiModule from '@vladmandic/face-api';
import { UserError } from '../util/errors.ts';
import { assertRgb, type RgbImage } from './image.ts';
import { initTf, tf, type Tensor } from './tf.ts';

export const LOCAL_SCHEME = 'clipface-local://';
const require = createRequire(import.meta.url);

/** face-api's module type (its nets, options and input types). */
export type FaceApi = typeof FaceApiModule;
export type { TNetInput as FaceApiInput } from '@vladmandic/face-api';

/**
 * Folder of an installed package: node's own search path (`require.resolve.paths`), looking for
 * `<node_modules>/<name>/package.json` (human's "exports" map hides its package.json).
 */
export function packageDir(name: string): string {
  for (const dir of require.resolve.paths(name) ?? []) {
    if (existsSync(join(dir, name, 'package.json'))) return join(dir, name);
  }
  throw new UserError(`package ${name} is not installed; run "npm ci"`);
}

export function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version: string }).version;
}

let routerRegistered = false;

/** Register the `clipface-local://` load router once (tfjs-core `io.registerLoadRouter`). */
function registerLocalRouter(): void {
  if (routerRegistered) return;
  routerRegistered = true;
  // a router returns null for URLs it does not handle (tfjs-core io/router_registry.ts); the
  // published type says IOHandler, hence the cast
  tf.io.registerLoadRouter(((url: string | string[]) => {
    if (typeof url !== 'string' || !url.startsWith(LOCAL_SCHEME)) return null;
    const file = url.slice(LOCAL_SCHEME.length);
    const handler: tf.io.IOHandler = {
      async load() {
        const json = JSON.parse(readFileSync(file, 'utf8')) as tf.io.ModelJSON;
        const dir = dirname(file);
        return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const specs = manifest.flatMap((g) => g.weights);
          const all = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p)))));
          const buf = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
          return [specs, buf];
        });
      },
    };
    return handler;
  }) as Parameters<typeof tf.io.registerLoadRouter>[0]);
}

/** Initialise tfjs (lib/runtime/tf.ts picks the backend) and the local model router. */
export async function initTfModels(): Promise<string> {
  const info = await initTf();
  registerLocalRouter();
  return info.name;
}

/**
 * face-api's `face-api.node-wasm.js` bundle: it requires our own `@tensorflow/tfjs`, so it shares
 * the engine and backend lib/runtime/tf.ts chose. One module instance per process (node's require
 * cache); each caller loads the nets it needs from `faceApiModelDir()`.
 */
export async function loadFaceApi(): Promise<FaceApi> {
  await initTfModels();
  return require(join(packageDir('@vladmandic/face-api'), 'dist', 'face-api.node-wasm.js')) as FaceApi;
}

/** face-api's weights folder, for `net.loadFromDisk`. */
export function faceApiModelDir(): string {
  return join(packageDir('@vladmandic/face-api'), 'model');
}

/** Human's `human.node-wasm.js` bundle on our tfjs engine, and the backend name its config needs. */
export async function loadHuman<H>(): Promise<{ backend: string; Human: new (config: unknown) => H }> {
  const backend = await initTfModels();
  const m = require(join(packageDir('@vladmandic/human'), 'dist', 'human.node-wasm.js')) as { Human: new (config: unknown) => H };
  return { backend, Human: m.Human };
}

/** Human's models folder (graph models, loaded through the `clipface-local://` router). */
export function humanModelDir(): string {
  return join(packageDir('@vladmandic/human'), 'models');
}

/** [h, w, 3] int32 tensor of the pixels; the caller disposes it. */
export function toTensor(img: Pick<RgbImage, 'width' | 'height' | 'data'>): Tensor {
  assertRgb(img);
  return tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
}

/**
 * One tfjs engine runs every model; interleaving two async pipelines on it gains nothing (the wasm
 * kernels run on one thread) and makes results depend on timing. All embedded detectors queue here.
 */
let queue: Promise<unknown> = Promise.resolve();
export function serial<T>(fn: () => Promise<T>): Promise<T> {
  const p = queue.then(fn, fn);
  queue = p.catch(() => undefined);
  return p;
}

export { tf };
