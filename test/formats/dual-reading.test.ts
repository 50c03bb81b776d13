/**
 * Raw pickle streams holding a `NumpyArrayWrapper` are read two ways by real loaders:
 * joblib.load skips the inline array bytes after the wrapper's BUILD, pickle.load (and
 * pandas.read_pickle, np.load(allow_pickle=True), torch.load on a raw pickle) reads them
 * as opcodes. The container layer must scan both readings wherever such a stream is found,
 * and the plain reading's failure in real array bytes must not block benign joblib files.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { analyzeContainer, analyzeContainerWith } from '../../src/formats/index.js';
import { joblibReader, mergeReadings } from '../../src/formats/joblib.js';
import type { ContainerAnalysis } from '../../src/formats/types.js';
import { bufferSource, type ByteSource } from '../../src/io/byte-source.js';
import { analyzePickleStream } from '../../src/pickle/index.js';
import type { AfterBuildHook, MachineOptions } from '../../src/pickle/types.js';
import { presetPolicy } from '../../src/policy/index.js';
import { scanBytes, scanFile } from '../../src/scan/index.js';
import { PickleWriter } from '../pickle/writer.js';
import { writeTar } from './helpers/tar-writer.js';
import { writeZip } from './helpers/zip-writer.js';

const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
const joblibFixtures = Object.keys(manifest.files).filter((p) => p.startsWith('joblib/'));
const latin1 = (s: string) => [...Buffer.from(s, 'latin1')];

/**
 * Protocol 2: [NumpyArrayWrapper(shape=(n,), dtype=int8, alignment 16), <pad byte + data>,
 * collections.OrderedDict] then STOP. `data` is what joblib skips as the array's n bytes.
 */
function wrapperStream(data: number[]): { bytes: Uint8Array; dataAt: number; resume: number } {
  const w = new PickleWriter().proto(2).mark();
  w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj();
  w.emptyDict().mark();
  w.shortBinUnicode('shape').mark().long1(BigInt(data.length)).tuple();
  w.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode('i1').newFalse().newTrue().tuple3().reduce();
  w.shortBinUnicode('order').shortBinUnicode('C');
  w.shortBinUnicode('allow_mmap').newFalse();
  w.shortBinUnicode('numpy_array_alignment_bytes').binint1(16);
  w.setitems().build();
  const dataAt = w.here();
  w.raw([0]).raw(data); // no padding: the padding-length byte is 0
  const resume = w.here();
  w.global('collections', 'OrderedDict').list().stop();
  return { bytes: w.bytes(), dataAt, resume };
}

/**
 * A wrapper without `numpy_array_alignment_bytes` (joblib < 1.2 layout: no padding byte), whose
 * n "array bytes" are, to pickle.load, `module.name('id')` then POP. joblib skips them.
 */
function hiddenCallStream(module: string, name: string): { bytes: Uint8Array; dataAt: number; resume: number } {
  const payload = latin1(`c${module}\n${name}\nS'id'\n\x85R0`);
  const w = new PickleWriter().proto(2).mark();
  w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj();
  w.emptyDict().mark();
  w.shortBinUnicode('shape').mark().long1(BigInt(payload.length)).tuple();
  w.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode('i1').newFalse().newTrue().tuple3().reduce();
  w.shortBinUnicode('order').shortBinUnicode('C');
  w.shortBinUnicode('allow_mmap').newFalse();
  w.setitems().build();
  const dataAt = w.here();
  w.raw(payload);
  const resume = w.here();
  w.global('collections', 'OrderedDict').list().stop();
  return { bytes: w.bytes(), dataAt, resume };
}

const describeFindings = (fs: readonly { code: string; module?: string; name?: string }[]) => fs.map((f) => `${f.code} ${f.module}.${f.name}`).join('; ');
const imported = (a: ContainerAnalysis) => a.streams.flatMap((s) => s.analysis.imports.map((i) => `${s.member}:${i.module}.${i.name}`));

function systemCall(a: ContainerAnalysis, member: string) {
  const stream = a.streams.find((s) => s.member === member);
  assert.ok(stream, `no stream for member "${member}"`);
  return stream.analysis.imports.find((i) => i.module === 'os' && i.name === 'system');
}

/**
 * Scans through the machine seam, noting for each stream whether joblib's reading skipped or
 * re-read bytes (`diverged`: the container layer then reads it plainly too) and that the seam
 * is called once per reported stream (explain pairs its views with streams by order).
 */
