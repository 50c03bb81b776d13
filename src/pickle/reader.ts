/**
 * A windowed reader over a ByteSource: the machine's cursor. It keeps one window of
 * the source addressable and refills it when an opcode needs bytes past its end, so a
 * multi-GB file is walked with one small buffer. Payloads (BINBYTES8 ...) are skipped
 * by moving the cursor, never read.
 *
 * Frames: while a FRAME is open the reader reads as CPython's C Unpickler does from a
 * file object without `peek` (io.BytesIO, which torch.load uses for a zip's data.pkl): the
 * frame is its buffer, and a read that does not fit in what is left of it (a fixed-size
 * argument, a counted string, a text line without its newline) DROPS the frame's unread
 * rest and reads from the bytes after the frame. Only bytes payloads (BINBYTES...,
 * BYTEARRAY8: C `_Unpickler_ReadInto`) run on across the end. `pickle.loads` (and a file
 * whose `peek` buffer held the whole frame) reads linearly instead; either way the
 * crossing is recorded (`crossed`) and the machine reports it as a frame violation.
 */
import type { ByteSource } from '../io/byte-source.js';
import type { LimitName } from '../findings.js';

/** Bytes requested per refill. */
export const READ_WINDOW = 1 << 20;

/** Largest text line (GLOBAL, UNICODE, INT ...) read, whatever `maxDeclaredLength` says. */
export const MAX_LINE = 64 << 20;

const EMPTY = new Uint8Array(0);

/**
 * A reason to stop reading: the stream is malformed (CPython raises there too) or a
 * bound was hit. Thrown inside the pickle layer only; `analyzePickleStream` turns it
 * into a finding.
 */
export class PickleReadError extends Error {
  constructor(
    readonly kind: 'malformed' | 'limit',
    message: string,
    readonly limit?: LimitName,
  ) {
    super(message);
  }
}

export function truncated(what: string): PickleReadError {
  return new PickleReadError('malformed', `pickle data was truncated (${what})`);
}

export class Reader {
  /** Current window and its absolute range [bufStart, bufEnd). */
  buf: Uint8Array = EMPTY;
  bufStart = 0;
  bufEnd = 0;
  /** Absolute cursor. */
  pos: number;
  readonly size: number;
  /** End of the open FRAME, or -1. While it is open the window never extends past it. */
  frameEnd = -1;
  /** The frame end the last reads crossed, or -1; the machine reads and clears it. */
  crossed = -1;

  constructor(
    readonly source: ByteSource,
    start: number,
    readonly maxDeclaredLength: number,
  ) {
    this.size = source.size;
    this.pos = start;
  }

  /** Forget the window (someone else read the source, so the view may be stale). */
  invalidate(): void {
    this.buf = EMPTY;
    this.bufStart = 0;
    this.bufEnd = 0;
  }

  /** Makes [pos, pos + n) addressable; returns the index of `pos` in `buf`. */
  ensure(n: number): number {
    if (this.pos + n <= this.bufEnd && this.pos >= this.bufStart) return this.pos - this.bufStart;
    return this.refill(n);
  }

  /** Opens a frame ending at `end` (absolute); the window is cut there. */
  openFrame(end: number): void {
    this.frameEnd = end;
    if (this.bufEnd > end) this.bufEnd = Math.max(end, this.bufStart);
  }

  /**
   * A C read of `n` bytes starts at `pos`. If it does not fit in the open frame, the
   * crossing is recorded; `_Unpickler_Read` (`dropRest`) then drops the frame's unread
   * rest and reads from the frame's end, `_Unpickler_ReadInto` (bytes payloads) runs on.
   */
  private frameRead(n: number, dropRest: boolean): void {
    const end = this.frameEnd;
    if (end < 0) return;
    if (this.pos >= end) this.frameEnd = -1;
    else if (this.pos + n > end) {
      this.crossed = end;
      this.frameEnd = -1;
      if (dropRest) this.pos = end;
    }
  }

  private refill(n: number): number {
    this.frameRead(n, true);
    if (this.pos + n <= this.bufEnd && this.pos >= this.bufStart) return this.pos - this.bufStart;
    if (this.pos + n > this.size) throw truncated(`${n} bytes needed at offset ${this.pos}, ${this.size - this.pos} left`);
    const want = Math.max(n, READ_WINDOW);
    const buf = this.source.read(this.pos, this.frameEnd >= 0 ? Math.min(want, this.frameEnd - this.pos) : want);
    if (buf.length < n) throw truncated(`source returned ${buf.length} of ${n} bytes at offset ${this.pos}`);
    this.buf = buf;
    this.bufStart = this.pos;
    this.bufEnd = this.pos + buf.length;
    return 0;
  }

