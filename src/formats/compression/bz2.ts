/**
 * bzip2 through `seek-bzip` (pure JS, synchronous, verifies block and stream CRCs).
 * We drive it with our own input and output streams: input reads past the end throw
 * (the library would otherwise read `undefined` as data), output goes through an
 * OutputBuffer so the cap stops a bomb while it decodes. Streams back to back are
 * decoded one by one, as Python's BZ2File does; bytes that are no stream are refused.
 */
import { createRequire } from 'node:module';
import { CorruptInput, OutputBuffer, OutputLimit } from './output.js';

interface SeekBzip {
  decode(input: unknown, output: unknown, multistream?: boolean): unknown;
}

const Bunzip = createRequire(import.meta.url)('seek-bzip') as SeekBzip;

export function decodeBz2(input: Uint8Array, cap: number): Uint8Array {
  const out = new OutputBuffer(cap);
  let pos = 0;
  do {
    if (pos + 4 > input.length || input[pos] !== 0x42 || input[pos + 1] !== 0x5a || input[pos + 2] !== 0x68) {
      throw new CorruptInput('not a bzip2 stream (bad magic)');
    }
    pos = decodeOneStream(input, pos, out);
  } while (pos < input.length);
  return out.result();
}

/** Decodes the stream at `start`; returns the offset of the first byte it did not touch. */
function decodeOneStream(input: Uint8Array, start: number, out: OutputBuffer): number {
  // No `eof` method on purpose: seek-bzip then reads until the end-of-stream marker and
  // checks the stream CRC, instead of stopping quietly when the input runs out.
  const inStream = {
    pos: start,
    readByte(): number {
      if (this.pos >= input.length) throw new CorruptInput('bzip2 stream truncated');
      return input[this.pos++]!;
    },
    read(buf: Uint8Array, off: number, len: number): number {
      let n = 0;
      while (n < len && this.pos < input.length) buf[off + n++] = input[this.pos++]!;
      return n;
    },
    seek(pos: number): void {
      this.pos = pos;
    },
  };
  const outStream = {
    writeByte(byte: number): void {
      out.push(byte);
    },
  };
  try {
    Bunzip.decode(inStream, outStream, false);
  } catch (e) {
    if (e instanceof OutputLimit || e instanceof CorruptInput) throw e;
    throw new CorruptInput(`bzip2 stream does not decode: ${(e as Error)?.message ?? String(e)}`);
  }
  return inStream.pos;
}