function recordingScan(bytes: Uint8Array): { analysis: ContainerAnalysis; diverged: boolean[] } {
  const diverged: boolean[] = [];
  const machine = (source: ByteSource, options: MachineOptions) => {
    const hook = options.afterBuild;
    const i = diverged.push(false) - 1;
    const afterBuild: AfterBuildHook = (ctx) => {
      const answer = hook!(ctx);
      if (answer !== undefined && !('resume' in answer && answer.resume === ctx.offset)) diverged[i] = true;
      return answer;
    };
    return analyzePickleStream(source, hook ? { ...options, afterBuild } : options);
  };
  const analysis = analyzeContainerWith(bufferSource(bytes), {}, machine);
  assert.equal(diverged.length, analysis.streams.length, 'one machine call per reported stream');
  return { analysis, diverged };
}

describe('a call hidden in array bytes that joblib skips but pickle.load runs', () => {
  const { bytes, dataAt, resume } = hiddenCallStream('os', 'system');
  const policy = presetPolicy('default');

  it('the joblib reading alone does not see it (why a second reading is needed)', () => {
    const reader = joblibReader();
    const a = analyzePickleStream(bufferSource(bytes), { afterBuild: reader.afterBuild });
    assert.ok(!a.imports.some((i) => i.module === 'os'));
    assert.equal(reader.divergedAt(), dataAt);
    assert.deepEqual(reader.skipped(), [[dataAt, resume]]);
  });

  it('raw pickle: os.system found, called, at its offset in the array bytes; blocked', () => {
    const a = analyzeContainer(bufferSource(bytes));
    assert.equal(a.format, 'joblib');
    const sys = systemCall(a, '');
    assert.ok(sys, imported(a).join(' '));
    assert.equal(sys.offset, dataAt);
    assert.ok(sys.uses.some((u) => u.kind === 'call'));
    // joblib's reading goes on past the array: both readings are in the one analysis.
    assert.ok(a.streams[0]!.analysis.imports.some((i) => i.module === 'collections' && i.name === 'OrderedDict'));
    const report = scanBytes(bytes, { policy });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => f.module === 'os' && f.name === 'system'), JSON.stringify(report.findings));
  });

  it('gzip (pandas.read_pickle infers .gz, then plain pickle.load): found and blocked', () => {
    const gz = new Uint8Array(gzipSync(bytes));
    const a = analyzeContainer(bufferSource(gz));
    assert.equal(a.compression, 'gzip');
    assert.ok(systemCall(a, ''));
    assert.equal(scanBytes(gz, { policy }).verdict, 'blocked');
  });

  it('tar member (pandas.read_pickle on a one-member .tar): found under the member name', () => {
    const tar = writeTar([{ name: 'frame.pkl', data: bytes }]);
    const a = analyzeContainer(bufferSource(tar));
    assert.ok(systemCall(a, 'frame.pkl'), imported(a).join(' '));
    assert.equal(scanBytes(tar, { policy }).verdict, 'blocked');
  });

  it('the machine seam still sees one call per reported stream (explain relies on it)', () => {
    const benign = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().stop().bytes();
    const tar = writeTar([{ name: 'a.pkl', data: bytes }, { name: 'b.pkl', data: benign }]);
    const { analysis, diverged } = recordingScan(tar);
    assert.deepEqual(analysis.streams.map((s) => s.member), ['a.pkl', 'b.pkl']);
    assert.deepEqual(diverged, [true, false]);
    assert.ok(systemCall(analysis, 'a.pkl'));
  });

  it('tar of a gzip member, and a zip member: found', () => {
    const tar = writeTar([{ name: 'frame.pkl.gz', data: new Uint8Array(gzipSync(bytes)) }]);
    assert.ok(systemCall(analyzeContainer(bufferSource(tar)), 'frame.pkl.gz'));
    const zip = writeZip([{ name: 'frame.pkl', data: bytes, method: 8 }]);
    assert.ok(systemCall(analyzeContainer(bufferSource(zip)), 'frame.pkl'));
  });

  it('an import the plain reading makes before it fails is kept (its error is not)', () => {
    // "Array bytes": GLOBAL os.system, then 0xff, no opcode: pickle.load imports, then raises.
    const payload = [...latin1('cos\nsystem\n'), 0xff];
    const w = new PickleWriter().proto(2);
    w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj();
    w.emptyDict().mark().shortBinUnicode('shape').mark().long1(BigInt(payload.length)).tuple();
    w.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode('i1').newFalse().newTrue().tuple3().reduce();
    w.setitems().build().raw(payload).stop();
    const a = analyzeContainer(bufferSource(w.bytes()));
    assert.ok(systemCall(a, ''));
    assert.ok(!a.streams[0]!.analysis.findings.some((f) => f.code === 'malformed'), JSON.stringify(a.streams[0]!.analysis.findings));
    assert.equal(scanBytes(w.bytes(), { policy }).verdict, 'blocked');
  });
});

