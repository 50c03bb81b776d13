/**
 * `.lzma` ("alone") reader on our own LZMA decoder: 13-byte header (properties byte,
 * dictionary size, uncompressed size or all-ones for "unknown, ended by a marker").
 * Python's LZMAFile, like for xz, goes on decoding whatever follows a finished stream
 * as another stream; we do the same and refuse bytes that are no stream.
 */
import { LzmaDecoder, parsePropsByte } from './lzma.js';
import { CorruptInput, OutputBuffer } from './output.js';

const HEADER = 13;

export function decodeLzmaAlone(input: Uint8Array, cap: number): Uint8Array {
  const out = new OutputBuffer(cap);
  let pos = 0;
  do {
    pos = decodeOne(input, pos, out);
  } while (pos < input.length);
  return out.result();
}

function decodeOne(input: Uint8Array, start: number, out: OutputBuffer): number {
  if (start + HEADER > input.length) throw new CorruptInput('lzma header truncated');
  const props = parsePropsByte(input[start]!);
  const view = new DataView(input.buffer, input.byteOffset + start, HEADER);
  const dictSize = Math.max(view.getUint32(1, true), 4096);
  const lo = view.getUint32(5, true);
  const hi = view.getUint32(9, true);
  const unknownSize = lo === 0xffffffff && hi === 0xffffffff;
  if (!unknownSize && hi > 0x1fffff) throw new CorruptInput('lzma declared size too large');
  const size = unknownSize ? Infinity : hi * 2 ** 32 + lo;
  if (size !== Infinity && size > out.cap - out.length) {
    // The declared size alone passes the cap: stop before decoding anything.
    out.reserve(size);
  }
  const lzma = new LzmaDecoder(out, dictSize);
  lzma.setProps(props);
  lzma.resetState();
  lzma.resetDictionary();
  const r = lzma.decode(input, start + HEADER, input.length, size, unknownSize ? 'allowed' : 'forbidden');
  if (unknownSize && !r.sawEndMarker) throw new CorruptInput('lzma stream ended without its end marker');
  return r.inputEnd;
}
