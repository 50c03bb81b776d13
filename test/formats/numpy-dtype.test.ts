import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeContainer } from '../../src/formats/index.js';
import { dtypeLayout, isNumpyDtypeCall, numpyDtypeValidator } from '../../src/formats/numpy-dtype.js';
import { bufferSource } from '../../src/io/byte-source.js';
import { analyzePickleStream } from '../../src/pickle/index.js';
import type { PickleStreamAnalysis } from '../../src/pickle/types.js';
import { presetPolicy } from '../../src/policy/index.js';
import { scanBytes } from '../../src/scan/index.js';
import { PickleWriter } from '../pickle/writer.js';

const FIXTURES = new URL('../fixtures/numpy-dtypes/', import.meta.url).pathname;
const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { files: Record<string, { dtype: unknown }> };
const policy = presetPolicy('default');

/** The validator alone over one stream, counting the dtype BUILDs it passed. */
function validate(bytes: Uint8Array): { analysis: PickleStreamAnalysis; dtypeBuilds: number; late?: string } {
  const v = numpyDtypeValidator();
  let dtypeBuilds = 0;
  const analysis = analyzePickleStream(bufferSource(bytes), {
    afterBuild: (ctx) => {
      const answer = v.afterBuild(ctx);
      if (answer === undefined && isNumpyDtypeCall(ctx.target, ctx.imports)) dtypeBuilds++;
      return answer;
    },
  });
  const late = v.finish();
  return late === undefined ? { analysis, dtypeBuilds } : { analysis, dtypeBuilds, late };
}

const errors = (a: PickleStreamAnalysis) => a.findings.filter((f) => f.code === 'malformed');

/** The message the validator refuses `bytes` with (the first malformed finding, or the late one). */
function refusal(bytes: Uint8Array): string {
  const { analysis, late } = validate(bytes);
  const e = errors(analysis)[0]?.message ?? late;
  assert.ok(e !== undefined, `not refused: ${JSON.stringify(analysis.findings)}`);
  return e;
}

describe('real dtype pickles made by NumPy 1.24 / joblib 1.2 (scripts/fixtures/numpy_dtypes.py)', () => {
  const files = Object.keys(manifest.files);

  it('the fixture set covers every protocol and the joblib file', () => {
    assert.ok(files.length > 90);
    for (const p of ['p0', 'p2', 'p5']) assert.ok(files.some((f) => f.includes(`.${p}.`)), p);
    assert.ok(files.includes('structured.joblib'));
    assert.deepEqual(new Set(readdirSync(FIXTURES).filter((f) => f !== 'manifest.json')), new Set(files));
  });

  for (const file of files) {
    it(`${file}: every dtype state is accepted, and the file is allowed`, () => {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, file)));
      if (file.endsWith('.pkl')) {
        const { analysis, dtypeBuilds, late } = validate(bytes);
        assert.deepEqual(errors(analysis), []);
        assert.equal(late, undefined);
        assert.ok(dtypeBuilds >= 1, 'the validator saw the dtype BUILD');
      }
      const report = scanBytes(bytes, { policy });
      assert.equal(report.verdict, 'allowed', JSON.stringify(report.findings));
    });
  }

  it('the object fields of the joblib file are read as nested pickles (validated hasobject)', () => {
    const a = analyzeContainer(bufferSource(new Uint8Array(readFileSync(join(FIXTURES, 'structured.joblib')))));
    const stream = a.streams[0]!;
    assert.equal(stream.format, 'joblib');
    // struct-object and struct-nested hold objects: two nested pickles after the main one.
    assert.equal(stream.analysis.pickles.length, 3);
    assert.ok(stream.analysis.pickles.every((p) => p.complete));
  });

  it('the real model fixtures stay free of dtype findings', () => {
    for (const dir of ['numpy', 'joblib', 'pickle', 'torch']) {
      for (const f of readdirSync(join(MODELS, dir))) {
        const report = scanBytes(new Uint8Array(readFileSync(join(MODELS, dir, f))), { policy });
        assert.ok(!report.findings.some((x) => /numpy\.dtype built/.test(x.message)), `${dir}/${f}: ${JSON.stringify(report.findings)}`);
      }
    }
  });
});

