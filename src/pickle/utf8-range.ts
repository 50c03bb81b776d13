/**
 * Validates a long UTF-8 payload (surrogatepass, as BINUNICODE is decoded) window by
 * window, without ever holding the whole string: a 4 GB BINUNICODE8 must be an error
 * exactly where CPython would raise, but must not cost 4 GB of memory.
 */
import { isUtf8 } from 'node:buffer';
import { READ_WINDOW, type Reader } from './reader.js';

/** Length of a sequence from its lead byte, or 0 for a byte that cannot lead. */
function seqLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Index of the first invalid byte in bytes[start, end), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    const n = seqLength(b0);
    if (n === 0 || i + n > end) return i;
    const b1 = bytes[i + 1]!;
    if ((b1 & 0xc0) !== 0x80) return i;
    if (n >= 3) {
      if (b0 === 0xe0 && b1 < 0xa0) return i; // overlong
      if (b0 === 0xf0 && b1 < 0x90) return i; // overlong
      if (b0 === 0xf4 && b1 > 0x8f) return i; // > U+10FFFF
      if ((bytes[i + 2]! & 0xc0) !== 0x80) return i;
      if (n === 4 && (bytes[i + 3]! & 0xc0) !== 0x80) return i;
    }
    i += n;
  }
  return -1;
}

/**
 * Walks `n` bytes from the reader's cursor, moving past them. Returns the absolute
 * offset of the first invalid sequence, or -1 when all are valid.
 */
export function validateUtf8Range(r: Reader, n: number): number {
  let left = n;
  while (left > 0) {
    const chunk = Math.min(left, READ_WINDOW);
    const i = r.ensure(chunk);
    const b = r.buf;
    let cut = i + chunk;
    if (chunk < left) {
      // Do not split a sequence across windows: stop before an incomplete tail.
      for (let k = 1; k <= 3 && k <= chunk; k++) {
        const c = b[cut - k]!;
        if ((c & 0xc0) === 0x80) continue;
        if (seqLength(c) > k) cut -= k;
        break;
      }
    }
    // Node's native check is strict (no surrogates), so "true" settles it; only text
    // that fails it needs the surrogatepass walk.
    const bad = isUtf8(b.subarray(i, cut)) ? -1 : firstInvalidUtf8(b, i, cut);
    if (bad >= 0) return r.pos + (bad - i);
    const used = cut - i;
    r.skip(used);
    left -= used;
  }
  return -1;
}
