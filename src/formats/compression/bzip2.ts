/**
 * Our own bzip2 decoder, written from the format as libbzip2 1.0.8 reads it: stream header,
 * blocks (symbol map, Huffman tables with MTF-coded selectors, RUNA/RUNB zero runs, MTF,
 * inverse BWT, the final run-length stage), per-block and whole-stream CRCs. Output goes
 * through an OutputBuffer, so the cap is enforced while decoding. Randomised blocks
 * (written only by bzip2 0.9.0 and earlier) are refused as unsupported.
 */
import { CorruptInput, OutputBuffer, UnsupportedInput, type PullDecoder } from './output.js';

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const END_MAGIC_HI = 0x177245;
const END_MAGIC_LO = 0x385090;
const MAX_GROUPS = 6;
const GROUP_SIZE = 50;
const MAX_ALPHA = 258;
const MAX_CODE_LEN = 20;
const MAX_SELECTORS = 18002;

/** bzip2's CRC32: polynomial 0x04c11db7, most significant bit first. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

class BitReader {
  private buf = 0;
  private count = 0;
  constructor(
    private readonly input: Uint8Array,
    public pos: number,
  ) {}

  /** Up to 24 bits, most significant first. */
  bits(n: number): number {
    while (this.count < n) {
      if (this.pos >= this.input.length) throw new CorruptInput('bzip2 stream truncated');
      this.buf = ((this.buf << 8) | this.input[this.pos++]!) >>> 0;
      this.count += 8;
    }
    this.count -= n;
    const v = (this.buf >>> this.count) & ((1 << n) - 1);
    this.buf &= (1 << this.count) - 1;
    return v;
  }

  bit(): number {
    return this.bits(1);
  }

  u32(): number {
    return (this.bits(16) * 65536 + this.bits(16)) >>> 0;
  }
}

export function decodeBzip2(input: Uint8Array, cap: number): Uint8Array {
  const out = new OutputBuffer(cap);
  let pos = 0;
  do {
    pos = decodeStream(input, pos, out);
  } while (pos < input.length);
  return out.result();
}

/** One stream at `start`; returns the offset of the byte after it (streams end byte-aligned). */
function decodeStream(input: Uint8Array, start: number, out: OutputBuffer): number {
  const stream = openStream(input, start);
  while (nextBlock(stream, out));
  return stream.r.pos;
}

interface StreamState {
  r: BitReader;
  tt: Uint32Array;
  maxBlock: number;
  combined: number;
}

/** Checks the stream header at `start` and sets up its block reader. */
function openStream(input: Uint8Array, start: number): StreamState {
  if (start + 4 > input.length || input[start] !== 0x42 || input[start + 1] !== 0x5a || input[start + 2] !== 0x68) {
    throw new CorruptInput('not a bzip2 stream (bad magic)');
  }
  const level = input[start + 3]! - 0x30;
  if (level < 1 || level > 9) throw new CorruptInput('bzip2 block size digit out of range');
  const maxBlock = level * 100000;
  return { r: new BitReader(input, start + 4), tt: new Uint32Array(maxBlock), maxBlock, combined: 0 };
}

/** Decodes the stream's next block into `out`; false (after checking the stream CRC) at its end. */
function nextBlock(s: StreamState, out: OutputBuffer): boolean {
  const { r } = s;
  const hi = r.bits(24);
  const lo = r.bits(24);
  if (hi === END_MAGIC_HI && lo === END_MAGIC_LO) {
    if (r.u32() !== s.combined) throw new CorruptInput('bzip2 stream CRC mismatch');
    return false;
  }
  if (hi !== BLOCK_MAGIC_HI || lo !== BLOCK_MAGIC_LO) throw new CorruptInput('bzip2 block magic missing');
  const blockCrc = r.u32();
  const crc = decodeBlock(r, s.tt, s.maxBlock, out);
  if (crc !== blockCrc) throw new CorruptInput('bzip2 block CRC mismatch');
  s.combined = (((s.combined << 1) | (s.combined >>> 31)) ^ blockCrc) >>> 0;
  return true;
}

/**
 * The same decoding, one block at a time, for the windowed source (decoded-source.ts): holds
 * the compressed input, one block's tables and one block's output (at most 259 bytes per
 * 5 of the block's 100-900 kB, after the final run-length stage), not the whole output.
 */
