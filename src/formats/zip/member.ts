/**
 * Locates and opens one zip member the way the loaders do: sizes, offset, method and
 * flags from the central directory; the local header only for its signature and its
 * name/extra lengths (and, for zipfile, its name). Stored members stay positioned
 * windows of the file; deflated ones are inflated under the decompression caps.
 */
import { constants, inflateRawSync } from 'node:zlib';
import type { LimitName } from '../../findings.js';
import { bufferSource, sliceSource, type ByteSource } from '../../io/byte-source.js';
import { decompressSync } from '../compression/index.js';
import { FLAG_ENCRYPTED, FLAG_PATCHED, FLAG_STRONG_ENCRYPTION, FLAG_UTF8, readU16, readU32, type ZipEntry } from './directory.js';
import { copyOf } from '../bytes.js';

const LOCAL_SIG = 0x04034b50;
const LOCAL_SIZE = 30;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const METHOD_BZIP2 = 12;
const METHOD_LZMA = 14;

/** miniz also refuses entries whose local directory is masked (central-directory encryption). */
const FLAG_MASKED_LOCAL = 0x2000;

/** Which loader's rules a member is read by. */
export type ZipMode = 'torch' | 'zipfile';

export type MemberProblem = {
  code: 'container-malformed' | 'container-ambiguous' | 'unsupported-compression' | 'decompression-failed' | 'limit';
  message: string;
  limit?: LimitName;
};

export type OpenedMember =
  | {
      ok: true;
      source: ByteSource;
      /** Bytes inflated (0 for stored members). */
      inflated: number;
      /** A problem that does not stop the bytes from being read (they are still scanned). */
      warning?: MemberProblem;
    }
  | { ok: false; problem: MemberProblem };

export interface DataLocation {
  dataStart: number;
  localNameBytes: Uint8Array;
  localFlags: number;
}

/** Finds where a member's data starts: local signature + local name/extra lengths only. */
export function locateData(source: ByteSource, entry: ZipEntry): DataLocation | MemberProblem {
  const header = source.read(entry.localHeaderOffset, LOCAL_SIZE);
  if (header.length < LOCAL_SIZE || readU32(header, 0) !== LOCAL_SIG) {
    return { code: 'container-malformed', message: `no local header at offset ${entry.localHeaderOffset}` };
  }
  const localFlags = readU16(header, 6);
  const nameLen = readU16(header, 26);
  const extraLen = readU16(header, 28);
  const localNameBytes = copyOf(source.read(entry.localHeaderOffset + LOCAL_SIZE, nameLen));
  const dataStart = entry.localHeaderOffset + LOCAL_SIZE + nameLen + extraLen;
  if (dataStart + entry.compressedSize > source.size) {
    return { code: 'container-malformed', message: 'member data runs past the end of the file' };
  }
  return { dataStart, localNameBytes, localFlags };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isAscii(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b > 0x7f) return false;
  return true;
}

/** The flag/method checks both loaders make before reading a member. */
export function refusal(entry: ZipEntry, mode: ZipMode): MemberProblem | undefined {
  const flagged = entry.flags & (FLAG_ENCRYPTED | FLAG_PATCHED | FLAG_STRONG_ENCRYPTION | (mode === 'torch' ? FLAG_MASKED_LOCAL : 0));
  if (flagged) {
    return { code: 'unsupported-compression', message: `member is flagged encrypted/patched (flags 0x${entry.flags.toString(16)}): it cannot be scanned` };
  }
  const methods = mode === 'torch' ? [METHOD_STORED, METHOD_DEFLATE] : [METHOD_STORED, METHOD_DEFLATE, METHOD_BZIP2, METHOD_LZMA];
  if (!methods.includes(entry.method)) {
    const read = mode === 'torch' ? 'stored (0) and deflate (8)' : 'stored (0), deflate (8), bzip2 (12) and lzma (14)';
    return { code: 'unsupported-compression', message: `member uses compression method ${entry.method}; ${mode === 'torch' ? 'miniz' : 'zipfile'} reads only ${read}` };
  }
  if (mode === 'torch' && entry.method === 0 && entry.compressedSize !== entry.uncompressedSize) {
    return { code: 'container-malformed', message: 'stored member whose compressed and uncompressed sizes differ (miniz refuses the archive)' };
  }
  return undefined;
}

export interface InflateCap {
  cap: number;
  limit: LimitName;
}

/**
 * Opens a member for reading. `cap` bounds the inflated size (the caller passes what is
 * left of the per-member and total budgets).
 */
