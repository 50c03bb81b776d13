/**
 * What the numpy dtype validator (src/formats/numpy-dtype.ts) costs, as it runs on every
 * scanned stream. Two crafted protocol-2 pickles, each read side by side by the plain machine
 * (baseline: no BUILD hook) and the machine with the validator (what scanPickle does):
 *   objects: N objects each given a BUILD state (the hook runs and returns at once);
 *   dtypes:  N honest structured dtypes (f8 + object field), each fully checked.
 * Printed: ms per run (best of a few) and the validator/baseline ratio.
 */
import { numpyDtypeValidator } from '../src/formats/numpy-dtype.js';
import { bufferSource } from '../src/io/byte-source.js';
import { analyzePickleStream } from '../src/pickle/index.js';
import type { BenchContext } from './run.js';

/** Byte-level writer, just enough for these two shapes. */
class W {
  private readonly parts: number[] = [];
  raw(...b: number[]): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  text(s: string): this {
    return this.raw(...Buffer.from(s, 'latin1'));
  }
  str(s: string): this {
    return this.raw(0x58, s.length, 0, 0, 0).text(s); // BINUNICODE
  }
  int(n: number): this {
    return this.raw(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff); // BININT
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

function objectsPickle(n: number): Uint8Array {
  const w = new W().raw(0x80, 2).text('ccollections\nOrderedDict\nq\x00').raw(0x5d); // memo 0; EMPTY_LIST
  for (let i = 0; i < n; i++) w.raw(0x68, 0).raw(0x29, 0x81).raw(0x7d).str('k').int(i).raw(0x73, 0x62, 0x61); // BINGET NEWOBJ {}: k=i, BUILD, APPEND
  return w.raw(0x2e).bytes(); // STOP
}

function dtypesPickle(n: number): Uint8Array {
  const w = new W().raw(0x80, 2).text('cnumpy\ndtype\nq\x00').raw(0x30).raw(0x5d); // memo 0 (popped), EMPTY_LIST
  const dtype = (typestr: string) => w.raw(0x68, 0).str(typestr).raw(0x89, 0x88, 0x87, 0x52); // numpy.dtype(typestr, False, True)
  const state = (endian: string, rest: () => void) => {
    w.raw(0x28, 0x4b, 3).str(endian);
    rest();
    w.raw(0x74, 0x62); // TUPLE BUILD
  };
  for (let i = 0; i < n; i++) {
    dtype('V16');
    state('|', () => {
      w.raw(0x4e).str('a').str('b').raw(0x86); // subarray None, names ('a', 'b')
      w.raw(0x7d).str('a');
      dtype('f8');
      state('<', () => w.raw(0x4e, 0x4e, 0x4e).int(-1).int(-1).int(0));
      w.int(0).raw(0x86, 0x73).str('b');
      dtype('O8');
      state('|', () => w.raw(0x4e, 0x4e, 0x4e).int(-1).int(-1).int(63));
      w.int(8).raw(0x86, 0x73);
      w.int(16).int(1).int(27);
    });
    w.raw(0x61); // APPEND
  }
  return w.raw(0x2e).bytes();
}

function time(fn: () => void, runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return best;
}

export default async function bench(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 20_000 : 200_000;
  const runs = ctx.quick ? 2 : 5;
  for (const [name, bytes] of [['objects', objectsPickle(n)], ['dtypes', dtypesPickle(n / 4)]] as const) {
    const source = bufferSource(bytes);
    let findings = 0;
    const plain = () => {
      findings = analyzePickleStream(source).findings.length;
    };
    const checked = () => {
      const v = numpyDtypeValidator();
      findings = analyzePickleStream(source, { afterBuild: v.afterBuild }).findings.length + (v.finish() === undefined ? 0 : 1);
    };
    plain(); // warm up both
    checked();
    const base = time(plain, runs);
    const withValidator = time(checked, runs);
    console.log(
      `${name.padEnd(8)} ${(bytes.length / 1e6).toFixed(1)} MB  baseline ${base.toFixed(1)} ms  validator ${withValidator.toFixed(1)} ms  ratio ${(withValidator / base).toFixed(2)}x  findings ${findings}`,
    );
  }
}
