/**
 * Reads a zip's central directory through positioned reads: EOCD searched backwards,
 * zip64 locator/record, then every central-directory entry with all bounds checked.
 * Where miniz (torch) and CPython's zipfile (numpy) would read the directory
 * differently, the answer is `container-ambiguous`, never a guess.
 */
import type { ByteSource } from '../../io/byte-source.js';
import { copyOf } from '../bytes.js';

export interface ZipEntry {
  /** Position in the central directory (miniz "file index"). */
  index: number;
  /** Raw name bytes (copied). */
  nameBytes: Uint8Array;
  /** Name decoded as the loaders show it (UTF-8 when flag 0x800, else byte-per-char). */
  name: string;
  flags: number;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
}

export type DirectoryProblem = { code: 'container-malformed' | 'container-ambiguous'; message: string; offset?: number };

export type DirectoryResult =
  | { ok: true; directory: ZipDirectory }
  | { ok: false; problem: DirectoryProblem }
  /** The EOCD says how many entries there are before anything is parsed (checked against maxMembers). */
  | { ok: 'too-many'; count: number };

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_SIZE = 46;
const MAX_COMMENT = 0xffff;

export const FLAG_ENCRYPTED = 0x1;
export const FLAG_PATCHED = 0x20;
export const FLAG_STRONG_ENCRYPTION = 0x40;
export const FLAG_UTF8 = 0x800;

function u16(b: Uint8Array, at: number): number {
  return (b[at] as number) | ((b[at + 1] as number) << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (u16(b, at) + u16(b, at + 2) * 0x10000) >>> 0;
}
/** u64 as a number; undefined when it does not fit in a safe integer. */
function u64(b: Uint8Array, at: number): number | undefined {
  const v = u32(b, at) + u32(b, at + 4) * 0x1_0000_0000;
  return Number.isSafeInteger(v) ? v : undefined;
}

export const readU16 = u16;
export const readU32 = u32;

function malformed(message: string, offset?: number): DirectoryResult {
  return { ok: false, problem: { code: 'container-malformed', message, ...(offset !== undefined ? { offset } : {}) } };
}
function ambiguous(message: string, offset?: number): DirectoryResult {
  return { ok: false, problem: { code: 'container-ambiguous', message, ...(offset !== undefined ? { offset } : {}) } };
}

interface EndRecord {
  /** Offset of the record the directory ends at (zip64 EOCD when present, else EOCD). */
  endOffset: number;
  count: number;
  cdSize: number;
  cdOffset: number;
}

/** Last EOCD signature with a whole record after it (both miniz and zipfile take the last). */
function findEocd(source: ByteSource): number | undefined {
  const tailLength = Math.min(source.size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = source.size - tailLength;
  const tail = source.read(tailStart, tailLength);
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail[i] === 0x50 && u32(tail, i) === EOCD_SIG) return tailStart + i;
  }
  return undefined;
}

function readEndRecord(source: ByteSource): EndRecord | DirectoryResult {
  const eocdAt = findEocd(source);
  if (eocdAt === undefined) return malformed('no end-of-central-directory record: not a readable zip');
  const eocd = copyOf(source.read(eocdAt, EOCD_SIZE));
  const disk = u16(eocd, 4);
  const cdDisk = u16(eocd, 6);
  const onDisk = u16(eocd, 8);
  let count = u16(eocd, 10);
  let cdSize = u32(eocd, 12);
  let cdOffset = u32(eocd, 16);
  let endOffset = eocdAt;

  if (eocdAt >= ZIP64_LOCATOR_SIZE) {
    const loc = copyOf(source.read(eocdAt - ZIP64_LOCATOR_SIZE, ZIP64_LOCATOR_SIZE));
    if (u32(loc, 0) === ZIP64_LOCATOR_SIG) {
      const recordAt = u64(loc, 8);
      // miniz follows the locator's pointer; zipfile reads the 56 bytes right before the locator.
      const expected = eocdAt - ZIP64_LOCATOR_SIZE - ZIP64_EOCD_SIZE;
      if (recordAt === undefined || recordAt !== expected) {
        return ambiguous('zip64 locator points somewhere other than just before it: miniz and zipfile would read different directories', eocdAt);
      }
      if (u32(loc, 4) !== 0 || u32(loc, 16) > 1) return malformed('multi-disk zip64 archive', eocdAt);
      const rec = copyOf(source.read(recordAt, ZIP64_EOCD_SIZE));
      if (rec.length < ZIP64_EOCD_SIZE || u32(rec, 0) !== ZIP64_EOCD_SIG) return malformed('zip64 end-of-central-directory record missing', recordAt);
      const c = u64(rec, 32);
      const onDisk64 = u64(rec, 24);
      const s = u64(rec, 40);
      const o = u64(rec, 48);
      if (c === undefined || s === undefined || o === undefined || onDisk64 === undefined) return malformed('zip64 sizes too large', recordAt);
      if (u32(rec, 16) !== 0 || u32(rec, 20) !== 0 || onDisk64 !== c) return malformed('multi-disk zip64 archive', recordAt);
      count = c;
      cdSize = s;
      cdOffset = o;
      endOffset = recordAt;
      return { endOffset, count, cdSize, cdOffset };
    }
  }
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) return malformed('multi-disk zip archive (torch and zipfile refuse these)', eocdAt);
  return { endOffset, count, cdSize, cdOffset };
}

