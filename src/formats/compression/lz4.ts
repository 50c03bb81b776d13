/**
 * LZ4 frame reader (our own; `lz4js` does no bounds checks, ignores checksums and writes
 * past nothing but a typed array's silent end). Written from the LZ4 frame and block format
 * descriptions: frame descriptor with its header checksum, blocks (compressed or stored) with
 * optional block checksums, optional content size and content checksum, skippable frames,
 * and frames back to back (Python's LZ4FrameFile decodes them all).
 */
import { xxh32 } from './checksums.js';
import { CorruptInput, OutputBuffer, UnsupportedInput } from './output.js';

const MAGIC = 0x184d2204;
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

function u32le(b: Uint8Array, i: number): number {
  if (i + 4 > b.length) throw new CorruptInput('lz4 frame truncated');
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

export function decodeLz4(input: Uint8Array, cap: number): Uint8Array {
  const out = new OutputBuffer(cap);
  let pos = 0;
  let frames = 0;
  while (pos < input.length) {
    const magic = u32le(input, pos);
    if (isSkippable(magic)) {
      pos += 8 + u32le(input, pos + 4); // skippable frame
      if (pos > input.length) throw new CorruptInput('lz4 skippable frame truncated');
      continue;
    }
    if (magic !== MAGIC) throw new CorruptInput('not an lz4 frame (bad magic)');
    pos = decodeFrame(input, pos + 4, out);
    frames++;
  }
  if (frames === 0) throw new CorruptInput('no lz4 frame');
  return out.result();
}

export const LZ4_MAGIC = MAGIC;

/** True for the magic of an lz4 skippable frame (0x184D2A50-5F). */
export function isSkippable(magic: number): boolean {
  return (magic & 0xfffffff0) === 0x184d2a50;
}

export interface FrameDescriptor {
  independent: boolean;
  blockChecksum: boolean;
  contentChecksum: boolean;
  contentSize?: number;
  blockMax: number;
  /** Offset just past the descriptor (its header checksum byte). */
  end: number;
}

/** Parses and checks the frame descriptor starting at `pos` (just after the magic). */
export function parseDescriptor(input: Uint8Array, pos: number): FrameDescriptor {
  if (pos + 3 > input.length) throw new CorruptInput('lz4 frame descriptor truncated');
  const flg = input[pos]!;
  const bd = input[pos + 1]!;
  if (flg >> 6 !== 1) throw new UnsupportedInput('lz4 frame version is not 01');
  if (flg & 0x02 || bd & 0x8f) throw new CorruptInput('lz4 frame descriptor reserved bits set');
  const hasContentSize = (flg & 0x08) !== 0;
  if (flg & 0x01) throw new UnsupportedInput('lz4 frame needs a preset dictionary');
  const blockMax = BLOCK_MAX[(bd >> 4) & 7]!;
  if (blockMax === 0) throw new CorruptInput('lz4 block size id invalid');
  const descEnd = pos + 2 + (hasContentSize ? 8 : 0);
  if (descEnd + 1 > input.length) throw new CorruptInput('lz4 frame descriptor truncated');
  if (((xxh32(input, pos, descEnd) >>> 8) & 0xff) !== input[descEnd]) {
    throw new CorruptInput('lz4 frame header checksum mismatch');
  }
  return {
    independent: (flg & 0x20) !== 0,
    blockChecksum: (flg & 0x10) !== 0,
    contentChecksum: (flg & 0x04) !== 0,
    ...(hasContentSize ? { contentSize: u32le(input, pos + 2) + u32le(input, pos + 6) * 2 ** 32 } : {}),
    blockMax,
    end: descEnd + 1,
  };
}

function decodeFrame(input: Uint8Array, start: number, out: OutputBuffer): number {
  const { independent, blockChecksum, contentChecksum, contentSize, blockMax, end } = parseDescriptor(input, start);
  let pos = end;
  const frameStart = out.length;
  for (;;) {
    const word = u32le(input, pos);
    pos += 4;
    if (word === 0) break;
    const stored = (word & 0x80000000) !== 0;
    const size = word & 0x7fffffff;
    if (size > blockMax) throw new CorruptInput('lz4 block larger than the frame allows');
    if (pos + size > input.length) throw new CorruptInput('lz4 block truncated');
    if (blockChecksum) {
      if (xxh32(input, pos, pos + size) !== u32le(input, pos + size)) throw new CorruptInput('lz4 block checksum mismatch');
    }
    const blockStart = out.length;
    if (stored) out.append(input.subarray(pos, pos + size));
    else decodeBlock(input, pos, pos + size, out, independent ? blockStart : frameStart, blockStart + blockMax);
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (contentSize !== undefined && out.length - frameStart !== contentSize) {
    throw new CorruptInput('lz4 frame content size mismatch');
  }
  if (contentChecksum) {
    if (xxh32(out.bytes, frameStart, out.length) !== u32le(input, pos)) throw new CorruptInput('lz4 content checksum mismatch');
    pos += 4;
  }
  return pos;
}

/**
 * One LZ4 block; matches may reach back to `windowStart` (the block, or the frame when blocks
 * are linked). The block may not decode past `outLimit` (the frame's maximum block size).
 */
export function decodeBlock(input: Uint8Array, start: number, end: number, out: OutputBuffer, windowStart: number, outLimit: number): void {
  let p = start;
  for (;;) {
    if (p >= end) throw new CorruptInput('lz4 block truncated');
    const token = input[p++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (p >= end) throw new CorruptInput('lz4 literal length truncated');
        b = input[p++]!;
        literals += b;
      } while (b === 255);
    }
    if (p + literals > end) throw new CorruptInput('lz4 literals run past the block');
    if (out.length + literals > outLimit) throw new CorruptInput('lz4 block decodes to more than the frame allows');
    out.appendRange(input, p, p + literals);
    p += literals;
    if (p === end) return; // the last sequence has literals only
    if (p + 2 > end) throw new CorruptInput('lz4 match offset truncated');
    const offset = input[p]! | (input[p + 1]! << 8);
    p += 2;
    if (offset === 0 || offset > out.length - windowStart || offset > 65535) {
      throw new CorruptInput('lz4 match offset reaches before the window');
    }
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (p >= end) throw new CorruptInput('lz4 match length truncated');
        b = input[p++]!;
        len += b;
      } while (b === 255);
    }
    if (out.length + len > outLimit) throw new CorruptInput('lz4 block decodes to more than the frame allows');
    out.copyMatch(offset, len);
  }
}
