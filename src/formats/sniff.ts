/**
 * Format detection by content, never by file name. Each check mirrors how a real
 * loader decides: torch.load (zip magic, then tar, then legacy pickles), np.load
 * (zip, npy, else pickle) and joblib (compressor magic prefixes).
 */
import type { ByteSource } from '../io/byte-source.js';
import type { Compression } from './types.js';

export type Sniffed =
  | { kind: 'zip' } // PK\x03\x04, or PK\x05\x06 (an empty zip, which np.load also opens)
  | { kind: 'npy' }
  | { kind: 'compressed'; compression: Compression }
  | { kind: 'joblib-zf' } // joblib's legacy zlib container ("ZF" + length)
  | { kind: 'tar' }
  | { kind: 'torch-legacy' } // first pickle is the literal torch magic number
  | { kind: 'pickle' } // first bytes could start an unpickle
  | { kind: 'unknown' };

/** How many leading bytes `sniff` looks at (a tar header is 512 bytes). */
export const SNIFF_BYTES = 512;

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Compressor prefixes in the order joblib's `_detect_compressor` tries them. */
const COMPRESSED_MAGICS: ReadonlyArray<[Compression, readonly number[]]> = [
  ['zlib', [0x78]],
  ['gzip', [0x1f, 0x8b]],
  ['bz2', [0x42, 0x5a, 0x68]], // BZh
  ['lzma', [0x5d, 0x00]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
];

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

export function isZipMagic(head: Uint8Array): boolean {
  return startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06]);
}

/** torch.load's own zip test: only the local-header magic counts. */
export function isTorchZipMagic(head: Uint8Array): boolean {
  return startsWith(head, [0x50, 0x4b, 0x03, 0x04]);
}

export function isNpyMagic(head: Uint8Array): boolean {
  return startsWith(head, NPY_MAGIC);
}

export function compressionOf(head: Uint8Array): Compression | undefined {
  for (const [kind, magic] of COMPRESSED_MAGICS) if (startsWith(head, magic)) return kind;
  return undefined;
}

export function isJoblibZf(head: Uint8Array): boolean {
  return startsWith(head, [0x5a, 0x46]); // ZF
}

/**
 * A tar header as Python's tarfile accepts it: a 512-byte block whose checksum
 * (unsigned or signed byte sum, checksum field counted as spaces) matches the octal
 * field. Needs the whole first block.
 */
export function isTarHeader(head: Uint8Array): boolean {
  if (head.length < 512) return false;
  if (head[0] === 0) return false; // an empty name: end-of-archive block, not a member
  const field = head.subarray(148, 156);
  const text = String.fromCharCode(...field).replace(/[\0 ]+$/g, '').trim();
  if (!/^[0-7]{1,8}$/.test(text)) return false;
  const want = parseInt(text, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (head[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

// Opcodes (any protocol) that can run with an empty stack and empty memo, i.e. start an
// unpickle (memo reads g/h/j fail on the empty memo before anything runs).
const START_OPCODES = new Set<number>(
  [
    '(', 'F', 'I', 'J', 'K', 'L', 'M', 'N', 'P', 'S', 'T', 'U', 'V', 'X', ']', 'c', '}', ')', 'G', 'B', 'C',
  ]
    .map((c) => c.charCodeAt(0))
    .concat([0x80, 0x82, 0x83, 0x84, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x95, 0x96, 0x97]),
);

const IDENT_LINE = /^[A-Za-z_][A-Za-z0-9_.]*\n/;

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/**
 * Could these first bytes start an unpickle that gets as far as an import? Conservative:
 * it answers false only when CPython's unpickler would fail on the first opcode or two
 * (so nothing could run). `\x80` needs a protocol 0..5; text opcodes get a light check
 * of their argument, so source code (`class Foo:` reads as GLOBAL) and text files are
 * not taken for pickles.
 */
export function looksLikePickle(head: Uint8Array): boolean {
  const first = head[0];
  if (first === undefined || !START_OPCODES.has(first)) return false;
  const second = head[1];
  if (first === 0x80) return second !== undefined && second <= 5;
  if (second === undefined) return false; // a one-byte "pickle" never reaches STOP
  const rest = latin1(head.subarray(1, Math.min(head.length, 128)));
  switch (String.fromCharCode(first)) {
    case 'c': {
      // GLOBAL module\nname\n: both must be (dotted) identifiers for an import to succeed.
      const m = IDENT_LINE.exec(rest);
      if (!m) return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(rest); // the line goes on past what we see
      const after = rest.slice(m[0].length);
      return after === '' || /^[A-Za-z_][A-Za-z0-9_.]*(\n|$)/.test(after);
    }
    case 'I':
    case 'L':
      return /^[\s+\-0-9]/.test(rest); // int(line, 0) accepts whitespace and a sign
    case 'F':
      return /^[\s+\-0-9.iInN]/.test(rest); // float(line): inf, nan, whitespace ...
    case 'S':
      return rest[0] === "'" || rest[0] === '"';
    default:
      return true;
  }
}

/** The magic number of torch's legacy format as LONG1 payload (little-endian 0x1950a86a20f9469cfc6c). */
const TORCH_MAGIC_LONG1 = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const TORCH_MAGIC_DECIMAL = '119547037146038801333356';

/**
 * True when the first pickle is (as torch._legacy_load checks) the magic number:
 * optional PROTO and FRAME, then LONG1 or protocol-0 LONG of 0x1950a86a20f9469cfc6c.
 */
export function isTorchLegacyMagic(head: Uint8Array): boolean {
  let at = 0;
  if (head[at] === 0x80) at += 2;
  if (head[at] === 0x95) at += 9; // FRAME + 8-byte length
  if (startsWith(head, TORCH_MAGIC_LONG1, at)) return true;
  const text = latin1(head.subarray(at, at + 32));
  return text.startsWith(`L${TORCH_MAGIC_DECIMAL}L\n`) || text.startsWith(`L${TORCH_MAGIC_DECIMAL}\n`);
}

/** Classifies a whole source by its first bytes, in the order the loaders test them. */
export function sniff(source: ByteSource): Sniffed {
  return sniffHead(source.read(0, SNIFF_BYTES));
}

export function sniffHead(head: Uint8Array): Sniffed {
  if (isZipMagic(head)) return { kind: 'zip' };
  if (isNpyMagic(head)) return { kind: 'npy' };
  if (isJoblibZf(head)) return { kind: 'joblib-zf' };
  const compression = compressionOf(head);
  if (compression) return { kind: 'compressed', compression };
  if (isTarHeader(head)) return { kind: 'tar' };
  if (isTorchLegacyMagic(head)) return { kind: 'torch-legacy' };
  if (looksLikePickle(head)) return { kind: 'pickle' };
  return { kind: 'unknown' };
}

/**
 * The guard's cheap test over the first ~16 bytes: could this file be a model that a
 * Python loader unpickles (whatever its name)? True for zip, npy, tar (when 512 bytes
 * are given), compressed/joblib magics and anything that could start a pickle.
 */
export function looksLikeModel(first: Uint8Array): boolean {
  return sniffHead(first).kind !== 'unknown';
}
