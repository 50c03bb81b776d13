/**
 * Synchronous, incremental zlib and gzip decoding with node:zlib's native inflater.
 *
 * Node has no public synchronous streaming zlib: `inflateSync` decodes a whole buffer, and
 * the stream classes are asynchronous. But every node:zlib stream object carries the native
 * handle that `inflateSync` itself drives (`_handle.writeSync(flush, in, inOff, inLen, out,
 * outOff, outLen)`, results in `_writeState` = [availOut, availIn]), and that handle keeps
 * its state between calls. We drive it the same way, one output window at a time, so a
 * 200 MB stream is decoded through a buffer of our choosing at native speed (fflate's
 * pure-JS streaming inflate measured 4-5x slower, below the 200 MB/s target: see
 * docs/compression.md).
 *
 * These members are undocumented, so `streamingZlibAvailable()` checks them first; when
 * a Node version changes them, callers fall back to whole-stream `inflateSync`.
 */
import { constants, createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import type { ByteSource } from '../../io/byte-source.js';
import { CorruptInput, type PullDecoder } from './output.js';

interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}

type ZlibStream = (Inflate | Gunzip) & { _handle?: NativeHandle | null; _writeState?: Uint32Array; errored?: Error | null };

/** Compressed bytes fed per native call. */
const INPUT_CHUNK = 1 << 16;

function nativeParts(z: ZlibStream): { handle: NativeHandle; state: Uint32Array } | undefined {
  const handle = z._handle;
  const state = z._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array) || state.length < 2) return undefined;
  return { handle, state };
}

let available: boolean | undefined;

/** Whether this Node exposes the native handle the way this file drives it (checked once, on real bytes). */
export function streamingZlibAvailable(): boolean {
  if (available === undefined) {
    try {
      // 'hi' deflated with zlib headers.
      const probe = new Uint8Array([0x78, 0x9c, 0xcb, 0xc8, 0x04, 0x00, 0x01, 0x3b, 0x00, 0xd2]);
      const d = zlibPullDecoder('zlib', { size: probe.length, read: (o, l) => probe.subarray(o, o + l) });
      const out = new Uint8Array(8);
      const n = d.read(out);
      const end = d.read(out.subarray(n));
      d.close();
      available = n === 2 && out[0] === 0x68 && out[1] === 0x69 && end === 0;
    } catch {
      available = false;
    }
  }
  return available;
}

/**
 * Decodes `input` as one zlib stream (trailing bytes refused, as `decompressSync` does:
 * joblib's reader never reads past it) or as gzip (node:zlib's member rules: further
 * members are decoded, trailing zero padding is ignored).
 */
export function zlibPullDecoder(kind: 'zlib' | 'gzip', input: ByteSource): PullDecoder {
  const z: ZlibStream = kind === 'zlib' ? createInflate() : createGunzip();
  // node:zlib reports a native error by destroying the stream, which emits 'error' on a
  // later tick: without a listener that would be an uncaught exception.
  z.on('error', () => {});
  const parts = nativeParts(z);
  if (!parts) {
    z.close();
    throw new CorruptInput('this Node version does not expose the zlib handle for streaming');
  }
  const { handle, state } = parts;
  let view: Uint8Array = new Uint8Array(0);
  let viewOff = 0;
  let consumed = 0; // absolute input offset of view[viewOff]
  let ended = false;

  function finish(): number {
    ended = true;
    if (kind === 'zlib' && consumed < input.size) {
      throw new CorruptInput(`${input.size - consumed} bytes follow the end of the zlib stream`);
    }
    return 0;
  }

  return {
    read(out) {
      if (ended || out.length === 0) return 0;
      // A source's view is valid only until its next read, and others may read the same
      // source between our calls: take a fresh view of the unread input each time.
      view = new Uint8Array(0);
      viewOff = 0;
      for (;;) {
        if (viewOff >= view.length && consumed < input.size) {
          view = input.read(consumed, INPUT_CHUNK);
          viewOff = 0;
          if (view.length === 0) throw new CorruptInput(`compressed input ended early at offset ${consumed}`);
        }
        const inLen = view.length - viewOff;
        const last = consumed + inLen >= input.size;
        handle.writeSync(last ? constants.Z_FINISH : constants.Z_NO_FLUSH, view, viewOff, inLen, out, 0, out.length);
        if (z.errored || z.destroyed) {
          ended = true;
          throw new CorruptInput(z.errored?.message ?? 'zlib stream error');
        }
        const produced = out.length - state[0]!;
        const used = inLen - state[1]!;
        viewOff += used;
        consumed += used;
        if (produced > 0) return produced;
        if (used === 0 && inLen > 0) return finish(); // the stream ended before this input
        if (last && viewOff >= view.length) return finish();
      }
    },
    close() {
      ended = true;
      if (!z.destroyed) z.close();
    },
  };
}
