/**
 * A seeded generator of pickle streams for the differential test. It writes programs
 * CPython can run with a stub `find_class` (so the only errors are the structural ones
 * both sides must agree on: truncation, junk, bad memo, non-str STACK_GLOBAL operands,
 * non-ASCII INST names), mixing every string opcode, memo opcode, protocol, dotted and
 * dunder names, Python-2 names, frames and several pickles per stream.
 */
import { PickleWriter } from './writer.js';

/** mulberry32: small, fast, reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODULES = ['os', 'builtins', '__builtin__', 'copy_reg', 'exceptions', 'collections', 'torch._utils', 'numpy.core.multiarray', 'pathlib', 'UserDict', 'urllib2', '__main__', 'a.b.c', 'caf\u00e9', 'cPickle', 'thread'];
const NAMES = ['system', 'eval', 'getattr', 'OrderedDict', 'os.system', 'StandardError', '_reconstructor', 'x.__globals__', 'UserDict', 'urlopen', '__import__', '_rebuild_tensor_v2', 'caf\u00e9', 'reduce', 'xrange', 'start_new_thread'];
const ASCII_MODULES = MODULES.filter((m) => /^[\x00-\x7f]*$/.test(m));
const ASCII_NAMES = NAMES.filter((m) => /^[\x00-\x7f]*$/.test(m));

type Rand = () => number;

class Gen {
  readonly w = new PickleWriter();
  /** Memo keys -> whether the value is a constant str (usable as a STACK_GLOBAL operand). */
  private memo = new Map<number, 'str' | 'obj'>();
  private depth = 0;

  constructor(private readonly r: Rand) {}

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }

  private chance(p: number): boolean {
    return this.r() < p;
  }

  /** Optionally memoize what is on top of the stack. */
  private maybeMemo(kind: 'str' | 'obj'): void {
    if (!this.chance(0.4)) return;
    const w = this.w;
    const how = Math.floor(this.r() * 4);
    let key: number;
    if (how === 0) {
      key = this.memo.size;
      w.memoize();
    } else if (how === 1) {
      key = Math.floor(this.r() * 256);
      w.binput(key);
    } else if (how === 2) {
      key = Math.floor(this.r() * 100000);
      w.longBinput(key);
    } else {
      key = Math.floor(this.r() * 1000);
      w.put(key);
    }
    this.memo.set(key, kind);
  }

  /** Pushes a constant str, by any string opcode or from the memo. */
  private str(value: string, ascii: boolean): void {
    const w = this.w;
    const memoStrs = [...this.memo].filter(([, k]) => k === 'str').map(([key]) => key);
    if (memoStrs.length && this.chance(0.2)) {
      // A memo reference to some earlier string: any string, so names come out mixed.
      const key = this.pick(memoStrs);
      const how = Math.floor(this.r() * 3);
      if (how === 0 && key < 256) w.binget(key);
      else if (how === 1) w.longBinget(key);
      else w.get(key);
      return;
    }
    const forms = ascii || !/[^\x00-\x7f]/.test(value) ? 7 : 4;
    switch (Math.floor(this.r() * forms)) {
      case 0: w.shortBinUnicode(value); break;
      case 1: w.binUnicode(value); break;
      case 2: w.binUnicode8(value); break;
      case 3: w.unicode(value); break;
      case 4: w.string(value); break;
      case 5: w.binString(value); break;
      default: w.shortBinString(value); break;
    }
    this.maybeMemo('str');
  }

  /** Pushes a global reference (a class for the stub). */
  private global(): void {
    const w = this.w;
    const way = Math.floor(this.r() * 3);
    if (way === 0) {
      w.global(this.pick(MODULES), this.pick(NAMES));
    } else {
      this.str(this.pick(MODULES), false);
      this.str(this.pick(NAMES), false);
      w.stackGlobal();
    }
    this.maybeMemo('obj');
  }

  private constant(): void {
    const w = this.w;
    switch (Math.floor(this.r() * 10)) {
      case 0: w.binint1(Math.floor(this.r() * 256)); break;
      case 1: w.binint(Math.floor(this.r() * 2 ** 32) | 0); break;
      case 2: w.none(); break;
      case 3: w.int(Math.floor(this.r() * 1000)); break;
      case 4: w.shortBinBytes([1, 2, 3]); break;
      case 5: w.binfloat(this.r()); break;
      case 6: w.long1(BigInt(Math.floor(this.r() * 1e9)) - 500000000n); break;
      case 7: w.float((this.r() * 100 - 50).toFixed(3)); break;
      case 8: w.long(BigInt(Math.floor(this.r() * 1e12))); break;
      default: this.str(this.pick(NAMES), false); return;
    }
    this.maybeMemo('obj');
  }

  /** Pushes exactly one value. */
  expr(): void {
    const w = this.w;
    this.depth++;
    const deep = this.depth > 3;
    const k = deep ? Math.floor(this.r() * 2) : Math.floor(this.r() * 11);
    switch (k) {
      case 0: this.constant(); break;
      case 1: this.global(); break;
      case 2: // call via REDUCE
        this.global();
        this.args();
        w.reduce();
        break;
      case 3: // NEWOBJ / NEWOBJ_EX
        this.global();
        this.args();
        if (this.chance(0.5)) w.newobj();
        else w.emptyDict().newobjEx();
        break;
      case 4: // INST with ASCII names (non-ASCII INST names are a CPython error, tested elsewhere)
        w.mark();
        if (this.chance(0.5)) this.expr();
        w.inst(this.pick(ASCII_MODULES), this.pick(ASCII_NAMES));
        break;
      case 5: // OBJ
        w.mark();
        this.global();
        if (this.chance(0.5)) this.expr();
        w.obj();
        break;
      case 6: { // containers
        const n = Math.floor(this.r() * 3);
        const which = Math.floor(this.r() * 4);
        if (which === 0) {
          w.mark();
          for (let i = 0; i < n; i++) this.expr();
          w.tuple();
        } else if (which === 1) {
          w.emptyList();
          if (n) {
            w.mark();
            for (let i = 0; i < n; i++) this.expr();
            w.appends();
          }
        } else if (which === 2) {
          w.emptyDict().mark();
          for (let i = 0; i < n; i++) {
            this.constant();
            this.expr();
          }
          w.setitems();
        } else {
          w.mark();
          for (let i = 0; i < n; i++) this.expr();
          w.list();
        }
        break;
      }
      case 7: // constrained getattr shape
        w.global(this.pick(['builtins', '__builtin__']), 'getattr');
        this.global();
        this.str(this.pick(NAMES), false);
        w.tuple2().reduce();
        break;
      case 8: // BUILD on an instance
        this.global();
        w.emptyTuple().newobj();
        w.emptyDict().build();
        break;
      case 9: { // memo fetch of any earlier object
        const keys = [...this.memo.keys()];
        if (keys.length) w.get(this.pick(keys));
        else this.constant();
        break;
      }
      default: // DUP then POP
        this.expr();
        w.dup().pop();
        break;
    }
    this.depth--;
  }

  /** Pushes an args tuple. */
  private args(): void {
    const w = this.w;
    const n = Math.floor(this.r() * 3);
    for (let i = 0; i < n; i++) this.expr();
    if (n === 0) w.emptyTuple();
    else if (n === 1) w.tuple1();
    else w.tuple2();
  }

  /** One whole pickle. */
  pickle(): void {
    const w = this.w;
    this.memo = new Map();
    const proto = Math.floor(this.r() * 6);
    if (proto >= 2 || this.chance(0.2)) w.proto(proto);
    const frameAt = w.here();
    const statements = 1 + Math.floor(this.r() * 4);
    w.emptyList();
    for (let i = 0; i < statements; i++) {
      this.expr();
      w.append();
      if (this.chance(0.1)) w.proto(Math.floor(this.r() * 6)); // the protocol can change mid-pickle
    }
    w.stop();
    if (proto >= 4 && this.chance(0.5)) {
      // Mostly exact frames; sometimes one that ends early or runs past STOP.
      const adjust = this.chance(0.8) ? 0 : Math.floor(this.r() * 7) - 3;
      w.frameFrom(frameAt, adjust);
    }
  }
}

