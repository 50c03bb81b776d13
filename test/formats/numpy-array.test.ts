import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isNdarrayCall, numpyArrayValidator } from '../../src/formats/numpy-array.js';
import { bufferSource } from '../../src/io/byte-source.js';
import { analyzePickleStream } from '../../src/pickle/index.js';
import type { PickleStreamAnalysis } from '../../src/pickle/types.js';
import { presetPolicy } from '../../src/policy/index.js';
import { scanBytes, scanFile } from '../../src/scan/index.js';
import { PickleWriter } from '../pickle/writer.js';

const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;
const policy = presetPolicy('default');

/** The array validator alone over one stream, counting the array BUILDs it passed. */
function validate(bytes: Uint8Array): { analysis: PickleStreamAnalysis; arrays: number } {
  const hook = numpyArrayValidator();
  let arrays = 0;
  const analysis = analyzePickleStream(bufferSource(bytes), {
    afterBuild: (ctx) => {
      const answer = hook(ctx);
      if (answer === undefined && isNdarrayCall(ctx.target, ctx.imports)) arrays++;
      return answer;
    },
  });
  return { analysis, arrays };
}

const malformed = (a: PickleStreamAnalysis) => a.findings.filter((f) => f.code === 'malformed').map((f) => f.message);

function refusal(bytes: Uint8Array): string {
  const { analysis } = validate(bytes);
  const e = malformed(analysis)[0];
  assert.ok(e !== undefined, `not refused: ${JSON.stringify(analysis.findings)}`);
  return e;
}