describe('benign streams stay allowed', () => {
  it('a crafted wrapper with plain array data: the plain reading runs, fails on the padding byte, adds nothing', () => {
    const { bytes, dataAt, resume } = wrapperStream([1, 2, 3, 4]);
    const reader = joblibReader();
    analyzePickleStream(bufferSource(bytes), { afterBuild: reader.afterBuild });
    assert.deepEqual(reader.skipped(), [[dataAt, resume]]);
    const plain = analyzePickleStream(bufferSource(bytes));
    assert.ok(plain.findings.some((f) => f.code === 'malformed' && f.offset === dataAt), 'pickle.load fails at the padding byte');
    const { analysis, diverged } = recordingScan(bytes);
    assert.deepEqual(diverged, [true], 'so the plain reading runs too');
    assert.deepEqual(analysis.streams[0]!.analysis.findings, []);
    assert.equal(scanBytes(bytes, { policy: ['joblib.numpy_pickle.NumpyArrayWrapper', 'numpy.dtype', 'collections.OrderedDict'] }).verdict, 'allowed');
  });

  it('a pickle without a wrapper is read once (the readings are the same)', () => {
    const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().stop();
    assert.deepEqual(recordingScan(w.bytes()).diverged, [false]);
  });

  for (const path of joblibFixtures) {
    // The preset each file's content needs (as test/policy/manifest.test.ts picks it).
    const preset = /(dataframe|series)/.test(path) ? 'pandas' : 'sklearn';
    it(`${path} (joblib 1.2): both readings run, and it stays allowed with the ${preset} preset`, () => {
      const { analysis, diverged } = recordingScan(new Uint8Array(readFileSync(join(MODELS, path))));
      assert.deepEqual(diverged, [true]);
      assert.deepEqual(analysis.streams.flatMap((s) => s.analysis.findings.filter((f) => f.code !== 'persistent-id')), []);
      assert.equal(scanFile(join(MODELS, path), { policy: presetPolicy(preset) }).verdict, 'allowed');
    });
  }
});

/**
 * A wrapper (no alignment attribute) whose "array bytes" are `payload`, then OrderedDict and
 * STOP for joblib's reading.
 */
function wrapperAround(payload: number[]): Uint8Array {
  const w = new PickleWriter().proto(4).mark();
  w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj();
  w.emptyDict().mark().shortBinUnicode('shape').mark().long1(BigInt(payload.length)).tuple();
  w.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode('i1').newFalse().newTrue().tuple3().reduce();
  w.setitems().build().raw(payload);
  return w.global('collections', 'OrderedDict').list().stop().bytes();
}
const frame = (n: number) => [0x95, n, 0, 0, 0, 0, 0, 0, 0];
const ALLOWED = ['joblib.numpy_pickle.NumpyArrayWrapper', 'numpy.dtype', 'collections.OrderedDict'];

describe("the plain reading's errors in a FRAME (the C unpickler reads past a frame end differently)", () => {
  it('a GLOBAL line cut by the frame end: read as C reads it, posix.system reported, frame-violation kept', () => {
    // FRAME of 3 covering 'c', 0xff, 0xfe: a linear reader fails on invalid UTF-8; C drops the
    // frame rest and reads the line "posix" from the file.
    const bytes = wrapperAround([...frame(3), ...latin1('c\xff\xfeposix\nsystem\n')]);
    const a = analyzeContainer(bufferSource(bytes));
    const findings = a.streams[0]!.analysis.findings;
    const crossings = findings.filter((f) => f.code === 'frame-violation');
    assert.equal(crossings.length, 1, JSON.stringify(findings));
    assert.match(crossings[0]!.message, /plain pickle\.load/);
    assert.ok(a.streams[0]!.analysis.imports.some((i) => i.module === 'posix' && i.name === 'system'));
    const report = scanBytes(bytes, { policy: ALLOWED });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => f.module === 'posix' && f.name === 'system'));
  });

  it('a fixed-size opcode failing inside a frame is certain: dropped, allowed', () => {
    // BINGET 7 with an empty memo, its argument well inside the frame: C fails there too.
    const bytes = wrapperAround([...frame(10), 0x68, 7, ...new Array<number>(8).fill(0x4e)]);
    const a = analyzeContainer(bufferSource(bytes));
    assert.deepEqual(a.streams[0]!.analysis.findings, []);
    assert.equal(scanBytes(bytes, { policy: ALLOWED }).verdict, 'allowed');
  });

  it('the same opcode whose argument would cross the frame end: kept', () => {
    const bytes = wrapperAround([...frame(1), 0x68, 7]);
    assert.equal(scanBytes(bytes, { policy: ALLOWED }).verdict, 'blocked');
  });
});

