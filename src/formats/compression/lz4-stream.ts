/**
 * lz4 frames decoded block by block, for the windowed source (decoded-source.ts): memory is
 * one block plus the 64 KiB that linked blocks may copy from, whatever the frame's size.
 * The same checks as the whole-stream `decodeLz4` (the descriptor and block decoding are
 * shared with it); the content checksum is computed as the blocks go by.
 */
import type { ByteSource } from '../../io/byte-source.js';
import { Xxh32, xxh32 } from './checksums.js';
import { decodeBlock, isSkippable, LZ4_MAGIC, parseDescriptor, type FrameDescriptor } from './lz4.js';
import { CorruptInput, OutputBuffer, type PullDecoder } from './output.js';

/** How far back an lz4 match may reach. */
const HISTORY = 1 << 16;
/** Longest frame descriptor: FLG, BD, 8-byte content size, header checksum. */
const DESCRIPTOR_MAX = 11;

interface Frame {
  desc: FrameDescriptor;
  hash: Xxh32 | undefined;
  produced: number;
}

export function lz4PullDecoder(input: ByteSource): PullDecoder {
  let pos = 0;
  let frames = 0;
  let frame: Frame | undefined;
  let out = new OutputBuffer(0);
  let pending = 0; // index in out.bytes of the first byte not yet handed out
  let ended = false;

  function bytes(at: number, n: number, what: string): Uint8Array {
    const view = input.read(at, n);
    if (view.length < n) throw new CorruptInput(`lz4 ${what} truncated`);
    return view;
  }

  function u32(at: number, what: string): number {
    const b = bytes(at, 4, what);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  function openFrame(): void {
    const head = input.read(pos, DESCRIPTOR_MAX);
    const desc = parseDescriptor(head, 0);
    pos += desc.end;
    frames++;
    frame = { desc, hash: desc.contentChecksum ? new Xxh32() : undefined, produced: 0 };
    out = new OutputBuffer(HISTORY + desc.blockMax);
    pending = 0;
  }

  function closeFrame(f: Frame): void {
    if (f.desc.contentSize !== undefined && f.produced !== f.desc.contentSize) throw new CorruptInput('lz4 frame content size mismatch');
    if (f.hash) {
      if (f.hash.digest() !== u32(pos, 'frame')) throw new CorruptInput('lz4 content checksum mismatch');
      pos += 4;
    }
    frame = undefined;
  }

  /** Decodes the next block into `out`; false when the input holds no more frames. */
  function nextBlock(): boolean {
    for (;;) {
      if (frame === undefined) {
        if (pos >= input.size) {
          if (frames === 0) throw new CorruptInput('no lz4 frame');
          return false;
        }
        const magic = u32(pos, 'frame');
        if (isSkippable(magic)) {
          pos += 8 + u32(pos + 4, 'frame');
          if (pos > input.size) throw new CorruptInput('lz4 skippable frame truncated');
          continue;
        }
        if (magic !== LZ4_MAGIC) throw new CorruptInput('not an lz4 frame (bad magic)');
        pos += 4;
        openFrame();
        continue;
      }
      const f = frame;
      const word = u32(pos, 'frame');
      pos += 4;
      if (word === 0) {
        closeFrame(f);
        continue;
      }
      const { desc } = f;
      const stored = (word & 0x80000000) !== 0;
      const size = word & 0x7fffffff;
      if (size > desc.blockMax) throw new CorruptInput('lz4 block larger than the frame allows');
      const block = bytes(pos, size + (desc.blockChecksum ? 4 : 0), 'block');
      if (desc.blockChecksum) {
        const sum = (block[size]! | (block[size + 1]! << 8) | (block[size + 2]! << 16) | (block[size + 3]! << 24)) >>> 0;
        if (xxh32(block, 0, size) !== sum) throw new CorruptInput('lz4 block checksum mismatch');
      }
      // Keep only what the next match may reach: nothing for independent blocks.
      const keep = desc.independent ? 0 : Math.min(HISTORY, out.length);
      if (out.length > keep) {
        out.bytes.copyWithin(0, out.length - keep, out.length);
        out.length = keep;
      }
      const blockStart = out.length;
      if (stored) out.append(block.subarray(0, size));
      else decodeBlock(block, 0, size, out, desc.independent ? blockStart : 0, blockStart + desc.blockMax);
      f.hash?.update(out.bytes, blockStart, out.length);
      f.produced += out.length - blockStart;
      pos += block.length;
      pending = blockStart;
      return true;
    }
  }

  return {
    read(into) {
      if (ended || into.length === 0) return 0;
      while (pending >= out.length) {
        if (!nextBlock()) {
          ended = true;
          return 0;
        }
      }
      const n = Math.min(into.length, out.length - pending);
      into.set(out.bytes.subarray(pending, pending + n));
      pending += n;
      return n;
    },
    close() {
      ended = true;
      out = new OutputBuffer(0);
      pending = 0;
    },
  };
}