const NUMPY_PYTHON = '/usr/bin/python3';
const HAS_NUMPY = existsSync(NUMPY_PYTHON) && spawnSync(NUMPY_PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** Where NumPy is installed, the crafted control must load in it too (so it is an honest state). */
function loadsInNumpy(bytes: Uint8Array): void {
  if (!HAS_NUMPY) return;
  const code = 'import pickle, sys, numpy; a = pickle.loads(sys.stdin.buffer.read()); assert isinstance(a, numpy.ndarray); print(a.size)';
  const res = spawnSync(NUMPY_PYTHON, ['-c', code], { input: bytes, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
}

function accepted(bytes: Uint8Array): void {
  const { analysis, arrays } = validate(bytes);
  assert.deepEqual(malformed(analysis), []);
  assert.equal(arrays, 1);
  assert.equal(scanBytes(bytes, { policy }).verdict, 'allowed');
  loadsInNumpy(bytes);
}

type Part = (w: PickleWriter) => void;

/** `numpy.dtype(typestr, False, True)` with NumPy's version-3 state for a plain type. */
function dtype(typestr: string, endian: string, flags: number): Part {
  return (w) =>
    w.global('numpy', 'dtype').shortBinUnicode(typestr).newFalse().newTrue().tuple3().reduce()
      .mark().binint1(3).shortBinUnicode(endian).none().none().none().binint(-1).binint(-1).binint1(flags).tuple().build();
}
const f8 = dtype('f8', '<', 0);
const obj = dtype('O8', '|', 63);

function shape(...dims: Array<number | bigint>): Part {
  return (w) => {
    w.mark();
    for (const d of dims) w.long1(BigInt(d));
    w.tuple();
  };
}
const bytesOf = (n: number): Part => (w) => w.binBytes(new Uint8Array(n));
function list(n: number): Part {
  return (w) => {
    w.emptyList();
    if (n === 0) return;
    w.mark();
    for (let i = 0; i < n; i++) w.shortBinUnicode(`o${i}`);
    w.appends();
  };
}

/** `_reconstruct(ndarray, (0,), b'b')` then BUILD with `(1, shape, dtype, False, data)` (or the given state items). */
function arrayPickle(state: Part[], make: Part = reconstruct): Uint8Array {
  const w = new PickleWriter().proto(2);
  make(w);
  w.mark();
  for (const p of state) p(w);
  w.tuple().build().stop();
  return w.bytes();
}
const reconstruct: Part = (w) =>
  w.global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').binint1(0).tuple1().shortBinBytes([0x62]).tuple3().reduce();
const version: Part = (w) => w.binint1(1);
const no: Part = (w) => w.newFalse();

describe('numpy.ndarray BUILD states: honest ones are accepted', () => {
  it('f8, shape (3,), 24 bytes', () => accepted(arrayPickle([version, shape(3), f8, no, bytesOf(24)])));
  it('f8, shape (2, 3), 48 bytes, 4-item form', () => accepted(arrayPickle([shape(2, 3), f8, no, bytesOf(48)])));
  it('object, shape (2, 2), a list of 4', () => accepted(arrayPickle([version, shape(2, 2), obj, no, list(4)])));
  it('object, shape (0,), an empty list', () => accepted(arrayPickle([version, shape(0), obj, no, list(0)])));
  it('empty f8 data as protocol-2 bytes()', () => {
    accepted(arrayPickle([version, shape(0), f8, no, (w) => w.global('__builtin__', 'bytes').emptyTuple().reduce()]));
  });
  it('f8 data as protocol-2 _codecs.encode(text, "latin1")', () => {
    const data: Part = (w) => w.global('_codecs', 'encode').shortBinUnicode('\u00ff'.repeat(16)).shortBinUnicode('latin1').tuple2().reduce();
    accepted(arrayPickle([version, shape(2), f8, no, data]));
  });
});

describe('numpy.ndarray BUILD states that lie are refused', () => {
  it('object shape past its list (NumPy 1.24 reads past the list)', () => {
    assert.match(refusal(arrayPickle([version, shape(3), obj, no, list(2)])), /3 slots but the object list holds 2/);
  });
  it('object shape past its list, 4-item form', () => {
    assert.match(refusal(arrayPickle([shape(2, 2), obj, no, list(3)])), /4 slots/);
  });
  it('fewer slots than items too (not what NumPy writes)', () => {
    assert.match(refusal(arrayPickle([version, shape(1), obj, no, list(2)])), /1 slots/);
  });
  it('object data given as bytes (would be read as pointers)', () => {
    assert.match(refusal(arrayPickle([version, shape(1), obj, no, bytesOf(8)])), /not a list/);
  });
  it('non-object data of the wrong length', () => {
    assert.match(refusal(arrayPickle([version, shape(3), f8, no, bytesOf(23)])), /23 bytes but the shape and dtype need 24/);
  });
  it('a negative dimension', () => {
    assert.match(refusal(arrayPickle([version, shape(-1), obj, no, list(0)])), /non-negative/);
  });
  it('a shape whose product overflows', () => {
    assert.match(refusal(arrayPickle([version, shape(2n ** 40n, 2n ** 40n), obj, no, list(0)])), /more items than NumPy addresses/);
  });
  it('more than 32 dimensions', () => {
    assert.match(refusal(arrayPickle([version, shape(...Array<number>(33).fill(1)), obj, no, list(1)])), /32 dimensions/);
  });
  it('a dtype that is not numpy.dtype', () => {
    assert.match(refusal(arrayPickle([version, shape(1), (w) => w.shortBinUnicode('O'), no, list(1)])), /dtype:/);
  });
  it('a dtype whose own state lies', () => {
    assert.match(refusal(arrayPickle([version, shape(1), dtype('f8', '<', 1), no, bytesOf(8)])), /dtype:/);
  });
  it('a state of the wrong size', () => {
    assert.match(refusal(arrayPickle([version, shape(1), obj, no])), /shape is not a tuple/);
    assert.match(refusal(arrayPickle([version, shape(1), obj, no, list(1), no])), /6 items/);
  });
  it('an opaque data value', () => {
    const data: Part = (w) => w.global('builtins', 'bytearray').binint1(8).tuple1().reduce();
    assert.match(refusal(arrayPickle([version, shape(1), f8, no, data])), /made by builtins.bytearray/);
    const sized: Part = (w) => w.global('builtins', 'bytes').binint1(8).tuple1().reduce();
    assert.match(refusal(arrayPickle([version, shape(1), f8, no, sized])), /bytes\(...\) call we cannot size/);
  });
  it('numpy.ndarray through NEWOBJ, then a lying state', () => {
    const make: Part = (w) => w.global('numpy', 'ndarray').binint1(0).tuple1().tuple1().newobj();
    assert.match(refusal(arrayPickle([version, shape(3), obj, no, list(2)], make)), /3 slots/);
  });
  it('a masked array (_mareconstruct, 7-item state) whose shape outruns its list', () => {
    const make: Part = (w) =>
      w.global('numpy.ma.core', '_mareconstruct').mark().global('numpy.ma.core', 'MaskedArray').global('numpy', 'ndarray')
        .binint1(0).tuple1().shortBinBytes([0x62]).tuple().reduce();
    const mask: Part = (w) => w.binBytes(new Uint8Array(3));
    assert.match(refusal(arrayPickle([version, shape(3), obj, no, list(2), mask, (w) => w.none()], make)), /3 slots/);
  });
  it('an ndarray subclass NumPy does not know, with its own state form, is refused and named', () => {
    const make: Part = (w) =>
      w.global('numpy.core.multiarray', '_reconstruct').global('astropy.units', 'Quantity').binint1(0).tuple1().shortBinBytes([0x62]).tuple3().reduce();
    const ndstate: Part = (w) => { w.mark(); version(w); shape(1)(w); f8(w); no(w); bytesOf(8)(w); w.tuple(); };
    assert.match(refusal(arrayPickle([ndstate, (w) => w.emptyDict()], make)), /an array of astropy.units.Quantity/);
  });
  it('the scan blocks it under the default preset', () => {
    assert.equal(scanBytes(arrayPickle([version, shape(3), obj, no, list(2)]), { policy }).verdict, 'blocked');
  });
});

describe('real arrays pickled by NumPy 1.24 / pandas / joblib stay allowed', () => {
  for (const file of ['pickle/dataframe.pkl', 'pickle/series.pkl', 'pickle/scipy_csr.pkl']) {
    it(`${file}: every array BUILD passes`, () => {
      const { analysis, arrays } = validate(new Uint8Array(readFileSync(join(MODELS, file))));
      assert.deepEqual(malformed(analysis), []);
      assert.ok(arrays >= 1, `${arrays} arrays checked`);
    });
  }
  for (const file of [
    'numpy/object.npy', 'numpy/structured_object.npy', 'numpy/object.npz', 'numpy/object_compressed.npz',
    'joblib/object_array.joblib', 'joblib/dataframe.joblib', 'joblib/series.joblib', 'joblib/pipeline.joblib',
    'joblib/forest.joblib', 'pickle/dataframe.pkl', 'pickle/series.pkl',
  ]) {
    const preset = /dataframe|series/.test(file) ? 'pandas' : file.startsWith('joblib') ? 'sklearn' : 'default';
    it(`${file}: allowed by preset:${preset}`, () => {
      const report = scanFile(join(MODELS, file), { policy: presetPolicy(preset) });
      assert.equal(report.verdict, 'allowed', JSON.stringify(report.findings));
    });
  }
});