/** A bad-STACK_GLOBAL or bad-memo program: errors both sides must stop at. */
function structuralError(r: Rand, w: PickleWriter): void {
  switch (Math.floor(r() * 4)) {
    case 0: w.binint1(1).shortBinUnicode('x').stackGlobal(); break;
    case 1: w.binget(200); break;
    case 2: w.mark().inst('caf\u00e9', 'x'); break;
    default: w.pop().pop(); break;
  }
}

export interface GeneratedCase {
  seed: number;
  bytes: Uint8Array;
}

/** Case `i` of the seeded sequence. */
export function generateCase(seed: number): GeneratedCase {
  const r = rng(seed);
  const g = new Gen(r);
  const pickles = 1 + Math.floor(r() * 3);
  for (let i = 0; i < pickles; i++) {
    g.pickle();
    if (r() < 0.05) {
      // An error placed after some imports.
      g.w.proto(4);
      g.w.global('after', 'error');
      structuralError(r, g.w);
      break;
    }
  }
  let bytes = g.w.bytes();
  const tail = r();
  if (tail < 0.15) {
    bytes = bytes.subarray(0, Math.floor(r() * bytes.length)); // truncated
  } else if (tail < 0.25) {
    const junk = [0x00, 0xff, 0x7a, 0x21][Math.floor(r() * 4)]!;
    bytes = Uint8Array.from([...bytes, junk, ...Array.from({ length: Math.floor(r() * 8) }, () => Math.floor(r() * 256))]);
  }
  return { seed, bytes };
}

/**
 * Opcode bytes mutations favour, so a mutation usually changes the program, not just data;
 * NUL and space too, which C parsers of text lines (INT, FLOAT, GET ...) treat specially.
 */
const MUTATION_BYTES = [0x00, 0x20, 0x28, 0x2e, 0x30, 0x31, 0x32, 0x52, 0x61, 0x62, 0x63, 0x64, 0x65, 0x67, 0x68, 0x69, 0x6a, 0x6c, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x85, 0x86, 0x87, 0x93, 0x94, 0x95, 0x8c, 0x4e, 0x4b, 0x0a];

/**
 * Case `seed` with one to three random byte edits (replace, delete, insert): programs
 * CPython may run in ways we do not model exactly, for the soundness check.
 */
export function mutatedCase(seed: number): GeneratedCase {
  const r = rng(seed * 7 + 3);
  const a = [...generateCase(seed).bytes];
  const edits = 1 + Math.floor(r() * 3);
  for (let i = 0; i < edits && a.length; i++) {
    const p = Math.floor(r() * a.length);
    const m = r();
    const byte = r() < 0.5 ? MUTATION_BYTES[Math.floor(r() * MUTATION_BYTES.length)]! : Math.floor(r() * 256);
    if (m < 0.4) a[p] = byte;
    else if (m < 0.7) a.splice(p, 1);
    else a.splice(p, 0, byte);
  }
  return { seed, bytes: Uint8Array.from(a) };
}
