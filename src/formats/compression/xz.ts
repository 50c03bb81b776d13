/**
 * `.xz` reader (our own: no pure-JS synchronous one exists). Written from the xz file
 * format specification 1.0.4: stream header and footer, block headers, the index, LZMA2
 * chunks, and the integrity checks (CRC32, CRC64 and SHA-256 verified; other check ids
 * skipped the way liblzma skips them). Only the LZMA2 filter alone is decoded: BCJ and
 * delta filters are reported as unsupported, never guessed.
 *
 * Concatenated streams (with zero stream padding between them) are decoded, as Python's
 * LZMAFile does. Anything else after the last stream is refused (Python would stop there;
 * refusing is the fail-closed side, and no real writer produces it).
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32, crc64 } from './checksums.js';
import { LzmaDecoder, parsePropsByte } from './lzma.js';
import { CorruptInput, OutputBuffer, UnsupportedInput } from './output.js';
import { runToEnd, type DecodeSteps } from './steps.js';

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FOOTER_MAGIC = [0x59, 0x5a];
const LZMA2_ID = 0x21;
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

export function decodeXz(input: Uint8Array, cap: number): Uint8Array {
  const out = new OutputBuffer(cap);
  runToEnd(xzSteps(input, out));
  return out.result();
}

/**
 * The streams in `input`, decoded into `out`, yielding after every LZMA2 chunk with the
 * block's dictionary size (see steps.ts). Positions kept across a yield are absolute
 * (`out.length + out.dropped`): a streaming caller drops output between chunks.
 */
export function* xzSteps(input: Uint8Array, out: OutputBuffer): DecodeSteps {
  let pos = 0;
  let streams = 0;
  while (pos < input.length) {
    if (streams > 0 && input[pos] === 0) {
      pos = skipStreamPadding(input, pos);
      continue;
    }
    pos = yield* decodeStream(input, pos, out);
    streams++;
  }
  if (streams === 0) throw new CorruptInput('empty xz input');
}

/** Absolute output position (what a streaming caller dropped counts too). */
function written(out: OutputBuffer): number {
  return out.length + out.dropped;
}

function skipStreamPadding(input: Uint8Array, pos: number): number {
  const start = pos;
  while (pos < input.length && input[pos] === 0) pos++;
  if ((pos - start) % 4 !== 0) throw new CorruptInput('xz stream padding is not a multiple of four bytes');
  return pos;
}

function u32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function need(input: Uint8Array, pos: number, n: number, what: string): void {
  if (pos + n > input.length) throw new CorruptInput(`xz ${what} truncated`);
}

/** Variable-length integer (up to 9 bytes, 63 bits). Returned as a JS number; larger values are refused. */
function readVli(input: Uint8Array, pos: number, end: number): { value: number; next: number } {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (pos >= end) throw new CorruptInput('xz integer truncated');
    const byte = input[pos++]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new CorruptInput('xz integer is not minimally encoded');
      if (value > Number.MAX_SAFE_INTEGER) throw new CorruptInput('xz integer too large');
      return { value, next: pos };
    }
  }
  throw new CorruptInput('xz integer too long');
}

interface BlockRecord {
  unpadded: number;
  uncompressed: number;
}

function* decodeStream(input: Uint8Array, start: number, out: OutputBuffer): Generator<number, number, void> {
  need(input, start, 12, 'stream header');
  for (let i = 0; i < 6; i++) {
    if (input[start + i] !== MAGIC[i]) throw new CorruptInput('not an xz stream (bad magic)');
  }
  const flags = input.subarray(start + 6, start + 8);
  if (crc32(flags) !== u32le(input, start + 8)) throw new CorruptInput('xz stream header CRC32 mismatch');
  if (flags[0] !== 0 || (flags[1]! & 0xf0) !== 0) throw new UnsupportedInput('xz stream flags use reserved bits');
  const checkId = flags[1]! & 0x0f;
  let pos = start + 12;
  const records: BlockRecord[] = [];
  for (;;) {
    need(input, pos, 1, 'block header');
    if (input[pos] === 0) break; // index indicator
    const outStart = written(out);
    const block = yield* decodeBlock(input, pos, out, checkId);
    records.push({ unpadded: block.unpadded, uncompressed: written(out) - outStart });
    pos = block.end;
  }
  pos = readIndex(input, pos, records);
  need(input, pos, 12, 'stream footer');
  const footerCrc = u32le(input, pos);
  if (crc32(input, pos + 4, pos + 10) !== footerCrc) throw new CorruptInput('xz stream footer CRC32 mismatch');
  const backwardSize = (u32le(input, pos + 4) + 1) * 4;
  if (input[pos + 8] !== flags[0] || input[pos + 9] !== flags[1]) {
    throw new CorruptInput('xz stream footer flags differ from the header');
  }
  if (input[pos + 10] !== FOOTER_MAGIC[0] || input[pos + 11] !== FOOTER_MAGIC[1]) {
    throw new CorruptInput('xz stream footer magic missing');
  }
  if (backwardSize !== indexSizeOf(records)) throw new CorruptInput('xz backward size does not match the index');
  return pos + 12;
}

