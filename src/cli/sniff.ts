/**
 * Does a file found in a directory walk look like a model? PLACEHOLDER until the
 * formats layer's `looksLikeModel` lands: checks the magic prefixes of the formats
 * pickle-guard reads (pickle protocol 2+, zip, NumPy, compression magics joblib uses).
 */
import { closeSync, openSync, readSync } from 'node:fs';

const MAGICS: ReadonlyArray<readonly number[]> = [
  [0x50, 0x4b, 0x03, 0x04], // zip
  [0x50, 0x4b, 0x05, 0x06], // empty zip
  [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], // \x93NUMPY
  [0x1f, 0x8b], // gzip
  [0x42, 0x5a, 0x68], // bz2
  [0xfd, 0x37, 0x7a, 0x58, 0x5a], // xz
  [0x04, 0x22, 0x4d, 0x18], // lz4 frame
  [0x5a, 0x46], // joblib legacy zlib "ZF"
];

export function headLooksLikeModel(head: Uint8Array): boolean {
  if (head.length >= 2 && head[0] === 0x80 && head[1]! <= 5) return true;
  return MAGICS.some((m) => m.length <= head.length && m.every((b, i) => head[i] === b));
}

export function fileLooksLikeModel(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(8);
    const n = readSync(fd, head, 0, 8, 0);
    return headLooksLikeModel(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
