/**
 * Opcode arguments read from the stream and decoded as the C Unpickler decodes them:
 * a Reader in, a plain value out. Where CPython raises, these throw `malformed`.
 */
import type { Reader } from '../reader.js';
import {
  decodeAscii,
  decodeRawUnicodeEscape,
  decodeUtf8,
  escapeDecode,
  latin1,
  parsePythonFloat,
  parseStrtol,
  parseTextFloat,
  parseTextInt,
} from '../text.js';
import type { Value } from '../types.js';
import { FALSE, SMALL_INTS, TRUE, intValue, unknown } from '../values.js';
import { validateUtf8Range } from '../utf8-range.js';
import { malformed } from './errors.js';
import { MAX_KEPT_STRING } from './limits.js';

// ---------------------------------------------------------------- text lines

/** A text argument line (INT, LONG, FLOAT, GET, PUT): an empty one is a truncation. */
function lineText(r: Reader): string {
  const i = r.line();
  if (r.lineLength === 0) throw malformed('pickle data was truncated (empty line)');
  return latin1(r.buf, i, i + r.lineLength);
}

/**
 * The text the C parsers see: INT, LONG, FLOAT, GET and PUT hand the line to C string
 * functions (strtol, PyLong_FromString, PyOS_string_to_double), which stop at a NUL byte,
 * so `1.5\0junk` reads as 1.5 (CPython goes on where a stricter reading would stop).
 */
function cString(text: string): string {
  const nul = text.indexOf('\0');
  return nul >= 0 ? text.slice(0, nul) : text;
}

/**
 * INT: C strtol, where 0 or 1 on a 2-character line (3 bytes with its newline) is a bool;
 * else Python int(), which never gives a bool (`01` is True, `1 ` is int 1).
 */
export function textInt(r: Reader): Value {
  const line = lineText(r);
  const text = cString(line);
  // strtol with no digits at all returns 0 and accepts when it stands on the NUL.
  const x = text === '' ? 0n : parseStrtol(text);
  if (x !== null) return line.length === 2 && (x === 0n || x === 1n) ? (x === 1n ? TRUE : FALSE) : intValue(x);
  const v = parseTextInt(text, true);
  if (v === null) throw malformed(`could not convert string to int: ${JSON.stringify(line.slice(0, 40))}`);
  return intValue(v);
}

/** LONG: Python int() text, an optional trailing `L` (removed before the NUL cut, as in C). */
export function textLong(r: Reader): Value {
  let text = lineText(r);
  if (text.endsWith('L')) text = text.slice(0, -1);
  const v = parseTextInt(cString(text), true);
  if (v === null) throw malformed(`invalid literal for int(): ${JSON.stringify(text.slice(0, 40))}`);
  return intValue(v);
}

/**
 * FLOAT's line read both ways: `c` as `PyOS_string_to_double` (the C unpickler, cut at a
 * NUL); where that raises, `py` as the pure-Python unpickler's `float()`. null where each
 * raises (`py` is not computed, null, when C accepts).
 */
export function textFloatReadings(r: Reader): { line: string; c: number | null; py: number | null } {
  const line = lineText(r);
  const c = parseTextFloat(cString(line));
  return { line, c, py: c === null ? parsePythonFloat(line) : null };
}

/**
 * A GET/PUT text index as `int()` reads it (C `PyLong_FromString`, cut at a NUL); what a
 * memo can hold is decided by the caller (`lenient.ts`).
 */
export function textMemoIndex(r: Reader, what: 'GET' | 'PUT'): bigint {
  const v = parseTextInt(cString(lineText(r)), false);
  if (v === null) throw malformed(`invalid memo index in ${what}`);
  return v;
}

/** A GLOBAL/INST name line: UTF-8 strict (GLOBAL) or ASCII (INST); empty is an error. */
export function nameLine(r: Reader, ascii: boolean, what: string): string {
  const i = r.line();
  if (r.lineLength === 0) throw malformed(`pickle data was truncated (empty ${what})`);
  const text = ascii ? decodeAscii(r.buf, i, i + r.lineLength) : decodeUtf8(r.buf, i, i + r.lineLength, false);
  if (text === null) throw malformed(`invalid ${ascii ? 'ASCII' : 'UTF-8'} in ${what}`);
  return text;
}