export function bzip2PullDecoder(input: Uint8Array): PullDecoder {
  let stream: StreamState | undefined = openStream(input, 0);
  let block = new OutputBuffer(stream.maxBlock * 52);
  let pending = 0;
  return {
    read(into) {
      while (pending >= block.length) {
        if (stream === undefined) return 0;
        block.length = 0;
        pending = 0;
        if (nextBlock(stream, block)) continue;
        // Streams back to back, as decodeBzip2 reads them.
        const next = stream.r.pos;
        stream = next < input.length ? openStream(input, next) : undefined;
        if (stream && block.cap < stream.maxBlock * 52) block = new OutputBuffer(stream.maxBlock * 52);
      }
      const n = Math.min(into.length, block.length - pending);
      into.set(block.bytes.subarray(pending, pending + n));
      pending += n;
      return n;
    },
    close() {
      stream = undefined;
      block = new OutputBuffer(0);
      pending = 0;
    },
  };
}

interface HuffTable {
  limit: Int32Array;
  base: Int32Array;
  perm: Int32Array;
  minLen: number;
}

function huffTable(lengths: Uint8Array, alphaSize: number): HuffTable {
  let minLen = 32;
  let maxLen = 0;
  for (let i = 0; i < alphaSize; i++) {
    const l = lengths[i]!;
    if (l > maxLen) maxLen = l;
    if (l < minLen) minLen = l;
  }
  const perm = new Int32Array(MAX_ALPHA);
  const base = new Int32Array(MAX_CODE_LEN + 3);
  const limit = new Int32Array(MAX_CODE_LEN + 3);
  let pp = 0;
  for (let len = minLen; len <= maxLen; len++) for (let j = 0; j < alphaSize; j++) if (lengths[j] === len) perm[pp++] = j;
  for (let i = 0; i < alphaSize; i++) base[lengths[i]! + 1]!++;
  for (let i = 1; i < base.length; i++) base[i] = base[i]! + base[i - 1]!;
  let vec = 0;
  for (let len = minLen; len <= maxLen; len++) {
    vec += base[len + 1]! - base[len]!;
    limit[len] = vec - 1;
    vec <<= 1;
  }
  for (let len = minLen + 1; len <= maxLen; len++) base[len] = ((limit[len - 1]! + 1) << 1) - base[len]!;
  for (let len = maxLen + 1; len < limit.length; len++) limit[len] = 0x7fffffff;
  return { limit, base, perm, minLen };
}

function decodeSymbol(r: BitReader, t: HuffTable): number {
  let zn = t.minLen;
  let zvec = r.bits(zn);
  while (zvec > t.limit[zn]!) {
    if (++zn > MAX_CODE_LEN) throw new CorruptInput('bzip2 Huffman code too long');
    zvec = (zvec << 1) | r.bit();
  }
  const idx = zvec - t.base[zn]!;
  if (idx < 0 || idx >= MAX_ALPHA) throw new CorruptInput('bzip2 Huffman code out of range');
  return t.perm[idx]!;
}

