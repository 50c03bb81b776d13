/**
 * Every compression joblib writes (and gzip'd pickles), detected by magic prefix the way
 * joblib's `_detect_compressor` does, and decoded synchronously with an output cap that is
 * enforced while decoding.
 *
 * zlib/gzip: node:zlib (native, `maxOutputLength`). bz2, xz, .lzma and lz4 frames: our own
 * decoders in this folder (see docs/compression.md for why). `openDecompressed` streams
 * every codec but the legacy ZF container through a window.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { bufferSource, type ByteSource } from '../../io/byte-source.js';
import type { Compression } from '../types.js';
import { bzip2PullDecoder, decodeBzip2 } from './bzip2.js';
import { countDecoded, decodedSource } from './decoded-source.js';
import { decodeLz4 } from './lz4.js';
import { lz4PullDecoder } from './lz4-stream.js';
import { decodeLzmaAlone, lzmaAloneSteps } from './lzma-alone.js';
import { CorruptInput, OutputLimit, UnsupportedInput, type PullDecoder } from './output.js';
import { stepsPullDecoder } from './steps.js';
import { decodeXz, xzSteps } from './xz.js';
import { streamingZlibAvailable, zlibPullDecoder } from './zlib-stream.js';

export type CompressionKind = Compression | 'joblib-zf';

export type DecompressResult =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; code: 'decompression-failed' | 'limit' | 'unsupported-compression'; message: string };

const PREFIXES: ReadonlyArray<readonly [Compression, readonly number[]]> = [
  ['zlib', [0x78]],
  ['gzip', [0x1f, 0x8b]],
  ['bz2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['lzma', [0x5d, 0x00]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
];

/** Longest prefix we look at: callers pass at least this many head bytes. */
export const DETECT_BYTES = 6;