/** PERSID: an ASCII id (empty allowed, as in CPython). */
export function persidLine(r: Reader): Value {
  const i = r.line();
  const id = decodeAscii(r.buf, i, i + r.lineLength);
  if (id === null) throw malformed('non-ASCII persistent id in PERSID');
  return { k: 'str', v: id };
}

/** UNICODE: raw-unicode-escape text. */
export function unicodeLine(r: Reader): Value {
  const i = r.line();
  const v = decodeRawUnicodeEscape(r.buf, i, i + r.lineLength);
  if (v === null) throw malformed('invalid raw-unicode-escape data in UNICODE');
  return { k: 'str', v };
}

/** STRING: a quoted, escaped Python 2 str (decoded as `byteString` decodes). */
export function quotedString(r: Reader): Value {
  const i = r.line();
  const len = r.lineLength;
  const b = r.buf;
  const q = b[i];
  if (len < 2 || (q !== 0x27 && q !== 0x22) || b[i + len - 1] !== q) {
    throw malformed('the STRING opcode argument must be quoted');
  }
  const bytes = escapeDecode(b, i + 1, i + len - 1);
  if (bytes === null) throw malformed('invalid \\x escape in STRING');
  if (bytes.length > MAX_KEPT_STRING) return unknown(`str of ${bytes.length} bytes (not kept)`);
  return { k: 'str', v: decodeUtf8(bytes, 0, bytes.length, false) ?? latin1(bytes, 0, bytes.length) };
}

// ---------------------------------------------------------------- counted payloads

/** A signed 4-byte count (LONG4, BINSTRING): negative is an error. */
export function signedCount(r: Reader, what: string): number {
  const n = r.i32();
  if (n < 0) throw malformed(`${what} pickle has negative byte count`);
  return n;
}

/** LONG1/LONG4: little-endian two's complement; kept when small. */
export function binLong(r: Reader, n: number): Value {
  r.checkLength(n, 'LONG');
  if (n === 0) return SMALL_INTS[0]!;
  if (n > 64) {
    r.skip(n);
    return unknown(`int of ${n} bytes`);
  }
  return intValue(r.signedLE(n));
}

/** Bytes payloads are never read: the value says where they are. */
export function bytesPayload(r: Reader, n: number, mutable: boolean): Value {
  r.checkLength(n, mutable ? 'BYTEARRAY8' : 'BINBYTES', true);
  const offset = r.pos;
  r.skip(n);
  return { k: 'bytes', offset, length: n, mutable };
}

/** BINUNICODE family: UTF-8 with surrogatepass, as the C Unpickler decodes it. */
export function unicodeCounted(r: Reader, n: number): Value {
  r.checkLength(n, 'BINUNICODE');
  if (n > MAX_KEPT_STRING) {
    const bad = validateUtf8Range(r, n);
    if (bad >= 0) throw malformed(`invalid UTF-8 in a string at offset ${bad}`);
    return unknown(`str of ${n} bytes (not kept)`);
  }
  const i = r.ensure(n);
  const v = decodeUtf8(r.buf, i, i + n, true);
  r.skip(n);
  if (v === null) throw malformed('invalid UTF-8 in a BINUNICODE string');
  return { k: 'str', v };
}

/**
 * Python 2 `str` (SHORT_BINSTRING/BINSTRING/STRING) becomes `str` by the loader's
 * `encoding`: ASCII by default, UTF-8 in torch.load, Latin-1 in some NumPy paths. We
 * decode UTF-8, else Latin-1, so a name is seen under whichever encoding accepts it.
 */
export function byteString(r: Reader, n: number, what: string): Value {
  r.checkLength(n, what);
  if (n > MAX_KEPT_STRING) {
    r.skip(n);
    return unknown(`str of ${n} bytes (not kept)`);
  }
  const i = r.ensure(n);
  const v = decodeUtf8(r.buf, i, i + n, false) ?? latin1(r.buf, i, i + n);
  r.skip(n);
  return { k: 'str', v };
}
