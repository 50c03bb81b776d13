/**
 * `.lzma` ("alone") reader on our own LZMA decoder: 13-byte header (properties byte,
 * dictionary size, uncompressed size or all-ones for "unknown, ended by a marker").
 * Python's LZMAFile, like for xz, goes on decoding whatever follows a finished stream
 * as another stream; we do the same and refuse bytes that are no stream.
 */
import { LzmaDecoder, parsePropsByte } from './lzma.js';
import { CorruptInput, OutputBuffer, OutputLimit } from './output.js';
import { runToEnd, type DecodeSteps } from './steps.js';

const HEADER = 13;

export function decodeLzmaAlone(input: Uint8Array, cap: number): Uint8Array {
  const out = new OutputBuffer(cap);
  runToEnd(lzmaAloneSteps(input, out, cap, Infinity));
  return out.result();
}

/**
 * The streams in `input`, decoded into `out`, pausing every `step` output bytes (Infinity:
 * never). `cap` is checked against a declared size before decoding.
 */
export function* lzmaAloneSteps(input: Uint8Array, out: OutputBuffer, cap: number, step: number): DecodeSteps {
  let pos = 0;
  do {
    pos = yield* decodeOne(input, pos, out, cap, step);
  } while (pos < input.length);
}

function* decodeOne(input: Uint8Array, start: number, out: OutputBuffer, cap: number, step: number): Generator<number, number, void> {
  if (start + HEADER > input.length) throw new CorruptInput('lzma header truncated');
  const props = parsePropsByte(input[start]!);
  const view = new DataView(input.buffer, input.byteOffset + start, HEADER);
  const dictSize = Math.max(view.getUint32(1, true), 4096);
  const lo = view.getUint32(5, true);
  const hi = view.getUint32(9, true);
  const unknownSize = lo === 0xffffffff && hi === 0xffffffff;
  if (!unknownSize && hi > 0x1fffff) throw new CorruptInput('lzma declared size too large');
  const size = unknownSize ? Infinity : hi * 2 ** 32 + lo;
  if (size !== Infinity && size > cap - (out.length + out.dropped)) {
    // The declared size alone passes the cap: stop before decoding anything.
    throw new OutputLimit(`decompressed output exceeds the limit of ${cap} bytes`);
  }
  const lzma = new LzmaDecoder(out, dictSize);
  lzma.setProps(props);
  lzma.resetState();
  lzma.resetDictionary();
  lzma.begin(input, start + HEADER, input.length);
  const marker = unknownSize ? 'allowed' : 'forbidden';
  let left = size;
  for (;;) {
    const before = out.length;
    const r = lzma.run(step, left, marker);
    left -= out.length - before;
    if (r.sawEndMarker || left === 0) {
      if (unknownSize && !r.sawEndMarker) throw new CorruptInput('lzma stream ended without its end marker');
      return r.inputEnd;
    }
    yield dictSize;
  }
}
