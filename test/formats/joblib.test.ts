import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decompressSync, detectCompression } from '../../src/formats/compression/index.js';
import { analyzeJoblib, joblibAfterBuild } from '../../src/formats/joblib.js';
import { bufferSource } from '../../src/io/byte-source.js';
import { analyzePickleStream } from '../../src/pickle/index.js';
import type { AfterBuildHook, PickleStreamAnalysis } from '../../src/pickle/types.js';
import { PickleWriter } from '../pickle/writer.js';

const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;

interface InlineArray {
  stream: number;
  object_array: boolean;
  start: number;
  end: number;
}
interface ModelEntry {
  format: string;
  compression?: string;
  streams: Array<{ find_class: Array<[string, string]> }>;
  inline_arrays?: InlineArray[];
}
const models = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as { files: Record<string, ModelEntry> };
const joblibFixtures = Object.entries(models.files).filter(([p]) => p.startsWith('joblib/'));

function decompressed(path: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(join(MODELS, path)));
  const kind = detectCompression(bytes.subarray(0, 8));
  if (kind === undefined) return bytes;
  const r = decompressSync(kind, bytes, 1 << 30);
  if (!r.ok) assert.fail(`${path}: ${r.message}`);
  return r.bytes;
}

/** Runs the joblib hook and records what it answered. */
function analyzeRecording(bytes: Uint8Array): { analysis: PickleStreamAnalysis; answers: Array<NonNullable<ReturnType<AfterBuildHook>>> } {
  const hook = joblibAfterBuild();
  const answers: Array<NonNullable<ReturnType<AfterBuildHook>>> = [];
  const analysis = analyzePickleStream(bufferSource(bytes), {
    afterBuild: (ctx) => {
      const a = hook(ctx);
      if (a !== undefined) answers.push(a);
      return a;
    },
  });
  return { analysis, answers };
}

const importsOf = (a: PickleStreamAnalysis) => new Set(a.imports.filter((i) => i.origin === 'import').map((i) => `${i.module}.${i.name}`));
const violations = (a: PickleStreamAnalysis) => a.findings.filter((f) => f.code !== 'persistent-id' && f.code !== 'not-a-pickle');

describe('joblib files written by joblib 1.2 (every compression)', () => {
  for (const [path, entry] of joblibFixtures) {
    it(`${path}: skips exactly the inline arrays joblib reads and scans its nested pickles`, () => {
      const bytes = decompressed(path);
      const { analysis, answers } = analyzeRecording(bytes);
      const arrays = entry.inline_arrays ?? [];
      assert.ok(arrays.length > 0);
      const want = arrays.map((a) => (a.object_array ? { nestedPickleAt: a.start } : { resume: a.end }));
      assert.deepEqual(answers, want);
      assert.equal(analysis.end, bytes.length);
      assert.equal(analysis.pickles.length, entry.streams.length);
      assert.ok(analysis.pickles.every((p) => p.complete));
      const loaderSaw = new Set(entry.streams.flatMap((s) => s.find_class.map(([m, n]) => `${m}.${n}`)));
      assert.deepEqual(importsOf(analysis), loaderSaw);
    });
  }

  // joblib commits its FRAME right at the wrapper's BUILD: resuming past it is no frame crossing.
  it('benign joblib files have no violations', () => {
    for (const [path] of joblibFixtures) assert.deepEqual(violations(analyzeJoblib(bufferSource(decompressed(path)))), [], path);
  });
});

/** The bytes of an array the scanner must never read as opcodes: a GLOBAL os.system. */
const EVIL_DATA = [...Buffer.from('cos\nsystem\n(S"id"\ntR.')];

interface WrapperSpec {
  shape: Array<number | bigint> | 'float';
  typestr: string;
  /** The dtype's BUILD state; undefined writes none. */
  dtypeState?: { elsize: number; flags: number; version?: 3 | 4; alignment?: number };
  /** numpy_array_alignment_bytes: a number, null (None) or absent. */
  alignment?: number | null;
  make?: 'newobj' | 'reconstructor';
}

