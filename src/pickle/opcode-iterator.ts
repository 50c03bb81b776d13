/**
 * `readOpcodes`: the opcodes of one pickle with their arguments decoded as
 * `pickletools.genops` shows them, for disassemblers and explainers. Allocates per
 * opcode, so the machine does not use it; payloads are never copied (offset + length).
 */
import type { ByteSource } from '../io/byte-source.js';
import { OPCODE_BY_BYTE, OP, type OpcodeInfo } from './opcodes.js';
import { PickleReadError, Reader } from './reader.js';
import { decodeRawUnicodeEscape, decodeUtf8, escapeDecode, latin1, parsePythonFloat, parseStrtol, parseTextFloat, parseTextInt } from './text.js';

/** Where a payload sits in the source (bytes, long strings, long integers). */
export interface PayloadRef {
  offset: number;
  length: number;
}

export type OpcodeArg = undefined | number | bigint | boolean | string | PayloadRef;

export interface OpcodeRecord {
  op: OpcodeInfo;
  /** Offset of the opcode byte. */
  offset: number;
  /**
   * Decoded argument: numbers (bigint past 2^53), `true`/`false` for INT `01`/`00`,
   * strings for text and unicode (GLOBAL/INST as `module name`, like pickletools),
   * Python-2 strings as Latin-1 text, and `{offset, length}` for bytes payloads and
   * for strings/longs too large to decode here.
   */
  arg: OpcodeArg;
  /** GLOBAL/INST: the two names separately. */
  pair?: [string, string];
  /** Offset just past the opcode and its argument. */
  end: number;
}

/** Strings and longs decoded inline up to this size; larger ones are given as a PayloadRef. */
export const MAX_DECODED_ARG = 1 << 20;

/**
 * Yields the opcodes of the pickle starting at `start`, through its STOP. Throws
 * `PickleReadError` (with the offending offset in its message) on bytes pickletools
 * cannot decode: unknown opcode, truncation, bad text.
 */
export function* readOpcodes(source: ByteSource, start = 0, maxDeclaredLength = Number.MAX_SAFE_INTEGER): Generator<OpcodeRecord> {
  const r = new Reader(source, start, maxDeclaredLength);
  for (;;) {
    const offset = r.pos;
    const code = r.u8();
    const op = OPCODE_BY_BYTE[code];
    if (!op) throw new PickleReadError('malformed', `unknown opcode 0x${code.toString(16).padStart(2, '0')} at offset ${offset}`);
    const rec: OpcodeRecord = { op, offset, arg: undefined, end: 0 };
    try {
      decodeArg(r, op, rec);
    } catch (err) {
      if (err instanceof PickleReadError) throw new PickleReadError(err.kind, `${err.message} (${op.name} at offset ${offset})`, err.limit);
      throw err;
    }
    rec.end = r.pos;
    yield rec;
    if (code === OP.STOP) return;
  }
}

function bad(message: string): PickleReadError {
  return new PickleReadError('malformed', message);
}

function text(r: Reader): string {
  const i = r.line();
  return latin1(r.buf, i, i + r.lineLength);
}

function counted(r: Reader, n: number, decode: (b: Uint8Array, s: number, e: number) => string | null): string | PayloadRef {
  r.checkLength(n, 'payload');
  const offset = r.pos;
  if (n > MAX_DECODED_ARG) {
    r.skip(n);
    return { offset, length: n };
  }
  const i = r.ensure(n);
  const s = decode(r.buf, i, i + n);
  r.skip(n);
  if (s === null) throw bad('cannot decode string argument');
  return s;
}

function payload(r: Reader, n: number): PayloadRef {
  r.checkLength(n, 'payload');
  const ref = { offset: r.pos, length: n };
  r.skip(n);
  return ref;
}

function signedLong(r: Reader, n: number): bigint | PayloadRef {
  r.checkLength(n, 'long');
  if (n > 64) return payload(r, n);
  return r.signedLE(n);
}

