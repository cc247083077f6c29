/**
 * safetensors reader/writer (format: github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the raw little-endian tensor bytes. OpenAI's released CLIP weights are fp16; open_clip's hub
 * copies are fp32 or fp16; we upcast every float to F32 because the model computes in F32.
 * I64 is only accepted for BatchNorm's `num_batches_tracked`, which eval mode never reads.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
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

/** Float32 tensors on the host in PyTorch names and layout: what the towers' stateDict() export and writeSafetensors writes. */
export type HostStateDict = Map<string, { shape: number[]; data: Float32Array }>;

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

/**
 * The safetensors format's own rules: a header of at most 100 MB (the Rust reader's
 * MAX_HEADER_SIZE) that is a JSON object; every tensor's byte range inside the data buffer, of
 * exactly shape × dtype bytes; the ranges contiguous, non-overlapping and covering the whole
 * buffer (no holes: the format forbids them so a file cannot carry anything else). A file breaking
 * them is refused rather than read as wrong numbers.
 */
const MAX_HEADER = 100_000_000;

interface Entry { name: string; dtype: string; shape: number[]; begin: number; end: number }

function parseHeader(header: unknown, dataLength: number, bad: (why: string) => UserError): { entries: Entry[]; metadata: Record<string, string> } {
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad('the header is not a JSON object');
  const entries: Entry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const ok = info && typeof info === 'object' && !Array.isArray(info) && Object.values(info).every((v) => typeof v === 'string');
      if (!ok) throw bad('__metadata__ is not a map of strings');
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: off } = (info ?? {}) as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    const width = DTYPE_BYTES[dtype ?? ''];
    const counts = (a: unknown, n?: number): a is number[] => Array.isArray(a) && (n === undefined || a.length === n) && a.every((x) => Number.isSafeInteger(x) && x >= 0);
    if (!width || !counts(shape) || !counts(off, 2)) throw bad(`tensor "${name}" has a malformed entry (dtype, shape and data_offsets must be a known type, non-negative integers and [begin, end])`);
    const [begin, end] = off;
    if (begin > end) throw bad(`tensor "${name}": data_offsets [${begin}, ${end}] run backwards`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * width) throw bad(`tensor "${name}": ${end - begin} bytes for shape [${shape}] ${dtype}`);
    if (end > dataLength) throw bad(`tensor "${name}" runs past the end of the file (byte ${end} of ${dataLength}): truncated download?`);
    entries.push({ name, dtype: dtype!, shape, begin, end });
  }
  let at = 0;
  for (const e of [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (e.begin < at) throw bad(`tensor "${e.name}" overlaps the tensor before it (bytes ${e.begin}..${e.end})`);
    if (e.begin > at) throw bad(`a hole in the data buffer before tensor "${e.name}" (bytes ${at}..${e.begin} belong to no tensor)`);
    at = e.end;
  }
  if (at !== dataLength) throw bad(`the tensors cover ${at} of the ${dataLength} data bytes (the rest belongs to no tensor)`);
  return { entries, metadata };
}

function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! !== 0) return i; // NaN and ±Inf give NaN
  return -1;
}

/**
 * Read every tensor of a .safetensors file, floats as F32. Errors name the file and the fix.
 * Read through a file descriptor, one tensor at a time, so files over Node's 2 GiB single-buffer
 * limit load too; non-finite weights are an error naming the tensor (they would turn every
 * embedding into NaN, shown as null).
 */
export function readSafetensors(path: string): { tensors: StateDict; metadata: Record<string, string> } {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: weights file not found; pass --weights <file.safetensors> or run "clipface models fetch <id>"`);
    throw new UserError(`${path}: cannot read the weights file (${code ?? (e as Error).message}); check the path and its permissions`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${path}: not a file; pass the .safetensors file itself`);
    size = st.size;
    const bad = (why: string) => new UserError(`${path}: not a valid safetensors file (${why}); re-download it ("clipface models fetch <id> --force")`);
    const read = (pos: number, length: number): Buffer => {
      const b = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, b, got, length - got, pos + got);
        if (n === 0) throw bad(`the file ended at byte ${pos + got} while reading: truncated?`);
        got += n;
      }
      return b;
    };
    if (size < 8) throw bad('file shorter than its 8-byte header length');
    const headerLen = Number(read(0, 8).readBigUInt64LE(0));
    if (headerLen < 2 || headerLen > MAX_HEADER) throw bad(`header length ${headerLen} is outside 2..${MAX_HEADER} bytes`);
    if (8 + headerLen > size) throw bad(`header length ${headerLen} exceeds the file size ${size}: truncated?`);
    let header: unknown;
    try {
      header = JSON.parse(read(8, headerLen).toString('utf8'));
    } catch {
      throw bad('header is not JSON');
    }
    const dataStart = 8 + headerLen;
    const { entries, metadata } = parseHeader(header, size - dataStart, bad);
    const tensors: StateDict = new Map();
    for (const { name, dtype, shape, begin, end } of entries) {
      if (dtype === 'I64' || dtype === 'I32' || dtype === 'U8' || dtype === 'BOOL') {
        if (!name.endsWith('num_batches_tracked')) throw bad(`tensor "${name}" has integer dtype ${dtype}; CLIP weights are floating point`);
        tensors.set(name, { shape, dtype });
        continue;
      }
      const data = decode(dtype, read(dataStart + begin, end - begin), (end - begin) / DTYPE_BYTES[dtype]!);
      const i = firstNonFinite(data);
      if (i >= 0) throw new UserError(`${path}: tensor "${name}" holds ${data[i]} at index ${i}; weights must be finite numbers (a diverged or corrupt checkpoint?), use another file`);
      tensors.set(name, { shape, dtype, data });
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/** float → IEEE half, round to nearest even (numpy's astype(float16)); overflow → ±Infinity. */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff, mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) { // subnormal half (or zero)
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
  return sign | h;
}

/**
 * Write tensors as .safetensors, atomically (temp file + rename): F32 (default, exact) or F16
 * (half the size; each value rounded to nearest even, as torch's .half()).
 */
export function writeSafetensors(path: string, tensors: HostStateDict, metadata: Record<string, string> = {}, dtype: 'F32' | 'F16' = 'F32'): void {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  const width = dtype === 'F16' ? 2 : 4;
  let offset = 0;
  for (const n of names) {
    const t = tensors.get(n)!;
    header[n] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length * width] };
    offset += t.data.length * width;
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
    if (dtype === 'F16') { for (let i = 0; i < d.length; i++, p += 2) out.writeUInt16LE(floatToHalf(d[i]!), p); continue; }
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, p);
    p += d.byteLength;
  }
  writeFileAtomic(path, out);
}
