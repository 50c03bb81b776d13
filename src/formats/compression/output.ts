/**
 * Shared pieces of every decoder: a growable output buffer that refuses to grow past
 * a cap (so a bomb is stopped while it is being decoded, not after), and the two
 * errors a decoder can end with.
 */

/** The input is not a valid stream of the codec (or its checksum does not match). */
export class CorruptInput extends Error {}

/** The codec or one of its options is valid but not something we decode (BCJ filters, preset dictionaries). */
export class UnsupportedInput extends Error {}

/** The decoded output would exceed the cap. */
export class OutputLimit extends Error {}

/**
 * A streaming decoder: each `read` writes the next output bytes into `out` (at least one,
 * at most `out.length`) and returns how many; 0 means the stream has ended (and was
 * checked to end properly). Throws CorruptInput/UnsupportedInput like the whole-stream
 * decoders. `close` frees what it holds; later reads return 0.
 */
export interface PullDecoder {
  read(out: Uint8Array): number;
  close(): void;
}

/**
 * Output bytes, doubling as the LZ dictionary of LZMA and LZ4 (matches copy from
 * `bytes` itself). Never holds more than `cap` bytes; its buffer is at most
 * max(cap, 64 KiB) long.
 */
export class OutputBuffer {
  bytes: Uint8Array;
  length = 0;
  readonly cap: number;
  /**
   * Bytes dropped from the front by `dropBefore` (streaming decoders keep only the
   * dictionary): `length + dropped` is the absolute output position. 0 for whole streams.
   */
  dropped = 0;

  constructor(cap: number, sizeHint = 0) {
    this.cap = cap;
    const first = Math.min(Math.max(sizeHint, 1 << 16), Math.max(cap, 1 << 16));
    this.bytes = new Uint8Array(first);
  }

  /** Makes room for `n` more bytes, or throws OutputLimit when that would pass the cap. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need > this.cap) {
      throw new OutputLimit(`decompressed output exceeds the limit of ${this.cap} bytes`);
    }
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(Math.min(size, Math.max(this.cap, need)));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  push(byte: number): void {
    if (this.length === this.bytes.length || this.length >= this.cap) this.reserve(1);
    this.bytes[this.length++] = byte;
  }

  append(chunk: Uint8Array): void {
    this.reserve(chunk.length);
    this.bytes.set(chunk, this.length);
    this.length += chunk.length;
  }

  /** Copies `len` bytes starting `distance` bytes back (distance 1 = the last byte); overlapping copies repeat. */
  copyMatch(distance: number, len: number): void {
    if (this.length + len > this.bytes.length || this.length + len > this.cap) this.reserve(len);
    const b = this.bytes;
    let from = this.length - distance;
    let to = this.length;
    const end = to + len;
    if (distance >= len && len > 32) {
      b.copyWithin(to, from, from + len);
    } else {
      while (to < end) b[to++] = b[from++]!;
    }
    this.length = end;
  }

  /** Appends input[start, end) (literal runs). */
  appendRange(input: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.length + n > this.bytes.length || this.length + n > this.cap) this.reserve(n);
    const b = this.bytes;
    if (n > 32) {
      b.set(input.subarray(start, end), this.length);
      this.length += n;
    } else {
      let to = this.length;
      for (let i = start; i < end; i++) b[to++] = input[i]!;
      this.length = to;
    }
  }

  /** Keeps only the last `keep` bytes (moved to the front); the cap then counts from there. */
  dropBefore(keep: number): void {
    const drop = this.length - Math.max(0, keep);
    if (drop <= 0) return;
    this.bytes.copyWithin(0, drop, this.length);
    this.length -= drop;
    this.dropped += drop;
  }

  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}
