/** sha256 of files, hex: content ids of weights, crops and dataset images, written once. */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';

/** sha256 of a file, streamed (weights files can be GBs). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 of a small file, read whole (crops, dataset images, detector models). */
export function sha256FileSync(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
