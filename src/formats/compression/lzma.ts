/**
 * The LZMA decoder shared by our `.xz` (LZMA2) and `.lzma` ("alone") readers.
 * Written from the LZMA specification (lzma-specification.txt of the LZMA SDK);
 * output goes to an OutputBuffer that is also the dictionary, so the cap is enforced
 * byte by byte while decoding.
 */
import { CorruptInput, type OutputBuffer } from './output.js';

const PROB_INIT = 1024;
const NUM_STATES = 12;
const POS_STATES_MAX = 16;
const END_POS_MODEL_INDEX = 14;
const NUM_FULL_DISTANCES = 128;
const MATCH_MIN_LEN = 2;

/** lc/lp/pb as packed into one properties byte: (pb * 5 + lp) * 9 + lc. */
export interface LzmaProps {
  lc: number;
  lp: number;
  pb: number;
}

export function parsePropsByte(byte: number): LzmaProps {
  if (byte >= 9 * 5 * 5) throw new CorruptInput(`invalid LZMA properties byte 0x${byte.toString(16)}`);
  const lc = byte % 9;
  const rest = (byte / 9) | 0;
  return { lc, lp: rest % 5, pb: (rest / 5) | 0 };
}

/** Length decoder probabilities: choice, choice2, low[16][8], mid[16][8], high[256]. */
class LenProbs {
  readonly p = new Uint16Array(2 + POS_STATES_MAX * 8 * 2 + 256);
  reset(): void {
    this.p.fill(PROB_INIT);
  }
}
const LEN_LOW = 2;
const LEN_MID = 2 + POS_STATES_MAX * 8;
const LEN_HIGH = 2 + POS_STATES_MAX * 8 * 2;

export interface ChunkResult {
  /** Input offset just past what the range decoder consumed. */
  inputEnd: number;
  /** True when the end-of-payload marker was decoded. */
  sawEndMarker: boolean;
}

export class LzmaDecoder {
  private lc = 0;
  private lp = 0;
  private pb = 0;
  private literal = new Uint16Array(0x300 * 8);
  private readonly isMatch = new Uint16Array(NUM_STATES * POS_STATES_MAX);
  private readonly isRep = new Uint16Array(NUM_STATES);
  private readonly isRepG0 = new Uint16Array(NUM_STATES);
  private readonly isRepG1 = new Uint16Array(NUM_STATES);
  private readonly isRepG2 = new Uint16Array(NUM_STATES);
  private readonly isRep0Long = new Uint16Array(NUM_STATES * POS_STATES_MAX);
  private readonly posSlot = new Uint16Array(4 * 64);
  private readonly posSpecial = new Uint16Array(1 + NUM_FULL_DISTANCES - END_POS_MODEL_INDEX);
  private readonly align = new Uint16Array(16);
  private readonly lenProbs = new LenProbs();
  private readonly repLenProbs = new LenProbs();

  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;

  // range decoder
  private input: Uint8Array = new Uint8Array(0);
  private inPos = 0;
  private inEnd = 0;
  private range = 0;
  private code = 0;

  /** Absolute output position where the dictionary was last reset: matches may not reach before it. */
  private dictStart = 0;

  /** LZMA2 restricts lc + lp to 4; `.lzma` alone files do not. */
  lc4Limit = false;

  constructor(
    private readonly out: OutputBuffer,
    private readonly dictSize: number,
  ) {}

  setProps(props: LzmaProps): void {
    if (props.lc + props.lp > 4 && this.lc4Limit) {
      throw new CorruptInput('LZMA2 requires lc + lp <= 4');
    }
    this.lc = props.lc;
    this.lp = props.lp;
    this.pb = props.pb;
    const size = 0x300 << (props.lc + props.lp);
    if (this.literal.length !== size) this.literal = new Uint16Array(size);
  }

  resetDictionary(): void {
    this.dictStart = this.out.length + this.out.dropped;
  }

