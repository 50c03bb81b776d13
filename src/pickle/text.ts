/**
 * Decoders for the text forms inside pickles, each matching the CPython codec the C
 * Unpickler uses for that opcode. All return `null` where CPython raises.
 */

/**
 * UTF-8 as CPython decodes it: strict (GLOBAL names) rejects encoded surrogates,
 * `surrogatepass` (BINUNICODE family) lets them through as lone UTF-16 code units.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number, surrogatePass: boolean): string | null {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return latin1(bytes, start, end);
  let out = '';
  let i = start;
  while (i < end) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i += 1;
      continue;
    }
    let need: number;
    let cp: number;
    let min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      cp = b0 & 0x1f;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      cp = b0 & 0x0f;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      cp = b0 & 0x07;
      min = 0x10000;
    } else return null;
    if (i + need >= end) return null; // truncated sequence
    for (let j = 1; j <= need; j++) {
      const b = bytes[i + j]!;
      if ((b & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff) return null;
    if (cp >= 0xd800 && cp <= 0xdfff && !surrogatePass) return null;
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** Bytes 0-255 as code points (also ASCII once checked). */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 64) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, n).toString('latin1');
}

/** ASCII strict (INST names, PERSID ids): `null` on any byte >= 0x80. */
export function decodeAscii(bytes: Uint8Array, start: number, end: number): string | null {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return null;
  return latin1(bytes, start, end);
}

const HEX = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;

/**
 * `raw_unicode_escape` (UNICODE opcode): bytes are Latin-1 except `\uXXXX` / `\UXXXXXXXX`
 * after an odd run of backslashes.
 */
export function decodeRawUnicodeEscape(bytes: Uint8Array, start: number, end: number): string | null {
  let out = '';
  let i = start;
  while (i < end) {
    const c = bytes[i]!;
    if (c !== 0x5c) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    let run = 0;
    while (i < end && bytes[i] === 0x5c) {
      out += '\\';
      run++;
      i++;
    }
    if ((run & 1) === 0 || i >= end || (bytes[i] !== 0x75 && bytes[i] !== 0x55)) continue;
    out = out.slice(0, -1);
    let count = bytes[i] === 0x75 ? 4 : 8;
    i++;
    let cp = 0;
    for (; count > 0; count--, i++) {
      if (i >= end) return null;
      const h = HEX(bytes[i]!);
      if (h < 0) return null;
      cp = cp * 16 + h;
    }
    if (cp > 0x10ffff) return null;
    out += String.fromCodePoint(cp);
  }
  return out;
}

/**
 * Python's bytes escape decoding (`codecs.escape_decode`, STRING opcode body after the
 * quotes are stripped). Returns the raw bytes, or `null` on a bad `\x` escape.
 */
export function escapeDecode(bytes: Uint8Array, start: number, end: number): Uint8Array | null {
  const out: number[] = [];
  let i = start;
  while (i < end) {
    const c = bytes[i++]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (i >= end) return null; // "Trailing \ in string"
    const e = bytes[i++]!;
    switch (e) {
      case 0x0a: break; // backslash-newline: line continuation
      case 0x5c: out.push(0x5c); break;
      case 0x27: out.push(0x27); break;
      case 0x22: out.push(0x22); break;
      case 0x62: out.push(0x08); break;
      case 0x66: out.push(0x0c); break;
      case 0x74: out.push(0x09); break;
      case 0x6e: out.push(0x0a); break;
      case 0x72: out.push(0x0d); break;
      case 0x76: out.push(0x0b); break;
      case 0x61: out.push(0x07); break;
      case 0x78: {
        const h1 = i < end ? HEX(bytes[i]!) : -1;
        const h2 = i + 1 < end ? HEX(bytes[i + 1]!) : -1;
        if (h1 < 0 || h2 < 0) return null;
        out.push(h1 * 16 + h2);
        i += 2;
        break;
      }
      default:
        if (e >= 0x30 && e <= 0x37) {
          let v = e - 0x30;
          for (let k = 0; k < 2 && i < end && bytes[i]! >= 0x30 && bytes[i]! <= 0x37; k++) v = v * 8 + (bytes[i++]! - 0x30);
          out.push(v & 0xff);
        } else {
          out.push(0x5c, e); // unknown escapes are kept (CPython only warns)
        }
    }
  }
  return Uint8Array.from(out);
}

/** A Python identifier-like text integer (`INT`, `LONG`, `GET`, `PUT`): sign, base prefix, underscores. */
export function parseTextInt(text: string, base0: boolean): bigint | null {
  // C Py_ISSPACE (ASCII only): a Latin-1 NBSP is not a space to CPython, unlike trim().
  let s = text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
  if (s.length === 0) return null;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  let radix = 10;
  if (base0 && /^0[xXoObB]/.test(s)) {
    radix = { x: 16, o: 8, b: 2 }[s[1]!.toLowerCase() as 'x' | 'o' | 'b'];
    s = s.slice(2);
    if (s.startsWith('_')) s = s.slice(1);
  }
  const digits = radix === 16 ? '[0-9a-fA-F]' : radix === 8 ? '[0-7]' : radix === 2 ? '[01]' : '[0-9]';
  if (!new RegExp(`^${digits}+(_${digits}+)*$`).test(s)) return null;
  s = s.replace(/_/g, '');
  // base 0 forbids leading zeros in decimal ("010"), except all zeros.
  if (base0 && radix === 10 && s.length > 1 && s[0] === '0' && /[1-9]/.test(s)) return null;
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : radix === 2 ? '0b' : '';
  const v = BigInt(prefix + s);
  return neg ? -v : v;
}

/**
 * C `strtol(s, &end, 0)` as the INT opcode uses it first: leading spaces, sign, `0x` hex,
 * leading-zero octal; must stop at the end of the line.
 */
export function parseStrtol(text: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return null;
  const body = m[2]!;
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body[0] === '0') v = BigInt('0o' + body.slice(1));
  else v = BigInt(body);
  return m[1] === '-' ? -v : v;
}

/** `PyOS_string_to_double`: no surrounding spaces; Python float syntax incl. inf/nan. */
export function parseTextFloat(text: string): number | null {
  if (/^[+-]?(inf|infinity|nan)$/i.test(text)) {
    const neg = text[0] === '-';
    return /nan/i.test(text) ? NaN : neg ? -Infinity : Infinity;
  }
  if (!/^[+-]?([0-9]+(_[0-9]+)*\.?([0-9]+(_[0-9]+)*)?|\.[0-9]+(_[0-9]+)*)([eE][+-]?[0-9]+(_[0-9]+)*)?$/.test(text)) return null;
  if (text.includes('_')) return null; // PyOS_string_to_double has no underscores
  return Number(text);
}

/**
 * Python `float(bytes)` as the pure-Python unpickler's `load_float` calls it on the line
 * without its newline: ASCII whitespace stripped on both sides, underscores allowed only
 * between two digits (and then dropped), no NUL anywhere, and an overflow is infinity
 * (PyOS_string_to_double without an overflow exception). Wider than `parseTextFloat`.
 */
export function parsePythonFloat(text: string): number | null {
  const s = text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
  if (s.includes('\0')) return null;
  if (s.includes('_') && !/^(?:[^_]|(?<=[0-9])_(?=[0-9]))*$/.test(s)) return null;
  return parseTextFloat(s.replace(/_/g, ''));
}
