/**
 * Reliability, weights files (issue 13 item 7): the safetensors reader refuses what the format
 * forbids (offsets out of range, overlapping, with holes, a header that is not an object or is
 * huge) and non-finite weights, naming the file and the tensor, instead of returning wrong or
 * null logits; a file too large for one Node buffer is read or reported as what it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../lib/clip/safetensors.ts';
import { UserError } from '../../lib/util/errors.ts';
import { assertUserError, clipface } from './cli.ts';

const work = mkdtempSync(join(tmpdir(), 'clipface-rel-st-'));

/** A file with the given header object and `data` bytes after it, written byte for byte. */
function raw(name: string, header: unknown, data = Buffer.alloc(0), headerText = JSON.stringify(header)): string {
  const head = Buffer.from(headerText, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  const p = join(work, name);
  writeFileSync(p, Buffer.concat([len, head, data]));
  return p;
}

const f32 = (...xs: number[]) => Buffer.from(Float32Array.from(xs).buffer);
const t = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
const refused = (p: string, re: RegExp) => assert.throws(() => readSafetensors(p), (e: unknown) => e instanceof UserError && e.message.startsWith(p) && re.test(e.message), p);

test('a well-formed file still reads (two tensors, metadata, header padding)', () => {
  const p = join(work, 'ok.safetensors');
  writeSafetensors(p, new Map([['a', { shape: [2], data: Float32Array.of(1, 2) }], ['b', { shape: [1, 1], data: Float32Array.of(3) }]]), { k: 'v' });
  const r = readSafetensors(p);
  assert.deepEqual([...r.tensors.get('a')!.data!], [1, 2]);
  assert.deepEqual(r.tensors.get('b')!.shape, [1, 1]);
  assert.deepEqual(r.metadata, { k: 'v' });
});

test('negative, fractional or reversed offsets are refused', () => {
  refused(raw('neg.safetensors', { a: t(-4, 4, [2]) }, f32(1, 2)), /tensor "a" has a malformed entry/);
  refused(raw('frac.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, f32(1, 2)), /malformed entry/);
  refused(raw('rev.safetensors', { a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, f32(1, 2)), /run backwards/);
});

test('overlapping tensors are refused (they read each other\'s bytes as weights)', () => {
  refused(raw('overlap.safetensors', { a: t(0, 8), b: t(4, 12) }, f32(1, 2, 3)), /tensor "b" overlaps/);
  refused(raw('alias.safetensors', { a: t(0, 8), b: t(0, 8) }, f32(1, 2, 3, 4)), /overlaps/);
});

test('holes and trailing bytes are refused: the tensors must cover the data buffer', () => {
  refused(raw('hole.safetensors', { a: t(0, 4), b: t(8, 12) }, f32(1, 2, 3)), /a hole in the data buffer before tensor "b"/);
  refused(raw('tail.safetensors', { a: t(0, 4) }, f32(1, 2)), /the tensors cover 4 of the 8 data bytes/);
});

test('a header that is null, a list, or has bad metadata is refused, not a TypeError', () => {
  refused(raw('null.safetensors', null), /the header is not a JSON object/);
  refused(raw('list.safetensors', [1, 2]), /not a JSON object/);
  refused(raw('meta.safetensors', { __metadata__: { step: 3 } }), /__metadata__ is not a map of strings/);
  refused(raw('entry-null.safetensors', { a: null }), /tensor "a" has a malformed entry/);
});

test('a header length beyond the format\'s 100 MB bound is refused before anything is allocated', () => {
  const p = join(work, 'huge-header.safetensors');
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(2n ** 40n);
  writeFileSync(p, b);
  refused(p, /header length 1099511627776 is outside 2\.\.100000000 bytes/);
});

test('NaN or Inf weights are an error naming the tensor (F32 and F16)', () => {
  refused(raw('nan.safetensors', { good: t(0, 4), bad: t(4, 12) }, f32(1, 2, NaN)), /tensor "bad" holds NaN at index 1; weights must be finite/);
  const half = Buffer.alloc(4);
  half.writeUInt16LE(0x3c00, 0); // 1.0
  half.writeUInt16LE(0x7c00, 2); // +Inf
  refused(raw('inf16.safetensors', { h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, half), /tensor "h" holds Infinity at index 1/);
});

test('a 3 GiB (sparse) file is read as a safetensors file, not reported "not found"', () => {
  const p = raw('big.safetensors', { a: t(0, 4) }, f32(1));
  truncateSync(p, 3 * 2 ** 30);
  refused(p, /the tensors cover 4 of the \d+ data bytes/);
});

test('a folder or an unreadable path is not called "not found"', () => {
  refused(work, /not a file; pass the \.safetensors file itself/);
  refused(join(work, 'missing.safetensors'), /weights file not found/);
});

test('CLI: embed with a null-header weights file fails in one line, no stack', () => {
  const p = raw('cli-null.safetensors', null);
  const r = clipface(['embed', '--config', join(import.meta.dirname, '../../models/configs/tiny-rn.json'), '--weights', p, '--text', 'a']);
  assertUserError(r, /cli-null\.safetensors: not a valid safetensors file \(the header is not a JSON object\)/);
});
