/**
 * Random-access, synchronous byte sources. Scanning is synchronous because the guard
 * must answer inside `readFileSync`; sources let a multi-GB file be scanned by reading
 * only the windows the scanner asks for.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /**
   * Bytes [offset, offset + length), clipped to the end of the source (so possibly shorter).
   * The returned view may alias an internal buffer and is valid only until the next `read`
   * on this source: copy what you keep.
   */
  read(offset: number, length: number): Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** A source over bytes already in memory. Reads are zero-copy views. */
export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset, length) {
      if (offset >= bytes.length || length <= 0) return EMPTY;
      return bytes.subarray(offset, Math.min(bytes.length, offset + length));
    },
  };
}

/** A window of another source, addressed from 0. */
export function sliceSource(source: ByteSource, start: number, length: number): ByteSource {
  const size = Math.max(0, Math.min(length, source.size - start));
  return {
    size,
    read(offset, len) {
      if (offset >= size || len <= 0) return EMPTY;
      return source.read(start + offset, Math.min(len, size - offset));
    },
  };
}

export const DEFAULT_WINDOW = 1 << 20;

/**
 * A source over an open file descriptor, read with positioned reads (`pread`), so it
 * never moves the descriptor's own file position (the guard scans descriptors that the
 * app will read next). Keeps one window cached; a read larger than the window gets a
 * buffer of its own.
 */
export function fdSource(fd: number, options: { size?: number; window?: number } = {}): ByteSource {
  const size = options.size ?? fstatSync(fd).size;
  const windowSize = options.window ?? DEFAULT_WINDOW;
  let window = Buffer.allocUnsafe(0);
  let windowStart = 0;
  let windowLength = 0;

  function fill(into: Buffer, position: number, length: number): number {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, into, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  return {
    size,
    read(offset, length) {
      if (offset >= size || length <= 0) return EMPTY;
      const want = Math.min(length, size - offset);
      if (offset >= windowStart && offset + want <= windowStart + windowLength) {
        return window.subarray(offset - windowStart, offset - windowStart + want);
      }
      if (want > windowSize) {
        const own = Buffer.allocUnsafe(want);
        return own.subarray(0, fill(own, offset, want));
      }
      if (window.length < windowSize) window = Buffer.allocUnsafe(windowSize);
      windowStart = offset;
      windowLength = fill(window, offset, Math.min(windowSize, size - offset));
      return window.subarray(0, Math.min(want, windowLength));
    },
  };
}

/** Opens `path` read-only, runs `fn` over a file source, and always closes the file. */
export function withFileSource<T>(path: string, fn: (source: ByteSource, fd: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    return fn(fdSource(fd), fd);
  } finally {
    closeSync(fd);
  }
}