// ------------------------------------------------------------------ crafted states

interface State {
  version?: number;
  endian?: string;
  subarray?: (w: PickleWriter) => void;
  names?: string[];
  fields?: (w: PickleWriter) => void;
  elsize: number;
  alignment: number;
  flags: number;
  metadata?: (w: PickleWriter) => void;
}

/** `numpy.dtype(typestr, False, True)` as NumPy's reduce writes it, left on the stack. */
function dtype(w: PickleWriter, typestr: string, state?: State): PickleWriter {
  w.global('numpy', 'dtype').shortBinUnicode(typestr).newFalse().newTrue().tuple3().reduce();
  if (state) writeState(w, state).build();
  return w;
}

function writeState(w: PickleWriter, s: State): PickleWriter {
  w.mark().binint1(s.version ?? 3).shortBinUnicode(s.endian ?? '|');
  if (s.subarray) s.subarray(w);
  else w.none();
  if (s.names) {
    w.mark();
    for (const n of s.names) w.shortBinUnicode(n);
    w.tuple();
  } else w.none();
  if (s.fields) s.fields(w);
  else w.none();
  w.binint(s.elsize).binint(s.alignment).binint(s.flags);
  if (s.metadata) s.metadata(w);
  return w.tuple();
}

const f8 = (w: PickleWriter) => dtype(w, 'f8', { endian: '<', elsize: -1, alignment: -1, flags: 0 });
const obj = (w: PickleWriter) => dtype(w, 'O8', { elsize: -1, alignment: -1, flags: 63 });

/** fields dict `{name: (dtype, offset)}` from [name, dtype writer, offset]. */
function fields(...entries: Array<[string, (w: PickleWriter) => void, number | bigint]>) {
  return (w: PickleWriter) => {
    w.emptyDict();
    for (const [name, d, off] of entries) {
      w.shortBinUnicode(name);
      d(w);
      w.long1(BigInt(off)).tuple2().setitem();
    }
  };
}

/** A whole pickle: just the dtype. */
function pickleOf(body: (w: PickleWriter) => void): Uint8Array {
  const w = new PickleWriter().proto(2);
  body(w);
  return w.stop().bytes();
}

const structObj: State = { names: ['a', 'b'], fields: fields(['a', f8, 0], ['b', obj, 8]), elsize: 16, alignment: 1, flags: 27 };

describe('honest crafted states are accepted (controls)', () => {
  for (const [name, body] of [
    ['f8', (w: PickleWriter) => f8(w)],
    ['object', (w: PickleWriter) => obj(w)],
    ['object through copyreg.__newobj__', (w: PickleWriter) => w.global('copy_reg', '__newobj__').mark().global('numpy', 'dtype').shortBinUnicode('O8').newFalse().newTrue().tuple().reduce().mark().binint1(3).shortBinUnicode('|').none().none().none().binint(-1).binint(-1).binint1(63).tuple().build()],
    ['U5', (w: PickleWriter) => dtype(w, 'U5', { endian: '<', elsize: 20, alignment: 4, flags: 8 })],
    ['struct with an object field', (w: PickleWriter) => dtype(w, 'V16', structObj)],
    ['subarray of 2x3 f8', (w: PickleWriter) => dtype(w, 'V48', { subarray: (x) => f8(x).mark().binint1(2).binint1(3).tuple().tuple2(), elsize: 48, alignment: 8, flags: 0 })],
    ['metadata dict', (w: PickleWriter) => dtype(w, 'f8', { version: 4, endian: '<', elsize: -1, alignment: -1, flags: 0, metadata: (x) => x.emptyDict().shortBinUnicode('k').binint1(1).setitem() })],
  ] as const) {
    it(name, () => {
      const { analysis, dtypeBuilds } = validate(pickleOf(body));
      assert.deepEqual(analysis.findings, []);
      assert.ok(dtypeBuilds >= 1);
    });
  }

  it('the layout of an honest struct: size, alignment, flags, hasobject', () => {
    const w = new PickleWriter().proto(2);
    dtype(w, 'V16', structObj);
    let layout: unknown;
    analyzePickleStream(bufferSource(w.stop().bytes()), {
      afterBuild: (ctx) => {
        layout = dtypeLayout(ctx.target, ctx.imports);
        return undefined;
      },
    });
    // the last BUILD is the struct's own
    assert.deepEqual(layout, { itemsize: 16, alignment: 1, flags: 27, hasObject: true, depth: 2 });
  });
});