/** Decodes one block into `out`; returns the CRC of what it wrote. */
function decodeBlock(r: BitReader, tt: Uint32Array, maxBlock: number, out: OutputBuffer): number {
  if (r.bit()) throw new UnsupportedInput('bzip2 randomised blocks (bzip2 <= 0.9.0) are not supported');
  const origPtr = r.bits(24);

  // Symbol map: which byte values occur.
  const seqToUnseq = new Uint8Array(256);
  let nInUse = 0;
  const used16 = r.bits(16);
  for (let i = 0; i < 16; i++) {
    if (used16 & (0x8000 >>> i)) {
      const bits = r.bits(16);
      for (let j = 0; j < 16; j++) if (bits & (0x8000 >>> j)) seqToUnseq[nInUse++] = i * 16 + j;
    }
  }
  if (nInUse === 0) throw new CorruptInput('bzip2 block uses no symbols');
  const alphaSize = nInUse + 2;

  const nGroups = r.bits(3);
  if (nGroups < 2 || nGroups > MAX_GROUPS) throw new CorruptInput('bzip2 Huffman group count out of range');
  const nSelectors = r.bits(15);
  if (nSelectors < 1) throw new CorruptInput('bzip2 block has no selectors');
  const selectors = new Uint8Array(Math.min(nSelectors, MAX_SELECTORS));
  const mtfGroups = [0, 1, 2, 3, 4, 5];
  for (let i = 0; i < nSelectors; i++) {
    let j = 0;
    while (r.bit()) if (++j >= nGroups) throw new CorruptInput('bzip2 selector out of range');
    // libbzip2 1.0.8 reads selectors past 18002 and drops them.
    if (i < MAX_SELECTORS) {
      const g = mtfGroups[j]!;
      mtfGroups.splice(j, 1);
      mtfGroups.unshift(g);
      selectors[i] = g;
    }
  }

  const tables: HuffTable[] = [];
  const lengths = new Uint8Array(MAX_ALPHA);
  for (let t = 0; t < nGroups; t++) {
    let curr = r.bits(5);
    for (let i = 0; i < alphaSize; i++) {
      for (;;) {
        if (curr < 1 || curr > MAX_CODE_LEN) throw new CorruptInput('bzip2 code length out of range');
        if (!r.bit()) break;
        curr += r.bit() ? -1 : 1;
      }
      lengths[i] = curr;
    }
    tables.push(huffTable(lengths, alphaSize));
  }

  // Huffman + RUNA/RUNB + MTF: the BWT-transformed block, bytes in the low 8 bits of tt.
  const eob = nInUse + 1;
  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i++) mtf[i] = i;
  const counts = new Int32Array(256);
  let nblock = 0;
  let groupNo = -1;
  let groupPos = 0;
  let table = tables[0]!;
  const next = (): number => {
    if (groupPos === 0) {
      if (++groupNo >= selectors.length) throw new CorruptInput('bzip2 block runs past its selectors');
      groupPos = GROUP_SIZE;
      table = tables[selectors[groupNo]!]!;
      if (table === undefined) throw new CorruptInput('bzip2 selector names a missing table');
    }
    groupPos--;
    return decodeSymbol(r, table);
  };
  let sym = next();
  for (;;) {
    if (sym === eob) break;
    if (sym <= 1) {
      let run = 0;
      let weight = 1;
      do {
        if (weight >= 1 << 21) throw new CorruptInput('bzip2 zero run too long');
        run += (sym + 1) * weight;
        weight <<= 1;
        sym = next();
      } while (sym <= 1);
      const byte = seqToUnseq[mtf[0]!]!;
      if (nblock + run > maxBlock) throw new CorruptInput('bzip2 block larger than its level allows');
      counts[byte]! += run;
      tt.fill(byte, nblock, nblock + run);
      nblock += run;
      continue;
    }
    if (sym > eob) throw new CorruptInput('bzip2 symbol out of range');
    const nn = sym - 1;
    const uc = mtf[nn]!;
    mtf.copyWithin(1, 0, nn);
    mtf[0] = uc;
    const byte = seqToUnseq[uc]!;
    if (nblock >= maxBlock) throw new CorruptInput('bzip2 block larger than its level allows');
    counts[byte]!++;
    tt[nblock++] = byte;
    sym = next();
  }
  if (origPtr >= nblock) throw new CorruptInput('bzip2 block origin pointer out of range');

  // Inverse BWT: link each position to the next, then walk from origPtr.
  const cftab = new Int32Array(257);
  for (let i = 0; i < 256; i++) cftab[i + 1] = cftab[i]! + counts[i]!;
  for (let i = 0; i < nblock; i++) {
    const b = tt[i]! & 0xff;
    tt[cftab[b]!]! |= i << 8;
    cftab[b]!++;
  }
  return unRle(tt, nblock, tt[origPtr]! >>> 8, out);
}

/** Walks the BWT links, undoes the first-stage run-length coding, writes to `out`, returns the block CRC. */
function unRle(tt: Uint32Array, nblock: number, start: number, out: OutputBuffer): number {
  let crc = 0xffffffff;
  let tPos = start;
  let last = -1;
  let run = 0;
  for (let k = 0; k < nblock; k++) {
    const entry = tt[tPos]!;
    const ch = entry & 0xff;
    tPos = entry >>> 8;
    if (run === 4) {
      // A repeat count after four equal bytes.
      for (let i = 0; i < ch; i++) {
        out.push(last);
        crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ last) & 0xff]!) >>> 0;
      }
      run = 0;
      last = -1;
      continue;
    }
    if (ch === last) run++;
    else {
      last = ch;
      run = 1;
    }
    out.push(ch);
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ ch) & 0xff]!) >>> 0;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
