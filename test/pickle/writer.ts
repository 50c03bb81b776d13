/**
 * A byte-by-byte pickle writer for tests: each method appends one opcode (with its
 * argument encoded exactly as the protocol says) and returns the writer, so streams
 * read like the disassembly they produce:
 *
 *   const w = new PickleWriter().proto(4).shortBinUnicode('os').shortBinUnicode('system').stackGlobal();
 *   const at = w.here();  // offset of the next opcode, for assertions
 *   w.shortBinUnicode('id').tuple1().reduce().stop();
 *   w.bytes();            // Uint8Array
 *
 * No validation: writing broken pickles on purpose is the point. `raw()` appends
 * arbitrary bytes; `op()` appends a bare opcode byte.
 */

const enc = new TextEncoder();

function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function u64le(n: number | bigint): number[] {
  const v = BigInt(n);
  const out: number[] = [];
  for (let i = 0n; i < 8n; i++) out.push(Number((v >> (8n * i)) & 0xffn));
  return out;
}

/** Little-endian two's complement, as `pickle.encode_long` writes it (0 -> no bytes). */
export function encodeLong(v: bigint): number[] {
  if (v === 0n) return [];
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(x & 0xffn);
    out.push(byte);
    x >>= 8n;
    if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
  }
  return out;
}

function toBytes(data: string | Uint8Array | number[]): number[] {
  if (typeof data === 'string') return [...enc.encode(data)];
  return [...data];
}

/** Latin-1 bytes of a string (each char must be < 256): for text opcodes written as raw bytes. */
export function latin1Bytes(s: string): number[] {
  return [...s].map((c) => {
    const code = c.charCodeAt(0);
    if (code > 255) throw new Error(`not latin-1: ${c}`);
    return code;
  });
}

export class PickleWriter {
  private readonly out: number[] = [];

  /** Offset of the next byte written. */
  here(): number {
    return this.out.length;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }

  /** Arbitrary bytes (a string is UTF-8 encoded). */
  raw(data: string | Uint8Array | number[]): this {
    for (const b of toBytes(data)) this.out.push(b);
    return this;
  }

  /**
   * Inserts a FRAME opcode at `at` (an offset already written) whose length is
   * everything written after `at`, plus `adjust` (negative: a frame that ends early).
   */
  frameFrom(at: number, adjust = 0): this {
    const length = this.out.length - at + adjust;
    this.out.splice(at, 0, 0x95, ...u64le(Math.max(0, length)));
    return this;
  }

  /** A bare opcode byte (by char, e.g. `'('`, or by value). */
  op(code: string | number): this {
    this.out.push(typeof code === 'string' ? code.charCodeAt(0) : code);
    return this;
  }

  private line(text: string | number[]): this {
    return this.raw(typeof text === 'string' ? text : text).raw([0x0a]);
  }

  // -- framing and structure
  proto(n: number): this { return this.op(0x80).raw([n]); }
  frame(length: number | bigint): this { return this.op(0x95).raw(u64le(length)); }
  mark(): this { return this.op('('); }
  stop(): this { return this.op('.'); }
  pop(): this { return this.op('0'); }
  popMark(): this { return this.op('1'); }
  dup(): this { return this.op('2'); }

  // -- imports
  /** GLOBAL: module and name as text lines (UTF-8 here; pass byte arrays for raw bytes). */
  global(module: string | number[], name: string | number[]): this { return this.op('c').line(module).line(name); }
  inst(module: string | number[], name: string | number[]): this { return this.op('i').line(module).line(name); }
  stackGlobal(): this { return this.op(0x93); }
  ext1(code: number): this { return this.op(0x82).raw([code]); }
  ext2(code: number): this { return this.op(0x83).raw([code & 0xff, code >> 8]); }
  ext4(code: number): this { return this.op(0x84).raw(u32le(code)); }

  // -- calls and mutation
  reduce(): this { return this.op('R'); }
  newobj(): this { return this.op(0x81); }
  newobjEx(): this { return this.op(0x92); }
  obj(): this { return this.op('o'); }
  build(): this { return this.op('b'); }
  append(): this { return this.op('a'); }
  appends(): this { return this.op('e'); }
  setitem(): this { return this.op('s'); }
  setitems(): this { return this.op('u'); }
  additems(): this { return this.op(0x90); }