export function openMember(source: ByteSource, entry: ZipEntry, mode: ZipMode, cap: InflateCap): OpenedMember {
  const refused = refusal(entry, mode);
  if (refused) return { ok: false, problem: refused };
  const loc = locateData(source, entry);
  if ('code' in loc) return { ok: false, problem: loc };

  let warning: MemberProblem | undefined;
  if (mode === 'zipfile') {
    // zipfile compares the local name (decoded by the LOCAL utf-8 flag) with the central one.
    const flagMismatch = (loc.localFlags & FLAG_UTF8) !== (entry.flags & FLAG_UTF8) && !isAscii(entry.nameBytes);
    if (!sameBytes(loc.localNameBytes, entry.nameBytes) || flagMismatch) {
      warning = { code: 'container-malformed', message: 'local header name differs from the central directory name (zipfile refuses this member)' };
    }
  }

  if (entry.method === 0) {
    // miniz reads uncompressed_size bytes, zipfile min(compressed, uncompressed): equal here (checked above for torch).
    const length = Math.min(entry.compressedSize, entry.uncompressedSize);
    if (mode === 'zipfile' && entry.compressedSize !== entry.uncompressedSize) {
      warning ??= { code: 'container-ambiguous', message: 'stored member whose compressed and uncompressed sizes differ' };
    }
    return { ok: true, source: sliceSource(source, loc.dataStart, length), inflated: 0, ...(warning ? { warning } : {}) };
  }

  if (entry.uncompressedSize > cap.cap) {
    return {
      ok: false,
      problem: { code: 'limit', limit: cap.limit, message: `member declares ${entry.uncompressedSize} decompressed bytes, more than the ${cap.cap} allowed (${cap.limit})` },
    };
  }
  if (entry.compressedSize > cap.cap) {
    return {
      ok: false,
      problem: { code: 'limit', limit: cap.limit, message: `member has ${entry.compressedSize} compressed bytes, more than the ${cap.cap} allowed (${cap.limit})` },
    };
  }
  const compressed = source.read(loc.dataStart, entry.compressedSize);
  if (entry.method === METHOD_BZIP2 || entry.method === METHOD_LZMA) return decodeOther(entry, compressed, cap, warning);
  let out: Buffer;
  try {
    // SYNC_FLUSH: a truncated stream still yields what it decodes (an unpickler would run those bytes).
    out = inflateRawSync(compressed, { maxOutputLength: Math.max(1, entry.uncompressedSize + 1), finishFlush: constants.Z_SYNC_FLUSH });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      return {
        ok: false,
        problem: { code: 'container-ambiguous', message: `member inflates to more than its declared ${entry.uncompressedSize} bytes (miniz fails, zipfile truncates)` },
      };
    }
    return { ok: false, problem: { code: 'decompression-failed', message: `member does not inflate: ${(err as Error).message}` } };
  }
  if (out.length !== entry.uncompressedSize) {
    warning ??= {
      code: 'container-ambiguous',
      message: `member inflates to ${out.length} bytes, not its declared ${entry.uncompressedSize} (truncated or inconsistent deflate stream)`,
    };
  }
  return { ok: true, source: bufferSource(out), inflated: out.length, ...(warning ? { warning } : {}) };
}

/**
 * zipfile's bzip2 (a plain bz2 stream) and lzma (2-byte version, 2-byte properties size,
 * the 5 LZMA1 properties, then raw LZMA1 data ended by a marker) members, decoded by the
 * compression module. zipfile hands out at most the declared size.
 */
function decodeOther(entry: ZipEntry, compressed: Uint8Array, cap: InflateCap, warning: MemberProblem | undefined): OpenedMember {
  let input = compressed;
  if (entry.method === METHOD_LZMA) {
    if (compressed.length < 9 || readU16(compressed, 2) !== 5) {
      return { ok: false, problem: { code: 'decompression-failed', message: 'lzma member header is not 4 bytes + 5 property bytes' } };
    }
    // Re-frame as an .lzma ("alone") stream of unknown size: properties, all-ones size, data.
    input = new Uint8Array(compressed.length - 4 + 8);
    input.set(compressed.subarray(4, 9), 0);
    input.fill(0xff, 5, 13);
    input.set(compressed.subarray(9), 13);
  }
  const result = decompressSync(entry.method === METHOD_BZIP2 ? 'bz2' : 'lzma', input, Math.min(cap.cap, entry.uncompressedSize + 1));
  if (!result.ok) {
    if (result.code === 'limit') {
      return { ok: false, problem: { code: 'container-ambiguous', message: `member decodes to more than its declared ${entry.uncompressedSize} bytes` } };
    }
    return { ok: false, problem: { code: result.code, message: result.message } };
  }
  if (result.bytes.length !== entry.uncompressedSize) {
    warning ??= { code: 'container-ambiguous', message: `member decodes to ${result.bytes.length} bytes, not its declared ${entry.uncompressedSize}` };
  }
  return { ok: true, source: bufferSource(result.bytes), inflated: result.bytes.length, ...(warning ? { warning } : {}) };
}