function small(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function decodeArg(r: Reader, op: OpcodeInfo, rec: OpcodeRecord): void {
  const latin = (b: Uint8Array, s: number, e: number) => latin1(b, s, e);
  const utf8 = (b: Uint8Array, s: number, e: number) => decodeUtf8(b, s, e, true);
  switch (op.arg) {
    case 'none':
      return;
    case 'uint1':
      rec.arg = r.u8();
      return;
    case 'uint2':
      rec.arg = r.u16();
      return;
    case 'int4':
      rec.arg = r.i32();
      return;
    case 'uint4':
      rec.arg = r.u32();
      return;
    case 'uint8': {
      const v = r.u64();
      rec.arg = v === Infinity ? Number.MAX_VALUE : v;
      return;
    }
    case 'float8':
      rec.arg = r.f64be();
      return;
    case 'long1': {
      const v = signedLong(r, r.u8());
      rec.arg = typeof v === 'bigint' ? small(v) : v;
      return;
    }
    case 'long4': {
      const n = r.i32();
      if (n < 0) throw bad('LONG4 has a negative byte count');
      const v = signedLong(r, n);
      rec.arg = typeof v === 'bigint' ? small(v) : v;
      return;
    }
    case 'decimalnl_short': {
      const t = text(r);
      if (t === '00' || t === '01') rec.arg = t === '01';
      else {
        const v = parseStrtol(t) ?? parseTextInt(t, true);
        if (v === null) throw bad(`invalid decimal ${JSON.stringify(t.slice(0, 40))}`);
        rec.arg = small(v);
      }
      return;
    }
    case 'decimalnl_long': {
      const t = text(r);
      const v = parseTextInt(t.endsWith('L') ? t.slice(0, -1) : t, true);
      if (v === null) throw bad(`invalid long ${JSON.stringify(t.slice(0, 40))}`);
      rec.arg = small(v);
      return;
    }
    case 'floatnl': {
      const t = text(r);
      // pickletools reads it with float(), which also takes whitespace and underscores.
      const v = parseTextFloat(t) ?? parsePythonFloat(t);
      if (v === null) throw bad(`invalid float ${JSON.stringify(t.slice(0, 40))}`);
      rec.arg = v;
      return;
    }
    case 'stringnl': {
      const i = r.line();
      const len = r.lineLength;
      const q = r.buf[i];
      if (len < 2 || (q !== 0x27 && q !== 0x22) || r.buf[i + len - 1] !== q) throw bad('STRING argument must be quoted');
      const bytes = escapeDecode(r.buf, i + 1, i + len - 1);
      if (bytes === null) throw bad('invalid escape in STRING');
      rec.arg = latin1(bytes, 0, bytes.length);
      return;
    }
    case 'stringnl_noescape':
      rec.arg = text(r);
      return;
    case 'stringnl_noescape_pair': {
      const pair: [string, string] = ['', ''];
      for (let k = 0; k < 2; k++) {
        const i = r.line();
        const s = decodeUtf8(r.buf, i, i + r.lineLength, false);
        if (s === null) throw bad('invalid UTF-8 in a name');
        pair[k] = s;
      }
      rec.pair = pair;
      rec.arg = `${pair[0]} ${pair[1]}`;
      return;
    }
    case 'unicodestringnl': {
      const i = r.line();
      const s = decodeRawUnicodeEscape(r.buf, i, i + r.lineLength);
      if (s === null) throw bad('invalid raw-unicode-escape data');
      rec.arg = s;
      return;
    }
    case 'string1':
      rec.arg = counted(r, r.u8(), latin);
      return;
    case 'string4': {
      const n = r.i32();
      if (n < 0) throw bad('BINSTRING has a negative byte count');
      rec.arg = counted(r, n, latin);
      return;
    }
    case 'bytes1':
      rec.arg = payload(r, r.u8());
      return;
    case 'bytes4':
      rec.arg = payload(r, r.u32());
      return;
    case 'bytes8':
    case 'bytearray8':
      rec.arg = payload(r, r.u64());
      return;
    case 'unicodestring1':
      rec.arg = counted(r, r.u8(), utf8);
      return;
    case 'unicodestring4':
      rec.arg = counted(r, r.u32(), utf8);
      return;
    case 'unicodestring8':
      rec.arg = counted(r, r.u64(), utf8);
      return;
  }
}