/** `NumpyArrayWrapper` built the way joblib writes it (protocol 2, no frames), up to and including BUILD. */
function writeWrapper(w: PickleWriter, spec: WrapperSpec): PickleWriter {
  if (spec.make === 'reconstructor') {
    w.global('copy_reg', '_reconstructor').global('joblib.numpy_pickle', 'NumpyArrayWrapper').global('__builtin__', 'object').none().tuple3().reduce();
  } else {
    w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj();
  }
  const state = (x: PickleWriter) => {
    x.shortBinUnicode('shape');
    if (spec.shape === 'float') x.mark().binfloat(3).tuple();
    else {
      x.mark();
      for (const d of spec.shape) x.long1(BigInt(d));
      x.tuple();
    }
    x.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode(spec.typestr).newFalse().newTrue().tuple3().reduce();
    if (spec.dtypeState) {
      const s = spec.dtypeState;
      x.mark().binint1(s.version ?? 3).shortBinUnicode('|').none().none().none().binint(s.elsize).binint(s.alignment ?? -1).binint1(s.flags);
      if (s.version === 4) x.none();
      x.tuple().build();
    }
    x.shortBinUnicode('order').shortBinUnicode('C');
    x.shortBinUnicode('allow_mmap').newFalse();
    if (spec.alignment === null) x.shortBinUnicode('numpy_array_alignment_bytes').none();
    else if (spec.alignment !== undefined) x.shortBinUnicode('numpy_array_alignment_bytes').binint1(spec.alignment);
  };
  w.emptyDict().mark();
  state(w);
  return w.setitems().build();
}

/** Outer pickle: [wrapper, <data>, collections.OrderedDict] then STOP. */
function joblibStream(spec: WrapperSpec, data: number[], after = true): { bytes: Uint8Array; dataAt: number } {
  const w = new PickleWriter().proto(2).mark();
  writeWrapper(w, spec);
  const dataAt = w.here();
  w.raw(data);
  if (after) w.global('collections', 'OrderedDict');
  w.list().stop();
  return { bytes: w.bytes(), dataAt };
}

function f8Data(count: number, pad?: number): number[] {
  const body: number[] = [];
  while (body.length < count * 8) body.push(...EVIL_DATA);
  body.length = count * 8;
  return pad === undefined ? body : [pad, ...new Array<number>(pad).fill(0xff), ...body];
}