describe('lying states are refused', () => {
  const cases: Array<[string, (w: PickleWriter) => void, RegExp]> = [
    ['object dtype whose flags clear hasobject', (w) => dtype(w, 'O8', { elsize: -1, alignment: -1, flags: 16 }), /hasobject lies/],
    ['float dtype whose flags claim objects', (w) => dtype(w, 'f8', { endian: '<', elsize: -1, alignment: -1, flags: 1 }), /hasobject lies/],
    ['object dtype with other flag bits cleared (NEEDS_INIT)', (w) => dtype(w, 'O8', { elsize: -1, alignment: -1, flags: 55 }), /flags 0x37/],
    ['object dtype with a byte order', (w) => dtype(w, 'O8', { endian: '>', elsize: -1, alignment: -1, flags: 63 }), /byteorder > on an object dtype/],
    ['fixed kind with an elsize', (w) => dtype(w, 'f8', { endian: '<', elsize: 100, alignment: -1, flags: 0 }), /elsize 100/],
    ['fixed kind with an alignment', (w) => dtype(w, 'i4', { endian: '<', elsize: -1, alignment: 64, flags: 0 }), /alignment 64/],
    ['U5 with an elsize that is not 20', (w) => dtype(w, 'U5', { endian: '<', elsize: 7, alignment: 4, flags: 8 }), /elsize 7 is out of range/],
    ['V8 with a larger elsize', (w) => dtype(w, 'V8', { elsize: 1 << 20, alignment: 1, flags: 0 }), /out of range/],
    ['plain void claiming objects', (w) => dtype(w, 'V16', { elsize: 16, alignment: 1, flags: 1 }), /hasobject lies/],
    ['flags that overflow a char', (w) => dtype(w, 'f8', { endian: '<', elsize: -1, alignment: -1, flags: 300 }), /signed char/],
    ['version 2 form', (w) => w.global('numpy', 'dtype').shortBinUnicode('f8').newFalse().newTrue().tuple3().reduce().mark().binint1(2).shortBinUnicode('<').none().none().binint(-1).binint(-1).tuple().build(), /version 3\/4/],
    ['field at offset 2**30 in an 8-byte item', (w) => dtype(w, 'V8', { names: ['a'], fields: fields(['a', f8, 1 << 30]), elsize: 8, alignment: 1, flags: 16 }), /ends past the 8-byte item/],
    ['field ending one byte past the item', (w) => dtype(w, 'V8', { names: ['a'], fields: fields(['a', f8, 1]), elsize: 8, alignment: 1, flags: 16 }), /ends past/],
    ['negative field offset', (w) => dtype(w, 'V8', { names: ['a'], fields: fields(['a', f8, -8]), elsize: 8, alignment: 1, flags: 16 }), /non-negative/],
    ['struct holding objects whose flags say none', (w) => dtype(w, 'V16', { ...structObj, flags: 16 }), /hasobject lies/],
    ['object field overlapping a float field', (w) => dtype(w, 'V16', { ...structObj, fields: fields(['a', f8, 0], ['b', obj, 4]) }), /overlaps/],
    ['a key in fields that is not a name', (w) => dtype(w, 'V16', { ...structObj, names: ['a'] }), /neither names nor titles/],
    ['a name missing from fields', (w) => dtype(w, 'V16', { ...structObj, names: ['a', 'b', 'c'] }), /missing from fields/],
    ['names without fields', (w) => dtype(w, 'V16', { ...structObj, fields: undefined }), /names is not a tuple or fields is not a dict/],
    ['field that is not a numpy.dtype', (w) => dtype(w, 'V8', { names: ['a'], fields: fields(['a', (x) => x.global('builtins', 'str').emptyTuple().reduce(), 0]), elsize: 8, alignment: 1, flags: 16 }), /not numpy\.dtype/],
    ['aligned struct with a misaligned field', (w) => dtype(w, 'V16', { names: ['a'], fields: fields(['a', f8, 4]), elsize: 16, alignment: 8, flags: (16 | 128) - 256 }), /not aligned/],
    ['unaligned struct claiming an alignment', (w) => dtype(w, 'V16', { ...structObj, alignment: 8 }), /alignment 8, NumPy writes 1/],
    ['subarray of 2**27 f8 in an 8-byte item', (w) => dtype(w, 'V8', { subarray: (x) => f8(x).long1(1n << 27n).tuple1().tuple2(), elsize: 8, alignment: 8, flags: 0 }), /subarray holds 134217728 items/],
    ['subarray with a negative dimension', (w) => dtype(w, 'V8', { subarray: (x) => f8(x).long1(-1n).tuple1().tuple2(), elsize: 8, alignment: 8, flags: 0 }), /non-negative/],
    ['subarray of objects whose flags say none', (w) => dtype(w, 'V16', { subarray: (x) => obj(x).binint1(2).tuple1().tuple2(), elsize: 16, alignment: 8, flags: 0 }), /hasobject lies/],
    ['subarray and fields at once', (w) => dtype(w, 'V8', { subarray: (x) => f8(x).binint1(1).tuple1().tuple2(), names: ['a'], fields: fields(['a', f8, 0]), elsize: 8, alignment: 8, flags: 0 }), /both a subarray and fields/],
    ['metadata holding a call', (w) => dtype(w, 'f8', { version: 4, endian: '<', elsize: -1, alignment: -1, flags: 0, metadata: (x) => x.emptyDict().shortBinUnicode('k').global('builtins', 'str').emptyTuple().reduce().setitem() }), /runs before its state is set|more than plain data/],
    ['object dtype made by copyreg.__newobj__, flags clearing hasobject', (w) => w.global('copy_reg', '__newobj__').mark().global('numpy', 'dtype').shortBinUnicode('O8').newFalse().newTrue().tuple().reduce().mark().binint1(3).shortBinUnicode('|').none().none().none().binint(-1).binint(-1).binint(16).tuple().build(), /hasobject lies/],
    ['object dtype made by NEWOBJ, flags clearing hasobject', (w) => w.global('numpy', 'dtype').shortBinUnicode('O8').newFalse().newTrue().tuple3().newobj().mark().binint1(3).shortBinUnicode('|').none().none().none().binint(-1).binint(-1).binint(16).tuple().build(), /hasobject lies/],
    ['a numpy.dtypes class given a state', (w) => w.global('numpy.dtypes', 'Float64DType').emptyTuple().reduce().mark().binint1(3).shortBinUnicode('<').none().none().none().binint(-1).binint(-1).binint(1).tuple().build(), /numpy\.dtypes class/],
  ];
  for (const [name, body, message] of cases) {
    it(name, () => assert.match(refusal(pickleOf(body)), message));
  }
});