function decodeName(bytes: Uint8Array, flags: number): string {
  if (flags & FLAG_UTF8) return new TextDecoder('utf-8').decode(bytes);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Applies a zip64 extra field (0x0001) to the sizes/offset that are saturated. */
function applyZip64Extra(
  extra: Uint8Array,
  sizes: { usize: number; csize: number; offset: number; disk: number },
): string | undefined {
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = u16(extra, at);
    const len = u16(extra, at + 2);
    if (at + 4 + len > extra.length) return 'corrupt extra field';
    if (id === 0x0001) {
      let p = at + 4;
      const end = at + 4 + len;
      const take = (): number | undefined => {
        if (p + 8 > end) return undefined;
        const v = u64(extra, p);
        p += 8;
        return v;
      };
      for (const key of ['usize', 'csize', 'offset'] as const) {
        if (sizes[key] !== 0xffffffff) continue;
        const v = take();
        if (v === undefined) return 'zip64 extra field too short or value too large';
        sizes[key] = v;
      }
    }
    at += 4 + len;
  }
  return undefined;
}

/** Reads the whole central directory. `maxEntries` is checked before anything is parsed. */
export function readDirectory(source: ByteSource, maxEntries: number): DirectoryResult {
  const end = readEndRecord(source);
  if ('ok' in end) return end;
  const { count, cdSize, cdOffset, endOffset } = end;
  if (count > maxEntries) return { ok: 'too-many', count };
  // zipfile shifts every offset by the bytes found before the directory ("concat"); miniz does not.
  if (endOffset - cdSize - cdOffset !== 0) {
    return ambiguous(`central directory does not end where the end record starts (${endOffset - cdSize - cdOffset} bytes of slack): zipfile and miniz would read different offsets`, endOffset);
  }
  if (cdOffset + cdSize > source.size) return malformed('central directory extends past the end of the file', cdOffset);
  const cd = copyOf(source.read(cdOffset, cdSize));
  if (cd.length !== cdSize) return malformed('central directory truncated', cdOffset);

  const entries: ZipEntry[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + CENTRAL_SIZE > cd.length || u32(cd, at) !== CENTRAL_SIG) return malformed(`central directory entry ${index} is missing or truncated`, cdOffset + at);
    const flags = u16(cd, at + 8);
    const method = u16(cd, at + 10);
    const nameLen = u16(cd, at + 28);
    const extraLen = u16(cd, at + 30);
    const commentLen = u16(cd, at + 32);
    const sizes = { csize: u32(cd, at + 20), usize: u32(cd, at + 24), offset: u32(cd, at + 42), disk: u16(cd, at + 34) };
    const recordEnd = at + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (recordEnd > cd.length) return malformed(`central directory entry ${index} runs past the directory`, cdOffset + at);
    const nameBytes = copyOf(cd.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLen));
    const extraProblem = applyZip64Extra(cd.subarray(at + CENTRAL_SIZE + nameLen, at + CENTRAL_SIZE + nameLen + extraLen), sizes);
    if (extraProblem) return malformed(`central directory entry ${index}: ${extraProblem}`, cdOffset + at);
    if (sizes.disk !== 0 && sizes.disk !== 0xffff) return malformed(`central directory entry ${index} is on another disk`, cdOffset + at);
    entries.push({
      index,
      nameBytes,
      name: decodeName(nameBytes, flags),
      flags,
      method,
      compressedSize: sizes.csize,
      uncompressedSize: sizes.usize,
      localHeaderOffset: sizes.offset,
    });
    at = recordEnd;
  }
  if (at !== cd.length) {
    return ambiguous(`central directory holds ${cd.length - at} bytes after its ${count} declared entries: zipfile would read entries miniz does not`, cdOffset + at);
  }
  return { ok: true, directory: { entries } };
}