describe('crafted joblib streams', () => {
  it('skips padding and data when numpy_array_alignment_bytes is set (joblib >= 1.2)', () => {
    const { bytes, dataAt } = joblibStream({ shape: [3], typestr: 'f8', dtypeState: { elsize: -1, flags: 0 }, alignment: 16 }, f8Data(3, 5));
    const { analysis, answers } = analyzeRecording(bytes);
    assert.deepEqual(answers, [{ resume: dataAt + 1 + 5 + 24 }]);
    assert.deepEqual(violations(analysis), []);
    assert.deepEqual(importsOf(analysis), new Set(['joblib.numpy_pickle.NumpyArrayWrapper', 'numpy.dtype', 'collections.OrderedDict']));
  });

  it('reads no padding byte without the attribute (joblib < 1.2) or when it is None', () => {
    for (const alignment of [undefined, null]) {
      const { bytes, dataAt } = joblibStream({ shape: [2, 2], typestr: 'f8', alignment }, f8Data(4));
      const { analysis, answers } = analyzeRecording(bytes);
      assert.deepEqual(answers, [{ resume: dataAt + 32 }], String(alignment));
      assert.deepEqual(violations(analysis), []);
      assert.ok(importsOf(analysis).has('collections.OrderedDict'));
      assert.ok(!importsOf(analysis).has('os.system'));
    }
  });

  it('a scan without the joblib hook reads the array bytes as opcodes (the hook matters)', () => {
    const { bytes } = joblibStream({ shape: [2, 2], typestr: 'f8' }, f8Data(4));
    const plain = analyzePickleStream(bufferSource(bytes));
    assert.ok(importsOf(plain).has('os.system') || violations(plain).length > 0);
  });

  it('shape () is one element; flexible dtypes take their itemsize from the state', () => {
    const cases: Array<[WrapperSpec, number]> = [
      [{ shape: [], typestr: 'f8' }, 8],
      [{ shape: [3], typestr: 'V56', dtypeState: { elsize: 56, flags: 0, alignment: 1 } }, 168],
      [{ shape: [2], typestr: 'U5', dtypeState: { elsize: 20, flags: 8, alignment: 4 } }, 40],
      [{ shape: [5], typestr: 'M8', dtypeState: { elsize: -1, flags: 0, version: 4 } }, 40],
      [{ shape: [0, 7], typestr: 'i4' }, 0],
    ];
    for (const [spec, size] of cases) {
      const data = new Array<number>(size).fill(0x2e); // '.' = STOP if misread
      const { bytes, dataAt } = joblibStream(spec, data);
      const { analysis, answers } = analyzeRecording(bytes);
      assert.deepEqual(answers, [{ resume: dataAt + size }], JSON.stringify(spec));
      assert.deepEqual(violations(analysis), [], JSON.stringify(spec));
    }
  });

  it('an object array is a nested pickle with a fresh memo: its malicious global is found', () => {
    const nested = new PickleWriter().proto(2).global('os', 'system').shortBinUnicode('id').tuple1().reduce().stop().bytes();
    for (const spec of [
      { shape: [1], typestr: 'O8', dtypeState: { elsize: -1, flags: 63 } },
      { shape: [1], typestr: 'O8' }, // no state: object by its typestr
    ] as WrapperSpec[]) {
      const { bytes, dataAt } = joblibStream(spec, [...nested]);
      const { analysis, answers } = analyzeRecording(bytes);
      assert.deepEqual(answers, [{ nestedPickleAt: dataAt }], JSON.stringify(spec));
      const sys = analysis.imports.find((i) => i.module === 'os' && i.name === 'system');
      assert.ok(sys, 'os.system found');
      assert.equal(sys.pickleIndex, 1);
      assert.ok(sys.uses.some((u) => u.kind === 'call'));
      assert.ok(importsOf(analysis).has('collections.OrderedDict'), 'outer pickle resumed after the nested one');
    }
  });

  it('wrappers made through copyreg._reconstructor (protocols 0-1) are read the same way', () => {
    const { bytes, dataAt } = joblibStream({ shape: [1], typestr: 'i8', alignment: 16, make: 'reconstructor' }, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(analyzeRecording(bytes).answers, [{ resume: dataAt + 9 }]);
  });

  it('a wrapper whose data would run past the end is a violation', () => {
    const { bytes } = joblibStream({ shape: [1000], typestr: 'f8', alignment: 16 }, f8Data(2, 3), false);
    const { analysis } = analyzeRecording(bytes);
    const f = violations(analysis);
    assert.equal(f.length, 1);
    assert.equal(f[0]!.code, 'malformed');
    assert.match(f[0]!.message, /array data needs 8004 bytes/);
  });

  it('a missing padding byte at the very end is a violation', () => {
    const w = new PickleWriter().proto(2);
    writeWrapper(w, { shape: [1], typestr: 'f8', alignment: 16 });
    const { analysis } = analyzeRecording(w.bytes());
    assert.match(violations(analysis)[0]!.message, /padding-length byte/);
  });

  it('dtypes and shapes that cannot be sized exactly are violations, never guesses', () => {
    const bad: Array<[WrapperSpec, RegExp]> = [
      [{ shape: [2], typestr: 'f3' }, /not one we can size/],
      [{ shape: [2], typestr: 'x8' }, /not one we can size/],
      [{ shape: [2], typestr: 'S0', dtypeState: { elsize: 0, flags: 0, alignment: 1 } }, /itemsize is 0/],
      // NumPy takes these from the state; the state must agree with the type (numpy-dtype.ts)
      [{ shape: [2], typestr: 'U5', dtypeState: { elsize: 7, flags: 8, alignment: 4 } }, /out of range/],
      [{ shape: [2], typestr: 'f8', dtypeState: { elsize: 100, flags: 0 } }, /elsize 100, NumPy writes -1/],
      [{ shape: [2], typestr: 'O8', dtypeState: { elsize: -1, flags: 0 } }, /hasobject lies/],
      [{ shape: [1], typestr: 'f8', dtypeState: { elsize: -1, flags: 1 } }, /hasobject lies/],
      [{ shape: [1], typestr: 'V16', dtypeState: { elsize: 16, flags: 1, alignment: 1 } }, /hasobject lies/],
      [{ shape: [2], typestr: 'V8', dtypeState: { elsize: -1, flags: 0 } }, /out of range/],
      [{ shape: 'float', typestr: 'f8' }, /not an int/],
      [{ shape: [-1], typestr: 'f8' }, /negative/],
      [{ shape: [2n ** 40n, 2n ** 40n], typestr: 'f8' }, /overflows int64/],
    ];
    for (const [spec, message] of bad) {
      const { bytes } = joblibStream(spec, f8Data(2));
      const f = violations(analyzeRecording(bytes).analysis);
      assert.ok(f.length >= 1, JSON.stringify(spec, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      assert.match(f[0]!.message, message);
    }
  });

  it('a dtype state in a form numpy does not write is refused', () => {
    const w = new PickleWriter().proto(2).mark().global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj().emptyDict().mark();
    w.shortBinUnicode('shape').long1(2n).tuple1();
    w.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode('f8').newFalse().newTrue().tuple3().reduce();
    w.mark().binint1(2).shortBinUnicode('<').tuple().build(); // version 2 short form
    w.setitems().build().raw(f8Data(2)).list().stop();
    assert.match(violations(analyzeRecording(w.bytes()).analysis)[0]!.message, /version 3\/4 form/);
  });

  it('a dtype that is not made by numpy.dtype is refused', () => {
    const w = new PickleWriter().proto(2).mark().global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj().emptyDict().mark();
    w.shortBinUnicode('shape').long1(2n).tuple1();
    w.shortBinUnicode('dtype').global('builtins', 'str').shortBinUnicode('f8').tuple1().reduce();
    w.setitems().build().raw(f8Data(2)).list().stop();
    assert.match(violations(analyzeRecording(w.bytes()).analysis)[0]!.message, /not numpy\.dtype/);
  });

  it('a wrapper built twice (memo) is refused', () => {
    const w = new PickleWriter().proto(2).mark();
    w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj().binput(0); // memo holds the wrapper
    w.emptyDict().mark().shortBinUnicode('shape').long1(1n).tuple1();
    w.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode('i1').newFalse().newTrue().tuple3().reduce();
    w.setitems().build().raw([7]); // one data byte
    w.binget(0).emptyDict().build(); // joblib would read again here (memo), not after a stack BUILD
    w.list().stop();
    assert.match(violations(analyzeRecording(w.bytes()).analysis)[0]!.message, /built a second time/);
  });

  it("joblib < 0.10 NDArrayWrapper makes joblib load an external file with allow_pickle: refused", () => {
    const w = new PickleWriter().proto(2).global('joblib.numpy_pickle', 'NDArrayWrapper').emptyTuple().newobj();
    w.emptyDict().mark().shortBinUnicode('filename').shortBinUnicode('model.pkl_01.npy').setitems().build().stop();
    assert.match(violations(analyzeRecording(w.bytes()).analysis)[0]!.message, /model\.pkl_01\.npy/);
  });

  it('ZNDArrayWrapper reads nothing inline; other classes are left alone', () => {
    const w = new PickleWriter().proto(2).mark();
    w.global('joblib.numpy_pickle_compat', 'ZNDArrayWrapper').emptyTuple().newobj();
    w.emptyDict().mark().shortBinUnicode('filename').shortBinUnicode('z.z').setitems().build();
    w.global('collections', 'OrderedDict').emptyTuple().newobj().emptyDict().build();
    w.list().stop();
    const { analysis, answers } = analyzeRecording(w.bytes());
    assert.deepEqual(answers, []);
    assert.deepEqual(violations(analysis), []);
  });

  it('calling the class itself runs __init__: numpy_array_alignment_bytes defaults to 16 (padding read)', () => {
    const w = new PickleWriter().proto(2).mark();
    w.global('joblib.numpy_pickle', 'NumpyArrayWrapper');
    w.mark().global('numpy', 'ndarray').long1(2n).tuple1().shortBinUnicode('C');
    w.global('numpy', 'dtype').shortBinUnicode('i2').newFalse().newTrue().tuple3().reduce();
    w.tuple().reduce().emptyDict().build();
    const at = w.here();
    w.raw([2, 0xff, 0xff, 1, 2, 3, 4]).list().stop();
    const { analysis, answers } = analyzeRecording(w.bytes());
    assert.deepEqual(answers, [{ resume: at + 7 }]);
    assert.deepEqual(violations(analysis), []);
  });
});

describe('wrappers built inside a FRAME', () => {
  it('the hook refuses a wrapper whose frame has bytes left (joblib reads after the frame)', () => {
    const { bytes } = joblibStream({ shape: [1], typestr: 'f8' }, f8Data(1));
    const hook = joblibAfterBuild();
    const a = analyzePickleStream(bufferSource(bytes), { afterBuild: (ctx) => hook({ ...ctx, frameEnd: ctx.offset + 4 }) });
    assert.match(violations(a)[0]!.message, /inside a FRAME that ends at/);
  });

  it('end to end: a FRAME running past the wrapper BUILD is a violation', () => {
    const w = new PickleWriter().proto(4);
    const at = w.here();
    w.mark();
    writeWrapper(w, { shape: [1], typestr: 'f8' });
    w.raw(f8Data(1)).list().stop();
    w.frameFrom(at);
    const f = violations(analyzeJoblib(bufferSource(w.bytes())));
    assert.ok(f.some((x) => /inside a FRAME that ends at/.test(x.message)), JSON.stringify(f));
  });
});

describe('plain pickle.load reading of the same bytes (plainReadingToo)', () => {
  // "Array bytes" that are, to pickle.load, a call of os.system('id') followed by a POP.
  const hidden = [...Buffer.from("cos\nsystem\nS'id'\n\x85R0", 'latin1')];

  it('finds a call hidden in array bytes that joblib skips but pickle.load runs', () => {
    const { bytes } = joblibStream({ shape: [hidden.length], typestr: 'i1' }, hidden);
    const joblibOnly = analyzeJoblib(bufferSource(bytes));
    assert.ok(!importsOf(joblibOnly).has('os.system'));
    const both = analyzeJoblib(bufferSource(bytes), { plainReadingToo: true });
    const sys = both.imports.find((i) => i.module === 'os' && i.name === 'system');
    assert.ok(sys, 'os.system found by the plain reading');
    assert.equal(both.imports.indexOf(sys), sys.index);
    assert.ok(sys.uses.some((u) => u.kind === 'call'));
    assert.deepEqual(both.pickles, joblibOnly.pickles);
  });

  it('adds nothing to real joblib files (the plain reading stops at the first array)', () => {
    for (const [path] of joblibFixtures) {
      const source = bufferSource(decompressed(path));
      const one = analyzeJoblib(source);
      const both = analyzeJoblib(source, { plainReadingToo: true });
      assert.deepEqual(importsOf(both), importsOf(one), path);
      assert.equal(both.imports.length, one.imports.length, path);
      assert.deepEqual(both.findings.map((f) => f.code), one.findings.map((f) => f.code), path);
    }
  });
});

describe("an object array's nested pickle is a plain pickle.load", () => {
  it('a wrapper inside it is only an object: the bytes after its BUILD are opcodes, and scanned', () => {
    // Nested pickle: a NumpyArrayWrapper whose "array bytes" are, to pickle.load, os.system('id').
    const inner = new PickleWriter().proto(2);
    writeWrapper(inner, { shape: [3], typestr: 'i1' });
    inner.raw([...Buffer.from("0cos\nsystem\nS'id'\n\x85R", 'latin1')]).stop();
    const { bytes, dataAt } = joblibStream({ shape: [1], typestr: 'O8', dtypeState: { elsize: -1, flags: 63 } }, [...inner.bytes()]);
    const { analysis, answers } = analyzeRecording(bytes);
    assert.deepEqual(answers, [{ nestedPickleAt: dataAt }]);
    const sys = analysis.imports.find((i) => i.module === 'os' && i.name === 'system');
    assert.ok(sys, 'os.system inside the nested pickle is found');
    assert.equal(sys.pickleIndex, 1);
    assert.ok(importsOf(analysis).has('collections.OrderedDict'), 'outer pickle resumed after the nested one');
    assert.deepEqual(violations(analysis), []);
  });

  it('a nested pickle that does not end cleanly is a violation', () => {
    const { bytes } = joblibStream({ shape: [1], typestr: 'O8' }, [0x80, 0x02, 0x4b], false);
    assert.ok(violations(analyzeRecording(bytes).analysis).length > 0);
  });
});