describe('a state tied to its moment: NumPy changes the dtype in place', () => {
  it('a dtype whose state is set twice (memo) is refused', () => {
    const bytes = pickleOf((w) => {
      obj(w);
      w.binput(0).pop();
      w.binget(0);
      writeState(w, { elsize: -1, alignment: -1, flags: 63 }).build();
    });
    assert.match(refusal(bytes), /set a second time/);
  });

  it('a dtype used by a scalar before its state is set is refused', () => {
    // scalar(D, bytes) runs with D fresh ('V16': raw bytes), then D becomes a struct of objects.
    const bytes = pickleOf((w) => {
      w.global('numpy', 'dtype').shortBinUnicode('V16').newFalse().newTrue().tuple3().reduce().binput(0);
      w.global('numpy.core.multiarray', 'scalar').binget(0).shortBinBytes(new Array<number>(16).fill(0x41)).tuple2().reduce().binput(1).pop();
      writeState(w, structObj).build().pop().binget(1);
    });
    assert.match(refusal(bytes), /POP at offset \d+ runs before its state is set|call at offset \d+ runs before/);
  });

  it('a call that uses the dtype inside its own state window is refused even when kept in the state', () => {
    const bytes = pickleOf((w) => {
      w.global('numpy', 'dtype').shortBinUnicode('f8').newFalse().newTrue().tuple3().reduce().binput(0);
      w.mark().binint1(4).shortBinUnicode('<').none().none().none().binint(-1).binint(-1).binint(0);
      w.emptyDict().shortBinUnicode('k').global('numpy.core.multiarray', 'scalar').binget(0).shortBinBytes([0, 0, 0, 0, 0, 0, 0, 0]).tuple2().reduce().setitem();
      w.tuple().build();
    });
    assert.match(refusal(bytes), /metadata holds more than plain data|state holds a value made by numpy\.core\.multiarray\.scalar|runs before its state is set/);
  });

  it('a sub-dtype whose state is set after a parent took it is refused', () => {
    // S (fresh V8) goes into P's fields; P is built; then S gets a state with an object.
    const bytes = pickleOf((w) => {
      w.global('numpy', 'dtype').shortBinUnicode('V8').newFalse().newTrue().tuple3().reduce().binput(0);
      dtype(w, 'V8', { names: ['a'], fields: fields(['a', (x) => x.binget(0), 0]), elsize: 8, alignment: 1, flags: 16 });
      w.binput(1);
      w.tuple2(); // (S, P) keeps both on the stack as one value
      w.binget(0);
      writeState(w, { names: ['o'], fields: fields(['o', obj, 0]), elsize: 8, alignment: 1, flags: 27 }).build();
      w.tuple2();
    });
    assert.match(refusal(bytes), /BUILD at offset \d+ runs before its state is set|call at offset \d+ runs before/);
  });

  it('a dtype that contains itself is refused', () => {
    const bytes = pickleOf((w) => {
      w.global('numpy', 'dtype').shortBinUnicode('V8').newFalse().newTrue().tuple3().reduce().binput(0);
      writeState(w, { names: ['a'], fields: fields(['a', (x) => x.binget(0), 0]), elsize: 8, alignment: 1, flags: 16 }).build();
    });
    assert.match(refusal(bytes), /contains itself|contains the dtype itself/);
  });

  it('a fields dict changed after the BUILD is refused when the stream ends', () => {
    // NumPy keeps the dict object itself: a later SETITEM moves field 'a' to offset 2**30.
    const bytes = pickleOf((w) => {
      w.global('numpy', 'dtype').shortBinUnicode('V8').newFalse().newTrue().tuple3().reduce();
      w.mark().binint1(3).shortBinUnicode('|').none().mark().shortBinUnicode('a').tuple();
      w.emptyDict().binput(5).shortBinUnicode('a');
      f8(w);
      w.binint1(0).tuple2().setitem().binint(8).binint(1).binint(16).tuple().build();
      w.binget(5).shortBinUnicode('a');
      f8(w);
      w.long1(1n << 30n).tuple2().setitem().tuple2();
    });
    const { analysis, late } = validate(bytes);
    assert.deepEqual(errors(analysis), []);
    assert.match(late ?? '', /fields dict was changed after its BUILD/);
    const report = scanBytes(bytes, { policy });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => f.code === 'malformed' && /fields dict was changed/.test(f.message)));
  });
});

