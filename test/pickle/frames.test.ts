/**
 * Opcodes that cross the end of a FRAME. The machine reads them as CPython's C Unpickler
 * reads a file without `peek` (io.BytesIO): a read that does not fit in the frame drops
 * the frame's unread rest and reads from the bytes after it; bytes payloads (ReadInto)
 * run on. Every case is a pickle crafted byte by byte whose linear reading differs, and
 * each is checked twice: against hard-coded expectations and against the C Unpickler
 * (test/pickle/recording_unpickler.py, stdlib python3) on the same bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pw, type PickleWriter } from './writer.js';
import { codes, python, scan } from './helpers.js';
import type { PickleStreamAnalysis } from '../../src/pickle/types.js';

const ORACLE = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), 'recording_unpickler.py'), 'utf8');

interface Case {
  title: string;
  bytes: PickleWriter;
  /** find_class calls, as written, in the C reading. */
  imports: Array<[string, string]>;
  codes: string[];
  /** Opcode named by the frame-violation finding. */
  crossing: string;
}

const written = (a: PickleStreamAnalysis) => a.imports.filter((i) => i.origin === 'import').map((i) => [i.written.module, i.written.name]);
const stopped = (a: PickleStreamAnalysis) => a.findings.some((f) => f.code === 'malformed' || f.code === 'not-a-pickle' || f.code === 'limit');
const callId = (w: PickleWriter) => w.mark().unicode('id').tuple().reduce();

const cases: Case[] = [
  {
    title: "GLOBAL's module line cut by the frame end: the frame's 'xx' is dropped (posix.system, not xxposix.system)",
    bytes: callId(pw().proto(4).frame(3).raw('cxxposix\nsystem\n')).stop(),
    imports: [['posix', 'system']],
    codes: ['frame-violation'],
    crossing: 'GLOBAL',
  },
  {
    title: 'GLOBAL line cut after invalid UTF-8: a linear reader fails, the C reader imports posix.system',
    bytes: callId(pw().proto(4).frame(3).raw([0x63, 0xff, 0xfe]).raw('posix\nsystem\n')).stop(),
    imports: [['posix', 'system']],
    codes: ['frame-violation'],
    crossing: 'GLOBAL',
  },
  {
    title: "INST's class name line cut by the frame end",
    bytes: pw().proto(4).mark().frame(12).raw('ibuiltins\nxx').raw('print\n').stop(),
    imports: [['builtins', 'print']],
    codes: ['frame-violation'],
    crossing: 'INST',
  },
  {
    title: 'GET lines cut by 2-byte frames read memo 0 and 1 (os.system), not 10 and 11',
    bytes: pw().proto(4).shortBinUnicode('os').binput(0).pop().shortBinUnicode('system').binput(1).pop()
      .shortBinUnicode('collections').binput(10).pop().shortBinUnicode('OrderedDict').binput(11).pop()
      .frame(2).raw('g1').raw('0\n').frame(2).raw('g1').raw('1\n').stackGlobal().stop(),
    imports: [['os', 'system']],
    codes: ['frame-violation', 'frame-violation'],
    crossing: 'GET',
  },
  {
    title: "BININT's 4 bytes cut by the frame end: the 2 in the frame are dropped",
    bytes: pw().proto(4).frame(3).raw([0x4a, 0x07, 0x00]).raw([0x01, 0x00, 0x00, 0x00]).global('os', 'system').stop(),
    imports: [['os', 'system']],
    codes: ['frame-violation'],
    crossing: 'BININT',
  },
  {
    title: 'SHORT_BINUNICODE payload cut: read again after the frame (STACK_GLOBAL of posix.system)',
    bytes: pw().proto(4).shortBinUnicode('posix').frame(4).raw([0x8c, 0x06]).raw('xx').raw('system').stackGlobal().stop(),
    imports: [['posix', 'system']],
    codes: ['frame-violation'],
    crossing: 'SHORT_BINUNICODE',
  },
  {
    title: 'SHORT_BINBYTES payload cut: bytes run on across the frame end (ReadInto), nothing dropped',
    bytes: pw().proto(4).frame(4).raw([0x43, 0x04]).raw('ab').raw('cd').pop().global('os', 'system').stop(),
    imports: [['os', 'system']],
    codes: ['frame-violation'],
    crossing: 'SHORT_BINBYTES',
  },
  {
    title: "a FRAME's own 8-byte length cut by the frame end",
    bytes: pw().proto(4).frame(4).raw([0x95, 0x05, 0x00, 0x00]).raw([0, 0, 0, 0, 0, 0, 0, 0]).global('os', 'system').stop(),
    imports: [['os', 'system']],
    codes: ['frame-violation'],
    crossing: 'FRAME',
  },
  {
    title: 'a FRAME that fits in the open one changes nothing: reading goes on to the outer end',
    bytes: pw().proto(4).frame(12).none().frame(2).pop().none().stop(),
    imports: [],
    codes: ['frame-violation'],
    crossing: 'FRAME',
  },
  {
    title: "a FRAME that does not fit in the open one drops the open frame's rest",
    bytes: pw().proto(4).frame(11).none().frame(3).raw('K').binint1(5).pop().global('os', 'system').stop(),
    imports: [['os', 'system']],
    codes: ['frame-violation'],
    crossing: 'FRAME',
  },
  {
    title: 'a crossing opcode that then fails is still a frame violation (and malformed)',
    bytes: pw().proto(4).global('os', 'system').pop().frame(3).raw('cxxposix\n'),
    imports: [['os', 'system']],
    codes: ['frame-violation', 'malformed'],
    crossing: 'GLOBAL',
  },
];

describe('opcodes crossing a frame end are read as the C Unpickler reads a file', () => {
  const oracle = python(ORACLE, cases.map((c) => Buffer.from(c.bytes.bytes()).toString('hex')).join('\n') + '\n')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { imports: Array<[string, string]>; error: string | null });

  cases.forEach((c, i) => {
    it(c.title, () => {
      const a = scan(c.bytes);
      assert.deepEqual(written(a), c.imports);
      assert.deepEqual(codes(a), c.codes);
      const f = a.findings.find((x) => x.code === 'frame-violation')!;
      assert.equal(f.opcode, c.crossing);
      const exp = oracle[i]!;
      assert.deepEqual(written(a), exp.imports, `CPython asked find_class for ${JSON.stringify(exp.imports)}`);
      assert.equal(stopped(a), exp.error !== null, `CPython error: ${exp.error}`);
    });
  });
});
