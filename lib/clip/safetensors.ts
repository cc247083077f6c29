/**
 * safetensors reader/writer (format: github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the raw little-endian tensor bytes. OpenAI's released CLIP weights are fp16; open_clip's hub
 * copies are fp32 or fp16; we upcast every float to F32 because the model computes in F32.
 * I64 is only accepted for BatchNorm's `num_batches_tracked`, which eval mode never reads.
 */
import { readFileSync, statSync } from 'node:fs';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';

export interface StoredTensor {
  shape: number[];
  /** dtype in the file (F32, F16, BF16, I64) */
  dtype: string;
  /** values as float32; undefined for skipped integer tensors */
  data?: Float32Array;
}

export type StateDict = Map<string, StoredTensor>;

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };

/** IEEE half → float, exact (subnormals included). */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function decode(dtype: string, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32': // copy out: the file offset need not be 4-byte aligned (x86/ARM are little-endian)
      new Uint8Array(out.buffer).set(bytes);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': { // bfloat16 is the top half of a float32
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    default:
      throw new Error(`unsupported dtype ${dtype}`);
  }
  return out;
}

/** Read every tensor of a .safetensors file, floats as F32. Errors name the file and the fix. */
export function readSafetensors(path: string): { tensors: StateDict; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    buf = readFileSync(path);
  } catch {
    throw new UserError(`${path}: weights file not found; pass --weights <file.safetensors> or run "clipface models fetch <id>"`);
  }
  const bad = (why: string) => new UserError(`${path}: not a valid safetensors file (${why}); re-download it ("clipface models fetch <id> --force")`);
  if (buf.length < 8) throw bad('file shorter than its 8-byte header length');
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length) throw bad(`header length ${headerLen} exceeds the file size ${buf.length}: truncated?`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  const dataStart = 8 + headerLen;
  const tensors: StateDict = new Map();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: off } = info ?? {};
    const width = DTYPE_BYTES[dtype];
    if (!width || !Array.isArray(shape) || !Array.isArray(off)) throw bad(`tensor "${name}" has a malformed entry`);
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const [begin, end] = off as [number, number];
    if (end - begin !== count * width) throw bad(`tensor "${name}": ${end - begin} bytes for shape [${shape}] ${dtype}`);
    if (dataStart + end > buf.length) throw bad(`tensor "${name}" runs past the end of the file: truncated download?`);
    const bytes = buf.subarray(dataStart + begin, dataStart + end);
    if (dtype === 'I64' || dtype === 'I32' || dtype === 'U8' || dtype === 'BOOL') {
      if (!name.endsWith('num_batches_tracked')) throw bad(`tensor "${name}" has integer dtype ${dtype}; CLIP weights are floating point`);
      tensors.set(name, { shape, dtype });
    } else {
      tensors.set(name, { shape, dtype, data: decode(dtype, bytes, count) });
    }
  }
  return { tensors, metadata: (header.__metadata__ ?? {}) as Record<string, string> };
}

/** Write F32 tensors as .safetensors, atomically (temp file + rename). */
export function writeSafetensors(path: string, tensors: Map<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string> = {}): void {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const n of names) {
    const t = tensors.get(n)!;
    header[n] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // pad so tensors stay 8-byte aligned
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let p = 8 + head.length;
  for (const n of names) {
    const d = tensors.get(n)!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, p);
    p += d.byteLength;
  }
  writeFileAtomic(path, out);
}