describe('wired into every scanned stream', () => {
  const lying = pickleOf((w) => {
    w.global('numpy.core.multiarray', 'scalar');
    dtype(w, 'O8', { elsize: -1, alignment: -1, flags: 16 });
    w.shortBinBytes([0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41]).tuple2().reduce();
  });

  it('a raw pickle with a lying dtype is blocked; the same with honest flags is allowed', () => {
    const report = scanBytes(lying, { policy });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => f.code === 'malformed' && /hasobject lies/.test(f.message)));
    const honest = pickleOf((w) => {
      w.global('numpy.core.multiarray', 'scalar');
      obj(w);
      w.shortBinUnicode('x').tuple2().reduce();
    });
    assert.equal(scanBytes(honest, { policy }).verdict, 'allowed');
  });

  it('inside the object pickle of an .npy file', () => {
    const npyHeader = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
    const padded = npyHeader.padEnd(128 - 10 - 1, ' ') + '\n';
    const npy = new Uint8Array([0x93, ...Buffer.from('NUMPY'), 1, 0, padded.length & 0xff, padded.length >> 8, ...Buffer.from(padded), ...lying]);
    const report = scanBytes(npy, { policy });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => /hasobject lies/.test(f.message)), JSON.stringify(report.findings));
  });
});