/** Decodes one block; `unpadded` is header + data + check without padding, as the index records it. */
function* decodeBlock(
  input: Uint8Array,
  start: number,
  out: OutputBuffer,
  checkId: number,
): Generator<number, { end: number; unpadded: number }, void> {
  const headerSize = (input[start]! + 1) * 4;
  need(input, start, headerSize, 'block header');
  const headerEnd = start + headerSize;
  if (crc32(input, start, headerEnd - 4) !== u32le(input, headerEnd - 4)) {
    throw new CorruptInput('xz block header CRC32 mismatch');
  }
  const blockFlags = input[start + 1]!;
  if (blockFlags & 0x3c) throw new UnsupportedInput('xz block flags use reserved bits');
  const filterCount = (blockFlags & 0x03) + 1;
  let p = start + 2;
  const end = headerEnd - 4;
  let compressedSize: number | undefined;
  let uncompressedSize: number | undefined;
  if (blockFlags & 0x40) ({ value: compressedSize, next: p } = readVli(input, p, end));
  if (blockFlags & 0x80) ({ value: uncompressedSize, next: p } = readVli(input, p, end));
  let dictSize = 0;
  for (let f = 0; f < filterCount; f++) {
    let id: number;
    let propsSize: number;
    ({ value: id, next: p } = readVli(input, p, end));
    ({ value: propsSize, next: p } = readVli(input, p, end));
    if (p + propsSize > end) throw new CorruptInput('xz filter properties run past the block header');
    if (id !== LZMA2_ID || f !== filterCount - 1) {
      throw new UnsupportedInput(`xz filter 0x${id.toString(16)} (BCJ/delta/other) is not supported; only LZMA2 alone is decoded`);
    }
    if (propsSize !== 1) throw new CorruptInput('xz LZMA2 filter properties must be one byte');
    dictSize = lzma2DictSize(input[p]!);
    p += propsSize;
  }
  for (; p < end; p++) if (input[p] !== 0) throw new CorruptInput('xz block header padding is not zero');

  const outStart = written(out);
  const check = new BlockCheck(checkId);
  const dataEnd = yield* decodeLzma2(input, headerEnd, compressedSize === undefined ? input.length : headerEnd + compressedSize, out, dictSize, check);
  if (compressedSize !== undefined && dataEnd - headerEnd !== compressedSize) {
    throw new CorruptInput('xz block compressed size does not match its header');
  }
  if (uncompressedSize !== undefined && written(out) - outStart !== uncompressedSize) {
    throw new CorruptInput('xz block uncompressed size does not match its header');
  }
  let pos = dataEnd;
  const unpadded = dataEnd - start + CHECK_SIZES[checkId]!;
  while ((pos - start) % 4 !== 0) {
    need(input, pos, 1, 'block padding');
    if (input[pos++] !== 0) throw new CorruptInput('xz block padding is not zero');
  }
  const checkSize = CHECK_SIZES[checkId]!;
  need(input, pos, checkSize, 'block check');
  check.verify(input.subarray(pos, pos + checkSize));
  return { end: pos + checkSize, unpadded };
}

/** A block's integrity check, fed chunk by chunk as the block's output is written. */
class BlockCheck {
  private crc = 0;
  private crc64 = { lo: 0, hi: 0 };
  private readonly sha: Hash | undefined;

  constructor(private readonly checkId: number) {
    this.sha = checkId === 10 ? createHash('sha256') : undefined;
  }

  update(data: Uint8Array): void {
    if (this.checkId === 1) this.crc = crc32(data, 0, data.length, this.crc);
    else if (this.checkId === 4) this.crc64 = crc64(data, this.crc64);
    else this.sha?.update(data);
  }

  verify(stored: Uint8Array): void {
    if (this.checkId === 1) {
      if (this.crc !== u32le(stored, 0)) throw new CorruptInput('xz block CRC32 mismatch');
    } else if (this.checkId === 4) {
      if (this.crc64.lo !== u32le(stored, 0) || this.crc64.hi !== u32le(stored, 4)) throw new CorruptInput('xz block CRC64 mismatch');
    } else if (this.sha) {
      if (!this.sha.digest().equals(stored)) throw new CorruptInput('xz block SHA-256 mismatch');
    }
    // 0: no check; other ids are reserved and skipped, as liblzma does.
  }
}

