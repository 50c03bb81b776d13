/**
 * Where the C unpickler raises and the pure-Python one (`pickle._Unpickler`, which
 * joblib.load uses for every file, compressed or not) goes on: each stream puts a
 * `posix.system` call after the place, and both real unpicklers (stdlib python3) say
 * what they import. Only-pure-Python-goes-on must be a violation with the import listed;
 * both-fail stays an informational not-a-pickle.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { codes, oracle, scan } from './helpers.js';
import { pw, type PickleWriter } from './writer.js';
import { isViolation } from '../../src/findings.js';

/** `posix.system('true')`, protocol-0 opcodes (read the same in every protocol). */
const tail = (w: PickleWriter): PickleWriter => w.global('posix', 'system').mark().string('true').tuple().reduce().stop();

/** A protocol-4 pickle whose first FRAME declares `extra` bytes more than follow it. */
function shortFrame(extra: bigint): PickleWriter {
  const body = tail(pw()).bytes();
  return pw().proto(4).frame(BigInt(body.length) + extra).raw(Array.from(body));
}

const floatFirst = (text: string): PickleWriter => tail(pw().float(text).pop());

interface Case {
  label: string;
  w: PickleWriter;
  /** True: only the pure-Python unpickler reaches posix.system; false: neither does. */
  pureOnly: boolean;
  /** The violation the machine reports for a pure-only case. */
  code?: 'malformed' | 'frame-violation';
}

const CASES: Case[] = [
  { label: 'FRAME one byte too long', w: shortFrame(1n), pureOnly: true, code: 'frame-violation' },
  { label: 'FRAME 16 MiB too long', w: shortFrame(1n << 24n), pureOnly: true, code: 'frame-violation' },
  { label: 'FRAME of 2^60 bytes', w: shortFrame(1n << 60n), pureOnly: true, code: 'frame-violation' },
  { label: 'FRAME of 2^63 bytes (past sys.maxsize: both raise)', w: pw().proto(4).frame(1n << 63n).none().stop(), pureOnly: false },
  ...['\t1.5', '1_0', ' 1.5 ', '\f1', '1\r', '\v2', '1e1_0', '.5_5', '1_0.5'].map((t) => ({
    label: `FLOAT ${JSON.stringify(t)}`,
    w: floatFirst(t),
    pureOnly: true,
    code: 'malformed' as const,
  })),
  ...['1__0', '_1', '1_', '1_e5', '1._5', '1.5x', 'in_f'].map((t) => ({ label: `FLOAT ${JSON.stringify(t)}`, w: floatFirst(t), pureOnly: false })),
  { label: 'PUT 2^64 then GET 2^64', w: tail(pw().none().put('18446744073709551616').pop().get('18446744073709551616').pop()), pureOnly: true, code: 'malformed' },
  { label: 'PUT 2^60 (no C memo holds it)', w: tail(pw().none().put(String(1n << 60n)).pop()), pureOnly: true, code: 'malformed' },
  { label: 'GET 2^64 never put', w: tail(pw().get('18446744073709551616')), pureOnly: false },
];

