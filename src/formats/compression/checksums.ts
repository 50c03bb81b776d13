/**
 * Checksums the containers carry: CRC32 (xz headers, gzip), CRC64/ECMA-182 (xz's default
 * block check) and xxHash32 (lz4 frames). Table-driven, written from the published algorithms.
 */

const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32 of bytes[start, end); `previous` continues a CRC over earlier bytes (0 to start). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) c = CRC32_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// CRC64 (reflected polynomial 0xC96C5795D7870F42), kept as 32-bit halves and computed
// four bytes at a time ("slicing by 4"): T[k][n] is the CRC of byte n followed by k zero bytes.
const CRC64_TABLES = (() => {
  const poly = 0xc96c5795d7870f42n;
  const base: bigint[] = [];
  for (let n = 0; n < 256; n++) {
    let c = BigInt(n);
    for (let k = 0; k < 8; k++) c = c & 1n ? poly ^ (c >> 1n) : c >> 1n;
    base.push(c);
  }
  const tables: Array<{ lo: Uint32Array; hi: Uint32Array }> = [];
  let prev = base;
  for (let t = 0; t < 4; t++) {
    const lo = new Uint32Array(256);
    const hi = new Uint32Array(256);
    prev.forEach((c, n) => {
      lo[n] = Number(c & 0xffffffffn);
      hi[n] = Number(c >> 32n);
    });
    tables.push({ lo, hi });
    prev = prev.map((c) => (c >> 8n) ^ base[Number(c & 0xffn)]!);
  }
  return tables;
})();

/** CRC64 as its low and high 32-bit halves; `previous` continues a CRC over earlier bytes. */
export function crc64(bytes: Uint8Array, previous: { lo: number; hi: number } = { lo: 0, hi: 0 }): { lo: number; hi: number } {
  const [t0, t1, t2, t3] = CRC64_TABLES as [typeof CRC64_TABLES[0], typeof CRC64_TABLES[0], typeof CRC64_TABLES[0], typeof CRC64_TABLES[0]];
  let lo = (previous.lo ^ 0xffffffff) >>> 0;
  let hi = (previous.hi ^ 0xffffffff) >>> 0;
  let i = 0;
  const n4 = bytes.length - 3;
  for (; i < n4; i += 4) {
    const x = (lo ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    const a = x & 0xff;
    const b = (x >>> 8) & 0xff;
    const c = (x >>> 16) & 0xff;
    const d = x >>> 24;
    lo = (hi ^ t3.lo[a]! ^ t2.lo[b]! ^ t1.lo[c]! ^ t0.lo[d]!) >>> 0;
    hi = (t3.hi[a]! ^ t2.hi[b]! ^ t1.hi[c]! ^ t0.hi[d]!) >>> 0;
  }
  for (; i < bytes.length; i++) {
    const idx = (lo ^ bytes[i]!) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ t0.lo[idx]!) >>> 0;
    hi = ((hi >>> 8) ^ t0.hi[idx]!) >>> 0;
  }
  return { lo: (lo ^ 0xffffffff) >>> 0, hi: (hi ^ 0xffffffff) >>> 0 };
}

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** xxHash32 with seed 0, as lz4 frames use it. */
export function xxh32(b: Uint8Array, start = 0, end = b.length): number {
  let i = start;
  let h: number;
  const len = end - start;
  if (len >= 16) {
    let v1 = (P1 + P2) >>> 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = (0 - P1) >>> 0;
    const limit = end - 16;
    while (i <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(u32(b, i), P2)) >>> 0, 13), P1) >>> 0;
      v2 = Math.imul(rotl((v2 + Math.imul(u32(b, i + 4), P2)) >>> 0, 13), P1) >>> 0;
      v3 = Math.imul(rotl((v3 + Math.imul(u32(b, i + 8), P2)) >>> 0, 13), P1) >>> 0;
      v4 = Math.imul(rotl((v4 + Math.imul(u32(b, i + 12), P2)) >>> 0, 13), P1) >>> 0;
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = P5;
  }
  h = (h + len) >>> 0;
  while (i + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(u32(b, i), P3)) >>> 0, 17), P4) >>> 0;
    i += 4;
  }
  while (i < end) {
    h = Math.imul(rotl((h + Math.imul(b[i]!, P5)) >>> 0, 11), P1) >>> 0;
    i++;
  }
  h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * xxHash32 (seed 0) fed in pieces: the same value as `xxh32` over the pieces joined, for
 * lz4 content checksums of frames decoded block by block.
 */
export class Xxh32 {
  private v1 = (P1 + P2) >>> 0;
  private v2 = P2;
  private v3 = 0;
  private v4 = (0 - P1) >>> 0;
  private total = 0;
  /** Bytes not yet folded into v1..v4 (fewer than 16). */
  private readonly pending = new Uint8Array(16);
  private pendingLength = 0;

  update(b: Uint8Array, start = 0, end = b.length): void {
    this.total += end - start;
    let i = start;
    if (this.pendingLength > 0) {
      const take = Math.min(16 - this.pendingLength, end - i);
      this.pending.set(b.subarray(i, i + take), this.pendingLength);
      this.pendingLength += take;
      i += take;
      if (this.pendingLength < 16) return;
      this.stripe(this.pending, 0);
      this.pendingLength = 0;
    }
    for (const limit = end - 16; i <= limit; i += 16) this.stripe(b, i);
    this.pending.set(b.subarray(i, end));
    this.pendingLength = end - i;
  }

  private stripe(b: Uint8Array, i: number): void {
    this.v1 = Math.imul(rotl((this.v1 + Math.imul(u32(b, i), P2)) >>> 0, 13), P1) >>> 0;
    this.v2 = Math.imul(rotl((this.v2 + Math.imul(u32(b, i + 4), P2)) >>> 0, 13), P1) >>> 0;
    this.v3 = Math.imul(rotl((this.v3 + Math.imul(u32(b, i + 8), P2)) >>> 0, 13), P1) >>> 0;
    this.v4 = Math.imul(rotl((this.v4 + Math.imul(u32(b, i + 12), P2)) >>> 0, 13), P1) >>> 0;
  }

  digest(): number {
    let h = this.total >= 16 ? (rotl(this.v1, 1) + rotl(this.v2, 7) + rotl(this.v3, 12) + rotl(this.v4, 18)) >>> 0 : P5;
    // xxHash32 adds the length modulo 2^32.
    h = (h + (this.total % 0x100000000)) >>> 0;
    const b = this.pending;
    const end = this.pendingLength;
    let i = 0;
    for (; i + 4 <= end; i += 4) h = Math.imul(rotl((h + Math.imul(u32(b, i), P3)) >>> 0, 17), P4) >>> 0;
    for (; i < end; i++) h = Math.imul(rotl((h + Math.imul(b[i]!, P5)) >>> 0, 11), P1) >>> 0;
    h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
    h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  }
}