  // -- memo
  put(i: number | string): this { return this.op('p').line(String(i)); }
  binput(i: number): this { return this.op('q').raw([i]); }
  longBinput(i: number): this { return this.op('r').raw(u32le(i)); }
  memoize(): this { return this.op(0x94); }
  get(i: number | string): this { return this.op('g').line(String(i)); }
  binget(i: number): this { return this.op('h').raw([i]); }
  longBinget(i: number): this { return this.op('j').raw(u32le(i)); }

  // -- strings
  shortBinUnicode(s: string | number[]): this { const b = toBytes(s); return this.op(0x8c).raw([b.length]).raw(b); }
  binUnicode(s: string | number[]): this { const b = toBytes(s); return this.op('X').raw(u32le(b.length)).raw(b); }
  binUnicode8(s: string | number[]): this { const b = toBytes(s); return this.op(0x8d).raw(u64le(b.length)).raw(b); }
  /** UNICODE: the text is written as raw-unicode-escape would (`\uXXXX` for chars > 0xff). */
  unicode(s: string): this {
    const body: number[] = [];
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x100 && ch !== '\\' && ch !== '\n') body.push(cp);
      else if (cp <= 0xffff) body.push(...latin1Bytes(`\\u${cp.toString(16).padStart(4, '0')}`));
      else body.push(...latin1Bytes(`\\U${cp.toString(16).padStart(8, '0')}`));
    }
    return this.op('V').line(body);
  }
  /** STRING: `repr`-style quoted text (written as given: include the quotes and escapes yourself when testing them). */
  string(s: string): this { return this.op('S').line(`'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`); }
  stringRaw(quoted: string | number[]): this { return this.op('S').line(quoted); }
  shortBinString(s: string | number[]): this { const b = toBytes(s); return this.op('U').raw([b.length]).raw(b); }
  binString(s: string | number[]): this { const b = toBytes(s); return this.op('T').raw(u32le(b.length)).raw(b); }

  // -- bytes
  shortBinBytes(b: number[] | Uint8Array): this { return this.op('C').raw([b.length]).raw(b); }
  binBytes(b: number[] | Uint8Array): this { return this.op('B').raw(u32le(b.length)).raw(b); }
  binBytes8(b: number[] | Uint8Array): this { return this.op(0x8e).raw(u64le(b.length)).raw(b); }
  byteArray8(b: number[] | Uint8Array): this { return this.op(0x96).raw(u64le(b.length)).raw(b); }
  /** A length prefix only (for truncation and limit tests). */
  binBytes8Header(length: number | bigint): this { return this.op(0x8e).raw(u64le(length)); }
  nextBuffer(): this { return this.op(0x97); }
  readonlyBuffer(): this { return this.op(0x98); }

  // -- numbers and constants
  int(text: string | number): this { return this.op('I').line(String(text)); }
  long(text: string | bigint): this { return this.op('L').line(typeof text === 'bigint' ? `${text}L` : text); }
  binint(n: number): this { return this.op('J').raw(u32le(n)); }
  binint1(n: number): this { return this.op('K').raw([n]); }
  binint2(n: number): this { return this.op('M').raw([n & 0xff, n >> 8]); }
  long1(v: bigint): this { const b = encodeLong(v); return this.op(0x8a).raw([b.length]).raw(b); }
  long4(v: bigint): this { const b = encodeLong(v); return this.op(0x8b).raw(u32le(b.length)).raw(b); }
  float(text: string | number): this { return this.op('F').line(String(text)); }
  binfloat(x: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return this.op('G').raw(b);
  }
  none(): this { return this.op('N'); }
  newTrue(): this { return this.op(0x88); }
  newFalse(): this { return this.op(0x89); }

  // -- containers
  emptyTuple(): this { return this.op(')'); }
  emptyList(): this { return this.op(']'); }
  emptyDict(): this { return this.op('}'); }
  emptySet(): this { return this.op(0x8f); }
  tuple(): this { return this.op('t'); }
  tuple1(): this { return this.op(0x85); }
  tuple2(): this { return this.op(0x86); }
  tuple3(): this { return this.op(0x87); }
  list(): this { return this.op('l'); }
  dict(): this { return this.op('d'); }
  frozenset(): this { return this.op(0x91); }

  // -- persistent ids
  persid(id: string): this { return this.op('P').line(id); }
  binpersid(): this { return this.op('Q'); }
}

/** Shorthand: a fresh writer. */
export function pw(): PickleWriter {
  return new PickleWriter();
}