describe('C vs pure-Python unpickler disagreements', () => {
  const streams = CASES.map((c) => c.w.bytes());
  const cReading = oracle(streams);
  const pureReading = oracle(streams, 'python');

  for (const [i, c] of CASES.entries()) {
    it(`${c.label}: ${c.pureOnly ? 'a violation naming the disagreement, posix.system listed' : 'not-a-pickle (both raise)'}`, () => {
      const C = cReading[i]!;
      const py = pureReading[i]!;
      // The real unpicklers behave as the case claims.
      assert.deepEqual(C.imports, [], `C: ${C.error}`);
      assert.ok(C.error, 'the C unpickler raises');
      assert.deepEqual(py.imports, c.pureOnly ? [['posix', 'system']] : [], `pure-Python: ${py.error}`);

      const a = scan(c.w);
      const names = a.imports.map((m) => `${m.module}.${m.name}`);
      if (c.pureOnly) {
        assert.deepEqual(names, ['posix.system']);
        const f = a.findings.find((x) => x.code === c.code);
        assert.ok(f, JSON.stringify(a.findings));
        assert.match(f.message, /the C unpickler .* pure-Python/);
        assert.ok(!codes(a).includes('not-a-pickle'));
        assert.equal(a.pickles[0]!.complete, true);
      } else {
        assert.deepEqual(names, []);
        assert.deepEqual(codes(a), ['not-a-pickle'], JSON.stringify(a.findings));
      }
    });
  }

  it('a failure after a pure-Python-only place is malformed (a violation), never not-a-pickle', () => {
    const a = scan(pw().float('\t1').pop().raw([0xff]));
    assert.deepEqual(codes(a), ['malformed', 'malformed']);
    assert.ok(codes(a).every(isViolation));
    assert.match(a.findings[1]!.message, /unknown opcode.*pure-Python unpickler reads past offset 0/);
  });

  it('INST without a MARK: the pure-Python unpickler imports the class before it looks for the MARK', () => {
    const w = pw().op('i').raw(Array.from(Buffer.from('posix\nsystem\n'))).stop();
    const [C] = oracle([w.bytes()]);
    const [py] = oracle([w.bytes()], 'python');
    assert.deepEqual(C!.imports, []);
    assert.deepEqual(py!.imports, [['posix', 'system']]);
    assert.match(`${C!.error} ${py!.error}`, /MARK.*IndexError|MARK/);
    const a = scan(w);
    assert.deepEqual(a.imports.map((i) => `${i.module}.${i.name}`), ['posix.system']);
    assert.deepEqual(codes(a), ['malformed', 'malformed']);
    assert.match(a.findings[0]!.message, /INST without a MARK.*pure-Python/);
  });

  const bytesOf = (text: string): number[] => Array.from(Buffer.from(text, 'latin1'));
  const cut: Array<[string, PickleWriter, string[]]> = [
    ['GLOBAL name line cut off by the end', pw().raw(bytesOf('cposix\nsystemX')), ['posix.system']],
    ['GLOBAL module line cut off by the end', pw().raw(bytesOf('cposixX')), ['posix.']],
    ['INST name line cut off by the end, after a MARK', pw().mark().raw(bytesOf('iposix\nsystemX')), ['posix.system']],
    ['INST name line cut off by the end, no MARK', pw().raw(bytesOf('iposix\nsystemX')), ['posix.system']],
    ['GLOBAL name line at its frame\'s end and the end of the data', pw().proto(4).frame(7).raw(bytesOf('cposix\n')), ['posix.']],
  ];
  for (const [label, w, imports] of cut) {
    it(`${label}: the pure-Python unpickler imports the cut names, listed`, () => {
      const [C] = oracle([w.bytes()]);
      const [py] = oracle([w.bytes()], 'python');
      assert.deepEqual(C!.imports, []);
      assert.deepEqual(py!.imports.map(([mod, n]) => `${mod}.${n}`), imports, py!.error ?? '');
      const a = scan(w);
      assert.deepEqual(a.imports.map((i) => `${i.written.module}.${i.written.name}`), imports);
      assert.ok(codes(a).includes('malformed') && !codes(a).includes('not-a-pickle'), JSON.stringify(a.findings));
      assert.match(a.findings[0]!.message, /cut off by the end of the data.*pure-Python/);
    });
  }

  it('a GLOBAL line cut off inside a frame: the pure-Python unpickler raises too (frame exhausted), nothing listed', () => {
    const body = bytesOf('cposix\nsystemX');
    const w = pw().proto(4).frame(body.length).raw(body);
    const [py] = oracle([w.bytes()], 'python');
    assert.deepEqual(py!.imports, [], py!.error ?? '');
    assert.deepEqual(scan(w).imports, []);
  });

  it('a short FRAME inside an open frame fails in both (pure-Python: new frame before the end of the current one)', () => {
    const body = tail(pw()).bytes();
    const w = pw().proto(4).frame(12).none().frame(BigInt(body.length) + 1n).raw(Array.from(body));
    const [C] = oracle([w.bytes()]);
    const [py] = oracle([w.bytes()], 'python');
    assert.deepEqual([C!.imports, py!.imports], [[], []], `${C!.error} / ${py!.error}`);
    const a = scan(w);
    assert.deepEqual(a.imports, []);
    assert.ok(codes(a).includes('not-a-pickle'), JSON.stringify(a.findings));
  });
});