function lzma2DictSize(byte: number): number {
  if (byte > 40) throw new CorruptInput('xz LZMA2 dictionary size byte out of range');
  if (byte === 40) return 0xffffffff;
  return (2 | (byte & 1)) * 2 ** ((byte >>> 1) + 11);
}

/**
 * Decodes LZMA2 chunks from input[start, limit), feeding `check`; yields after each chunk;
 * returns the offset just past the end chunk.
 */
function* decodeLzma2(
  input: Uint8Array,
  start: number,
  limit: number,
  out: OutputBuffer,
  dictSize: number,
  check: BlockCheck,
): Generator<number, number, void> {
  const lzma = new LzmaDecoder(out, dictSize);
  lzma.lc4Limit = true;
  let pos = start;
  let needDictReset = true;
  let needProps = true;
  for (;;) {
    if (pos >= limit) throw new CorruptInput('xz LZMA2 data truncated');
    const control = input[pos++]!;
    if (control === 0x00) return pos;
    const chunkStart = out.length;
    if (control >= 0xe0 || control === 0x01) {
      needProps = true;
      needDictReset = false;
      lzma.resetDictionary();
    } else if (needDictReset) {
      throw new CorruptInput('xz LZMA2 first chunk does not reset the dictionary');
    }
    if (control >= 0x80) {
      if (pos + 4 > limit) throw new CorruptInput('xz LZMA2 chunk header truncated');
      const unpacked = (control & 0x1f) * 65536 + input[pos]! * 256 + input[pos + 1]! + 1;
      const packed = input[pos + 2]! * 256 + input[pos + 3]! + 1;
      pos += 4;
      if (control >= 0xc0) {
        if (pos >= limit) throw new CorruptInput('xz LZMA2 properties truncated');
        lzma.setProps(parsePropsByte(input[pos++]!));
        needProps = false;
        lzma.resetState();
      } else if (needProps) {
        throw new CorruptInput('xz LZMA2 chunk without the properties it needs');
      } else if (control >= 0xa0) {
        lzma.resetState();
      }
      if (pos + packed > limit) throw new CorruptInput('xz LZMA2 chunk runs past the block');
      const r = lzma.decode(input, pos, pos + packed, unpacked, 'forbidden');
      if (r.inputEnd !== pos + packed || !lzma.finishedCleanly()) {
        throw new CorruptInput('xz LZMA2 chunk does not end where its header says');
      }
      pos += packed;
    } else if (control === 0x01 || control === 0x02) {
      if (pos + 2 > limit) throw new CorruptInput('xz LZMA2 chunk header truncated');
      const size = input[pos]! * 256 + input[pos + 1]! + 1;
      pos += 2;
      if (pos + size > limit) throw new CorruptInput('xz LZMA2 stored chunk runs past the block');
      out.append(input.subarray(pos, pos + size));
      pos += size;
    } else {
      throw new CorruptInput(`invalid xz LZMA2 control byte 0x${control.toString(16)}`);
    }
    check.update(out.bytes.subarray(chunkStart, out.length));
    yield dictSize;
  }
}

function readIndex(input: Uint8Array, start: number, records: BlockRecord[]): number {
  let p = start + 1; // index indicator
  let count: number;
  ({ value: count, next: p } = readVli(input, p, input.length));
  if (count !== records.length) throw new CorruptInput('xz index record count does not match the blocks');
  for (const r of records) {
    let unpadded: number;
    let uncompressed: number;
    ({ value: unpadded, next: p } = readVli(input, p, input.length));
    ({ value: uncompressed, next: p } = readVli(input, p, input.length));
    if (unpadded !== r.unpadded || uncompressed !== r.uncompressed) {
      throw new CorruptInput('xz index does not match the blocks');
    }
  }
  while ((p - start) % 4 !== 0) {
    need(input, p, 1, 'index padding');
    if (input[p++] !== 0) throw new CorruptInput('xz index padding is not zero');
  }
  need(input, p, 4, 'index CRC32');
  if (crc32(input, start, p) !== u32le(input, p)) throw new CorruptInput('xz index CRC32 mismatch');
  return p + 4;
}

function indexSizeOf(records: BlockRecord[]): number {
  let size = 1 + vliLength(records.length);
  for (const r of records) size += vliLength(r.unpadded) + vliLength(r.uncompressed);
  return ((size + 3) & ~3) + 4;
}

function vliLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}