describe("joblib.load's reading of a file torch's legacy reader claims", () => {
  // torch's magic number as LONG1: the file sniffs as torch-legacy (five plain pickles).
  const MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

  /** First pickle: magic, POP, a wrapper whose 5 "array bytes" are BINBYTES' header to pickle.load. */
  function legacyLooking(): Uint8Array {
    const evil = latin1("cos\nsystem\n(S'id'\ntR0");
    const w = new PickleWriter().proto(2).raw(MAGIC).pop();
    w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj();
    w.emptyDict().mark().shortBinUnicode('subclass').global('numpy', 'ndarray');
    w.shortBinUnicode('shape').mark().long1(5n).tuple();
    w.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode('i1').newFalse().newTrue().tuple3().reduce();
    w.setitems().build();
    // joblib skips these 5 bytes and runs `evil`; pickle.load takes `evil` as a bytes literal.
    w.raw([0x42, evil.length, 0, 0, 0]).raw(evil);
    return w.pop().none().stop().bytes();
  }

  it('the plain reading alone sees no os.system (why joblib must read it too)', () => {
    const plain = analyzePickleStream(bufferSource(legacyLooking()), { pickleCount: 1 });
    assert.ok(!plain.imports.some((i) => i.module === 'os'));
  });

  it('joblib reading of the first pickle is scanned as a stream of its own: os.system called, blocked', () => {
    const bytes = legacyLooking();
    const { analysis, diverged } = recordingScan(bytes);
    assert.equal(analysis.format, 'torch-legacy');
    assert.deepEqual(analysis.streams.map((s) => s.format), ['torch-legacy', 'joblib']);
    assert.deepEqual(diverged, [false, true]);
    const sys = analysis.streams[1]!.analysis.imports.find((i) => i.module === 'os' && i.name === 'system');
    assert.ok(sys?.uses.some((u) => u.kind === 'call'));
    const report = scanBytes(bytes, { policy: presetPolicy('default') });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => f.code === 'global-denied' && f.module === 'os' && f.name === 'system'), describeFindings(report.findings));
  });

  for (const path of ['torch/checkpoint.legacy.pt', 'torch/state_dict.legacy.pt', 'torch/whole_model.legacy.pt']) {
    it(`${path} (torch 1.13): only torch's reading, no joblib stream`, () => {
      const { analysis } = recordingScan(new Uint8Array(readFileSync(join(MODELS, path))));
      assert.equal(analysis.format, 'torch-legacy');
      assert.ok(analysis.streams.every((s) => s.format === 'torch-legacy'));
    });
  }
});

describe('mergeReadings', () => {
  it("a plain-reading error before the divergence point is kept (it is joblib's too, listed once)", () => {
    const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').op(0xff);
    const a = analyzePickleStream(bufferSource(w.bytes()));
    const merged = mergeReadings(a, a, { source: bufferSource(w.bytes()), divergedAt: 1_000 });
    assert.deepEqual(merged.findings, a.findings);
    assert.equal(merged.imports.length, a.imports.length);
  });

  it('an import both readings make at one offset gets the uses only the plain reading saw', () => {
    // Outer: builtins.getattr, memoized at 0, used only as getattr(OrderedDict, 'fromkeys') (the
    // constrained form, judged by the derived name). "Array bytes": BINGET 0 and a call of it
    // with '__class__' (unconstrained): only pickle.load makes that call.
    const payload = [...latin1('h\x00ccollections\nOrderedDict\nX'), 9, 0, 0, 0, ...latin1('__class__\x86R0')];
    const w = new PickleWriter().proto(2).mark();
    w.global('builtins', 'getattr').binput(0).global('collections', 'OrderedDict').shortBinUnicode('fromkeys').tuple2().reduce();
    w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj();
    w.emptyDict().mark().shortBinUnicode('shape').mark().long1(BigInt(payload.length)).tuple();
    w.shortBinUnicode('dtype').global('numpy', 'dtype').shortBinUnicode('i1').newFalse().newTrue().tuple3().reduce();
    w.setitems().build().raw(payload).list().stop();
    const a = analyzeContainer(bufferSource(w.bytes()));
    const getattrs = a.streams[0]!.analysis.imports.filter((i) => i.module === 'builtins' && i.name === 'getattr');
    assert.equal(getattrs.length, 1, 'one import record for one opcode');
    assert.ok(getattrs[0]!.uses.some((u) => u.kind === 'call'), JSON.stringify(getattrs[0]!.uses));
    const allow = ['collections.OrderedDict', 'collections.OrderedDict.fromkeys', 'joblib.numpy_pickle.NumpyArrayWrapper', 'numpy.dtype'];
    const report = scanBytes(w.bytes(), { policy: allow });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => f.module === 'builtins' && f.name === 'getattr'), JSON.stringify(report.findings));
  });
});