function startsWith(head: Uint8Array, prefix: readonly number[]): boolean {
  if (head.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (head[i] !== prefix[i]) return false;
  return true;
}

/**
 * Which decoder joblib would use for a file starting with `head`, in joblib's order
 * (legacy `ZF` first), or undefined for "not compressed".
 */
export function detectCompression(head: Uint8Array): Compression | 'joblib-zf' | undefined {
  if (startsWith(head, [0x5a, 0x46])) return 'joblib-zf';
  for (const [kind, prefix] of PREFIXES) if (startsWith(head, prefix)) return kind;
  return undefined;
}

/**
 * Decodes all of `input` as `kind`, never producing more than `maxOutputBytes`.
 * Every failure is a result, never a throw.
 */
export function decompressSync(kind: CompressionKind, input: Uint8Array, maxOutputBytes: number): DecompressResult {
  const cap = Math.max(0, Math.floor(maxOutputBytes));
  try {
    const bytes = decode(kind, input, cap);
    // node:zlib needs a cap of at least 1: check the 0 case here.
    if (bytes.length > cap) throw new OutputLimit(`decompressed output exceeds the limit of ${cap} bytes`);
    return { ok: true, bytes };
  } catch (e) {
    return failure(kind, e, cap);
  }
}

function decode(kind: CompressionKind, input: Uint8Array, cap: number): Uint8Array {
  switch (kind) {
    case 'zlib':
      return inflateZlib(input, cap);
    case 'gzip':
      return gunzipSync(input, zlibOptions(input, cap));
    case 'bz2':
      return decodeBzip2(input, cap);
    case 'xz':
      return decodeXz(input, cap);
    case 'lzma':
      return decodeLzmaAlone(input, cap);
    case 'lz4':
      return decodeLz4(input, cap);
    case 'joblib-zf':
      return decodeJoblibZf(input, cap);
    default:
      throw new UnsupportedInput(`unknown compression ${String(kind)}`);
  }
}

/**
 * node:zlib output options. node:zlib writes into chunks of `chunkSize` and joins them at the
 * end (twice the output in memory); one chunk big enough for the usual ratio (8x; float
 * arrays compress about 7x) avoids the join and halves peak memory. Pages of the chunk that
 * are never written are never touched.
 */
function zlibOptions(input: Uint8Array, cap: number): { maxOutputLength: number; chunkSize: number } {
  const chunk = Math.min(Math.max(input.length * 8, 1 << 20), cap + 1, 1 << 30);
  return { maxOutputLength: Math.max(1, cap), chunkSize: Math.max(64, chunk) };
}

/** One zlib stream (joblib's BinaryZlibFile never reads past the first); trailing bytes are refused. */
function inflateZlib(input: Uint8Array, cap: number): Uint8Array {
  const { buffer, engine } = inflateSync(input, { ...zlibOptions(input, cap), info: true }) as unknown as {
    buffer: Buffer;
    engine: { bytesWritten: number };
  };
  if (engine.bytesWritten !== input.length) {
    throw new CorruptInput(`${input.length - engine.bytesWritten} bytes follow the end of the zlib stream`);
  }
  return buffer;
}

const ZF_HEADER = 2 + 19; // 'ZF' + len(hex(2**64)), space-padded

/**
 * joblib < 0.10 `ZF` files: 'ZF', the decompressed length in hex padded to 19 chars, an
 * optional extra space, then one zlib stream that must decode to exactly that length
 * (joblib asserts it before unpickling).
 */
function decodeJoblibZf(input: Uint8Array, cap: number): Uint8Array {
  if (input.length < ZF_HEADER) throw new CorruptInput('joblib ZF header truncated');
  const field = Buffer.from(input.subarray(2, ZF_HEADER)).toString('latin1');
  const m = /^\s*(?:0x)?([0-9a-fA-F]+)\s*$/.exec(field);
  if (!m) throw new CorruptInput(`joblib ZF length field ${JSON.stringify(field)} is not a hex number we read exactly`);
  const length = Number.parseInt(m[1]!, 16);
  if (length > cap) throw new OutputLimit(`joblib ZF declares ${length} bytes, over the limit of ${cap}`);
  const start = input[ZF_HEADER] === 0x20 ? ZF_HEADER + 1 : ZF_HEADER;
  // zlib.decompress in Python ignores bytes after the stream; so do we here.
  let data: Buffer;
  try {
    // One byte more than declared is enough to know the length is wrong.
    data = inflateSync(input.subarray(start), zlibOptions(input, length + 1));
  } catch (e) {
    if ((e as { code?: unknown })?.code === 'ERR_BUFFER_TOO_LARGE') throw new CorruptInput(`joblib ZF stream decodes to more than the ${length} bytes its header says`);
    throw e;
  }
  if (data.length !== length) throw new CorruptInput(`joblib ZF stream decodes to ${data.length} bytes, header says ${length}`);
  return data;
}

/** Decompressed bytes as a source; `close` frees the decoder; `error` tells a read that stopped short. */
export interface Decompressed {
  source: ByteSource;
  /** Whether the bytes are decoded on demand through a window (every codec but ZF) rather than held whole. */
  streaming: boolean;
  error(): string | undefined;
  close(): void;
}

export type OpenResult = { ok: true; value: Decompressed } | Extract<DecompressResult, { ok: false }>;

/** Output an `.lzma` stream decodes between pauses (xz pauses after each LZMA2 chunk, at most 2 MiB). */
const LZMA_STEP = 1 << 20;

/**
 * The streaming decoder for `kind`, when there is one. zlib, gzip and lz4 read their input
 * through the source; bzip2, xz and .lzma read it whole (bzip2 blocks are not byte-aligned,
 * the LZMA range decoder reads from one array), once, shared by every decoder they start.
 */
function pullDecoder(kind: CompressionKind, input: ByteSource, cap: number): (() => PullDecoder) | undefined {
  if ((kind === 'zlib' || kind === 'gzip') && streamingZlibAvailable()) return () => zlibPullDecoder(kind, input);
  if (kind === 'lz4') return () => lz4PullDecoder(input);
  if (kind !== 'bz2' && kind !== 'xz' && kind !== 'lzma') return undefined;
  // A copy: a source's view is only valid until its next read.
  const bytes = input.read(0, input.size).slice();
  if (kind === 'bz2') return () => bzip2PullDecoder(bytes);
  if (kind === 'xz') return () => stepsPullDecoder((out) => xzSteps(bytes, out));
  return () => stepsPullDecoder((out) => lzmaAloneSteps(bytes, out, cap, LZMA_STEP));
}

/**
 * Decompresses `input` as `kind` under `maxOutputBytes`, as a ByteSource. Every codec but
 * the legacy ZF container is decoded once to learn the size (and prove the stream decodes
 * within the cap), then again, window by window, as the source is read: memory stays at the
 * window (plus the codec's block or dictionary) whatever the output size. ZF decodes the
 * whole stream into memory (bounded by the cap).
 * Every failure is a result, never a throw.
 */
export function openDecompressed(kind: CompressionKind, input: ByteSource, maxOutputBytes: number): OpenResult {
  const cap = Math.max(0, Math.floor(maxOutputBytes));
  const streamsInput = ((kind === 'zlib' || kind === 'gzip') && streamingZlibAvailable()) || kind === 'lz4';
  // Decoders that take their input whole: bound it by the cap too.
  if (!streamsInput && input.size > cap) {
    return { ok: false, code: 'limit', message: `${kind} input of ${input.size} bytes is larger than the ${cap} bytes it may decompress to` };
  }
  const open = pullDecoder(kind, input, cap);
  if (open) {
    try {
      const source = decodedSource(open, countDecoded(open, cap));
      return { ok: true, value: { source, streaming: true, error: source.error, close: source.close } };
    } catch (e) {
      return failure(kind, e, cap);
    }
  }
  const result = decompressSync(kind, input.read(0, input.size), cap);
  if (!result.ok) return result;
  return { ok: true, value: { source: bufferSource(result.bytes), streaming: false, error: () => undefined, close: () => {} } };
}

function failure(kind: CompressionKind, e: unknown, cap: number): Extract<DecompressResult, { ok: false }> {
  const detail = e instanceof Error ? e.message : String(e);
  if (e instanceof OutputLimit || (e as { code?: unknown })?.code === 'ERR_BUFFER_TOO_LARGE') {
    return { ok: false, code: 'limit', message: `${kind}: decompressed output exceeds the limit of ${cap} bytes` };
  }
  if (e instanceof UnsupportedInput) return { ok: false, code: 'unsupported-compression', message: `${kind}: ${detail}` };
  return { ok: false, code: 'decompression-failed', message: `${kind} stream does not decode: ${detail}` };
}