  u8(): number {
    const i = this.ensure(1);
    this.pos += 1;
    return this.buf[i]!;
  }

  u16(): number {
    const i = this.ensure(2);
    this.pos += 2;
    const b = this.buf;
    return b[i]! | (b[i + 1]! << 8);
  }

  i32(): number {
    const i = this.ensure(4);
    this.pos += 4;
    const b = this.buf;
    return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
  }

  u32(): number {
    return this.i32() >>> 0;
  }

  /** Unsigned 64-bit little-endian; values past 2^53 come back as Infinity (they exceed any source). */
  u64(): number {
    // One 8-byte read, as CPython makes it (two 4-byte reads would cross a frame differently).
    const i = this.ensure(8);
    this.pos += 8;
    const b = this.buf;
    const lo = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
    const hi = (b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24)) >>> 0;
    return hi >= 0x200000 ? Infinity : hi * 0x100000000 + lo;
  }

  /** `n` bytes as a little-endian two's-complement integer (LONG1/LONG4 bodies); 0n for none. */
  signedLE(n: number): bigint {
    const i = this.ensure(n);
    const b = this.buf;
    let v = 0n;
    for (let j = n - 1; j >= 0; j--) v = (v << 8n) | BigInt(b[i + j]!);
    if (n > 0 && b[i + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    this.pos += n;
    return v;
  }

  f64be(): number {
    const i = this.ensure(8);
    this.pos += 8;
    const b = this.buf;
    const view = new DataView(b.buffer, b.byteOffset + i, 8);
    return view.getFloat64(0, false);
  }

  /**
   * Checks a declared payload length against the limit and the bytes left, after
   * applying the frame rule for a read of `n` bytes (`into`: a bytes payload, which runs
   * on across a frame end; otherwise the frame's rest is dropped).
   */
  checkLength(n: number, what: string, into = false): void {
    if (n > this.maxDeclaredLength) {
      throw new PickleReadError('limit', `${what} declares ${n} bytes, above maxDeclaredLength (${this.maxDeclaredLength})`, 'maxDeclaredLength');
    }
    this.frameRead(n, !into);
    if (n > this.size - this.pos) throw truncated(`${what} declares ${n} bytes, only ${this.size - this.pos} left`);
  }

  /** Moves past `n` payload bytes without reading them. */
  skip(n: number): void {
    this.pos += n;
  }

  /**
   * Reads a text line ending in `\n`. Returns the index in `buf` of its first byte and
   * its length without the newline; `pos` moves past the newline. No newline before
   * the end of the source is a truncation (CPython's "pickle data was truncated"). A
   * line without its newline in the open frame drops the frame's rest (C `readline`
   * then reads from the file, which stands at the frame's end).
   */
  line(): number {
    if (this.frameEnd >= 0) {
      if (this.pos >= this.frameEnd) this.frameEnd = -1;
      else {
        const i = this.findLine(this.frameEnd);
        if (i >= 0) return i;
        this.crossed = this.frameEnd;
        this.pos = this.frameEnd;
        this.frameEnd = -1;
      }
    }
    const i = this.findLine(this.size);
    if (i < 0) throw truncated(`no end of line after offset ${this.pos}`);
    return i;
  }

  /** Looks for a line ending before `limit`; -1 (pos unchanged) when there is none. */
  private findLine(limit: number): number {
    let want = 256;
    for (;;) {
      const avail = Math.min(limit - this.pos, Math.max(want, this.bufEnd - this.pos));
      if (avail <= 0) return -1;
      const i = this.ensure(avail);
      const b = this.buf;
      const stop = i + avail;
      for (let j = i; j < stop; j++) {
        if (b[j] === 0x0a) {
          if (j - i > this.maxDeclaredLength) this.lineTooLong();
          this.lineLength = j - i;
          this.pos += j - i + 1;
          return i;
        }
      }
      if (this.pos + avail >= limit) return -1;
      if (avail >= MAX_LINE || avail >= this.maxDeclaredLength) this.lineTooLong();
      want = avail * 4;
    }
  }

  private lineTooLong(): never {
    throw new PickleReadError('limit', `text argument longer than ${Math.min(MAX_LINE, this.maxDeclaredLength)} bytes at offset ${this.pos}`, 'maxDeclaredLength');
  }

  /** Length of the last line read by `line()`. */
  lineLength = 0;
}