  resetState(): void {
    this.literal.fill(PROB_INIT);
    this.isMatch.fill(PROB_INIT);
    this.isRep.fill(PROB_INIT);
    this.isRepG0.fill(PROB_INIT);
    this.isRepG1.fill(PROB_INIT);
    this.isRepG2.fill(PROB_INIT);
    this.isRep0Long.fill(PROB_INIT);
    this.posSlot.fill(PROB_INIT);
    this.posSpecial.fill(PROB_INIT);
    this.align.fill(PROB_INIT);
    this.lenProbs.reset();
    this.repLenProbs.reset();
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
  }

  /**
   * Decodes from input[start, end) until `outputLimit` more bytes were produced (or the end
   * marker, when `endMarker` is 'allowed' / 'required'). A fresh range decoder is started at
   * `start` (LZMA2 restarts it on every LZMA chunk).
   */
  decode(
    input: Uint8Array,
    start: number,
    end: number,
    outputLimit: number,
    endMarker: 'forbidden' | 'allowed',
  ): ChunkResult {
    this.begin(input, start, end);
    return this.run(outputLimit, outputLimit, endMarker);
  }

  /** Starts a fresh range decoder on input[start, end). */
  begin(input: Uint8Array, start: number, end: number): void {
    this.input = input;
    this.inPos = start;
    this.inEnd = end;
    if (end - start < 5) throw new CorruptInput('LZMA data truncated');
    if (input[this.inPos++] !== 0) throw new CorruptInput('LZMA range coder must start with a zero byte');
    this.code = 0;
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.nextByte()) >>> 0;
    this.range = 0xffffffff;
    if (this.code === this.range) throw new CorruptInput('invalid LZMA range coder start');
  }

  /**
   * Goes on decoding (after `begin`) until at least `pauseAfter` more bytes were produced,
   * or `outputLimit` more (a match may not run past that one), or the end marker. A match
   * may run past the pause: the caller resumes with another `run`. A return without the
   * marker and short of `outputLimit` is such a pause.
   */
  run(pauseAfter: number, outputLimit: number, endMarker: 'forbidden' | 'allowed'): ChunkResult {
    const out = this.out;
    const target = out.length + outputLimit;
    const pause = Math.min(target, out.length + pauseAfter);
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;

    while (out.length < pause) {
      const pos = out.length + out.dropped - this.dictStart;
      const posState = pos & pbMask;
      const state = this.state;
      if (this.bit(this.isMatch, state * POS_STATES_MAX + posState) === 0) {
        this.decodeLiteral(pos, lpMask);
        continue;
      }
      let len: number;
      if (this.bit(this.isRep, state) === 1) {
        if (pos === 0) throw new CorruptInput('LZMA repeat match before any output');
        if (this.bit(this.isRepG0, state) === 0) {
          if (this.bit(this.isRep0Long, state * POS_STATES_MAX + posState) === 0) {
            this.state = state < 7 ? 9 : 11;
            out.push(out.bytes[out.length - this.rep0 - 1]!);
            continue;
          }
        } else {
          let dist: number;
          if (this.bit(this.isRepG1, state) === 0) {
            dist = this.rep1;
          } else {
            if (this.bit(this.isRepG2, state) === 0) {
              dist = this.rep2;
            } else {
              dist = this.rep3;
              this.rep3 = this.rep2;
            }
            this.rep2 = this.rep1;
          }
          this.rep1 = this.rep0;
          this.rep0 = dist;
        }
        len = this.decodeLen(this.repLenProbs, posState);
        this.state = state < 7 ? 8 : 11;
      } else {
        this.rep3 = this.rep2;
        this.rep2 = this.rep1;
        this.rep1 = this.rep0;
        len = this.decodeLen(this.lenProbs, posState);
        this.state = state < 7 ? 7 : 10;
        const dist = this.decodeDistance(len);
        if (dist === 0xffffffff) {
          if (endMarker === 'forbidden') throw new CorruptInput('unexpected LZMA end marker');
          this.normalize();
          return { inputEnd: this.inPos, sawEndMarker: true };
        }
        this.rep0 = dist;
      }
      const distance = this.rep0 + 1;
      if (distance > pos || distance > this.dictSize) {
        throw new CorruptInput(`LZMA match distance ${distance} reaches before the dictionary`);
      }
      len += MATCH_MIN_LEN;
      if (out.length + len > target) throw new CorruptInput('LZMA match runs past the declared size');
      out.copyMatch(distance, len);
    }
    return { inputEnd: this.inPos, sawEndMarker: false };
  }

  /** True when the range decoder ended cleanly (code 0), as liblzma requires at a chunk's end. */
  finishedCleanly(): boolean {
    return this.code === 0;
  }

  private decodeLiteral(pos: number, lpMask: number): void {
    const out = this.out;
    const prev = out.length + out.dropped > this.dictStart ? out.bytes[out.length - 1]! : 0;
    const base = 0x300 * (((pos & lpMask) << this.lc) + (prev >> (8 - this.lc)));
    const probs = this.literal;
    let symbol = 1;
    if (this.state >= 7) {
      const distance = this.rep0 + 1;
      if (distance > pos) throw new CorruptInput('LZMA literal refers before the dictionary');
      let matchByte = out.bytes[out.length - distance]!;
      do {
        const matchBit = (matchByte >> 7) & 1;
        matchByte <<= 1;
        const bit = this.bit(probs, base + ((1 + matchBit) << 8) + symbol);
        symbol = (symbol << 1) | bit;
        if (matchBit !== bit) break;
      } while (symbol < 0x100);
    }
    while (symbol < 0x100) symbol = (symbol << 1) | this.bit(probs, base + symbol);
    out.push(symbol & 0xff);
    const s = this.state;
    this.state = s < 4 ? 0 : s < 10 ? s - 3 : s - 6;
  }

  private decodeLen(lp: LenProbs, posState: number): number {
    const p = lp.p;
    if (this.bit(p, 0) === 0) return this.bitTree(p, LEN_LOW + posState * 8, 3);
    if (this.bit(p, 1) === 0) return 8 + this.bitTree(p, LEN_MID + posState * 8, 3);
    return 16 + this.bitTree(p, LEN_HIGH, 8);
  }

  private decodeDistance(len: number): number {
    const lenState = len < 3 ? len : 3;
    const slot = this.bitTree(this.posSlot, lenState * 64, 6);
    if (slot < 4) return slot;
    const numDirect = (slot >>> 1) - 1;
    let dist = (2 | (slot & 1)) * 2 ** numDirect;
    if (slot < END_POS_MODEL_INDEX) {
      return dist + this.reverseBitTree(this.posSpecial, dist - slot, numDirect);
    }
    dist += this.directBits(numDirect - 4) * 16;
    return dist + this.reverseBitTree(this.align, 0, 4);
  }

  private bitTree(probs: Uint16Array, base: number, numBits: number): number {
    let m = 1;
    for (let i = 0; i < numBits; i++) m = (m << 1) | this.bit(probs, base + m);
    return m - (1 << numBits);
  }

  private reverseBitTree(probs: Uint16Array, base: number, numBits: number): number {
    let m = 1;
    let symbol = 0;
    for (let i = 0; i < numBits; i++) {
      const bit = this.bit(probs, base + m);
      m = (m << 1) | bit;
      symbol |= bit << i;
    }
    return symbol;
  }

  private directBits(numBits: number): number {
    let result = 0;
    for (let i = 0; i < numBits; i++) {
      this.range >>>= 1;
      let bit = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        bit = 1;
      }
      result = result * 2 + bit;
      this.normalize();
    }
    return result;
  }

  private bit(probs: Uint16Array, i: number): number {
    const prob = probs[i]!;
    const bound = (this.range >>> 11) * prob;
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = prob + ((2048 - prob) >>> 5);
      bit = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      probs[i] = prob - (prob >>> 5);
      bit = 1;
    }
    if (this.range < 0x1000000) {
      if (this.inPos >= this.inEnd) throw new CorruptInput('LZMA data truncated');
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.input[this.inPos++]!) >>> 0;
    }
    return bit;
  }

  private normalize(): void {
    if (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.code = ((this.code * 256) + this.nextByte()) >>> 0;
    }
  }

  private nextByte(): number {
    if (this.inPos >= this.inEnd) throw new CorruptInput('LZMA data truncated');
    return this.input[this.inPos++]!;
  }
}
