/**
 * A ByteSource over the output of a streaming decoder, holding one window of it.
 *
 * The readers that consume decompressed bytes move forward (the pickle machine in 1 MiB
 * windows, joblib skipping array bytes); a read behind the window restarts the decoder
 * from the first byte (the second, "plain" reading of a joblib stream does that, and it
 * usually stops early). So memory is the window (grown only for a single larger read),
 * not the decompressed size.
 *
 * A ByteSource has a size before the first read, and a decoder learns it at the end: so
 * `countDecoded` decodes once, keeping only the first and last windows, which also proves
 * the stream decodes and fits the cap before anything is scanned. Reads inside those two
 * windows need no decoder: a stream of one big array (pickle head, array bytes, pickle
 * tail) is decoded once in all; reads in the middle cost a second decoding. If a later decoding disagrees (the file
 * changed between passes), reads stop short and `error()` says why; the caller reports it.
 */
import type { ByteSource } from '../../io/byte-source.js';
import { OutputLimit, type PullDecoder } from './output.js';

/** Decoded bytes kept behind the last read, so a small step back needs no restart. */
const LOOKBACK = 1 << 16;
/** Window the decoder writes into (and the output chunk of the counting pass). */
const WINDOW = 1 << 20;

const EMPTY = new Uint8Array(0);

/** What the counting pass learned: the size, and copies of the first and last windows. */
export interface Counted {
  size: number;
  /** Decoded bytes [0, head.length). */
  head: Uint8Array;
  /** Decoded bytes [tailStart, size). */
  tail: Uint8Array;
  tailStart: number;
}

/**
 * Decodes the whole stream once, keeping only its first window and its last one or two
 * (a joblib stream's pickle opcodes sit at its start and end, around the array bytes).
 * Throws OutputLimit past `cap`, checked while decoding.
 */
export function countDecoded(open: () => PullDecoder, cap: number): Counted {
  const decoder = open();
  // Two windows in turn: when the stream ends, the previous and the current one are its tail.
  let cur = new Uint8Array(WINDOW);
  let prev = new Uint8Array(WINDOW);
  let curLen = 0;
  let prevLen = 0;
  let head: Uint8Array | undefined;
  let total = 0;
  try {
    for (;;) {
      if (curLen === cur.length) {
        head ??= cur.slice();
        [prev, cur] = [cur, prev];
        prevLen = curLen;
        curLen = 0;
      }
      // Ask for at most one byte past the cap, so a bomb stops there.
      const room = Math.min(cur.length - curLen, cap - total + 1);
      const n = decoder.read(cur.subarray(curLen, curLen + room));
      if (n === 0) break;
      curLen += n;
      total += n;
      if (total > cap) throw new OutputLimit(`decompressed output exceeds the limit of ${cap} bytes`);
    }
  } finally {
    decoder.close();
  }
  const tail = new Uint8Array(prevLen + curLen);
  tail.set(prev.subarray(0, prevLen));
  tail.set(cur.subarray(0, curLen), prevLen);
  return { size: total, head: head ?? tail, tail, tailStart: total - tail.length };
}

export interface DecodedSource extends ByteSource {
  /** Why a read stopped short (a decoding that disagrees with the counting pass), if one did. */
  error(): string | undefined;
  /** How many times the decoder was started (1 for a forward-only scan). */
  starts(): number;
  close(): void;
}

/**
 * A source of the `counted.size` decoded bytes: reads inside the counted head or tail are
 * served from them; others from `open()` decoders on demand.
 */
export function decodedSource(open: () => PullDecoder, counted: Counted): DecodedSource {
  const { size, head, tail, tailStart } = counted;
  let decoder: PullDecoder | undefined;
  let buf = new Uint8Array(0); // allocated on the first read that needs the decoder
  let bufStart = 0; // absolute offset of buf[0]
  let bufLen = 0;
  let done = false;
  let failure: string | undefined;
  let starts = 0;

  /** A fresh decoder at offset 0; false (and `failure` set) when it cannot start. */
  function restart(): boolean {
    decoder?.close();
    decoder = undefined;
    if (buf.length === 0) buf = new Uint8Array(WINDOW);
    bufStart = 0;
    bufLen = 0;
    done = false;
    starts++;
    try {
      decoder = open();
      return true;
    } catch (e) {
      failure ??= `decoding again failed: ${e instanceof Error ? e.message : String(e)}`;
      return false;
    }
  }

  /** Decodes into buf[bufLen, buf.length); false at the end of the stream or on failure. */
  function decodeMore(): boolean {
    if (done || failure) return false;
    try {
      const n = decoder!.read(buf.subarray(bufLen));
      if (n === 0) done = true;
      bufLen += n;
      if (bufStart + bufLen > size) failure = `decoding again produced more than the ${size} bytes counted before`;
      else if (done && bufStart + bufLen < size) failure = `decoding again ended after ${bufStart + bufLen} of the ${size} bytes counted before`;
      return n > 0 && !failure;
    } catch (e) {
      failure = `decoding again failed: ${e instanceof Error ? e.message : String(e)}`;
      return false;
    }
  }

  /** Keeps decoded bytes from `from` on at the start of buf, decoding and dropping those before it. */
  function keepFrom(from: number): void {
    const produced = bufStart + bufLen;
    if (from <= bufStart) return;
    if (from < produced) {
      buf.copyWithin(0, from - bufStart, bufLen);
      bufLen = produced - from;
      bufStart = from;
      return;
    }
    // Skip forward: decode into the whole window and drop it until `from` is reached.
    bufStart = produced;
    bufLen = 0;
    while (bufStart + buf.length <= from) {
      if (!decodeMore()) return;
      bufStart += bufLen;
      bufLen = 0;
    }
    while (bufStart + bufLen < from) if (!decodeMore()) return;
    buf.copyWithin(0, from - bufStart, bufLen);
    bufLen -= from - bufStart;
    bufStart = from;
  }

  return {
    size,
    read(offset, length) {
      if (offset >= size || length <= 0) return EMPTY;
      const end = offset + Math.min(length, size - offset);
      if (end <= head.length) return head.subarray(offset, end);
      if (offset >= tailStart) return tail.subarray(offset - tailStart, end - tailStart);
      if (failure !== undefined) return EMPTY;
      if ((decoder === undefined || offset < bufStart) && !restart()) return EMPTY;
      if (end > bufStart + bufLen) {
        keepFrom(Math.max(bufStart, offset - LOOKBACK));
        const need = end - bufStart;
        if (need > buf.length) {
          const grown = new Uint8Array(Math.max(need, WINDOW));
          grown.set(buf.subarray(0, bufLen));
          buf = grown;
        }
        while (bufStart + bufLen < end) if (!decodeMore()) break;
      }
      const from = offset - bufStart;
      if (from < 0 || from >= bufLen) return EMPTY;
      return buf.subarray(from, Math.min(bufLen, end - bufStart));
    },
    error: () => failure,
    starts: () => starts,
    close() {
      decoder?.close();
      decoder = undefined;
    },
  };
}
