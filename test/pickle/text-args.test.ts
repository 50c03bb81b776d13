/**
 * Text arguments (INT, LONG, FLOAT, GET, PUT) read as CPython's C Unpickler reads them:
 * it hands each line to a C parser that stops at a NUL byte and knows only ASCII spaces.
 * Each case puts `os.system` after the argument: CPython either raises at the argument
 * (no import) or goes on to find_class, and the machine must do the same. Where only
 * the pure-Python unpickler (joblib.load) goes on (FLOAT ` 1.5`), the machine reports
 * `malformed` and reads on as it does. Reading
 * `F1.5\0junk` as malformed before any import is worse than a false alarm: that is an
 * informational not-a-pickle, and CPython runs the import after it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { oracle, python, scan } from './helpers.js';
import { pw, type PickleWriter } from './writer.js';
import { analyzePickleStream } from '../../src/pickle/index.js';
import { bufferSource } from '../../src/io/byte-source.js';

const TEXTS = ['1', '1\0junk', '1\0', '\0', '\x001', ' 1', '1 ', '\xa01', '1\xa0', '0x1\0z', '1_0', '1\0_', '12L', '12\0xL', '1.5', '1.5\0e', ' 1.5', '-0'];

/** Latin-1 bytes of a text line body. */
const bytesOf = (text: string): number[] => Array.from(Buffer.from(text, 'latin1'));

/** `<opcode><text>\n`, then POP, then `os.system`, STOP. GET reads memo 0 (put first). */
function stream(opcode: string, text: string): PickleWriter {
  const w = pw();
  if (opcode === 'g' || opcode === 'p') w.int(1);
  if (opcode === 'g') w.put(0).pop();
  w.op(opcode).raw(bytesOf(text)).raw([0x0a]);
  return w.pop().global('os', 'system').stop();
}

describe('text arguments as the C Unpickler parses them', () => {
  const cases = ['I', 'L', 'F', 'g', 'p'].flatMap((op) => TEXTS.map((text) => ({ op, text, w: stream(op, text) })));

  it(`agrees with CPython on ${cases.length} INT/LONG/FLOAT/GET/PUT lines (NUL bytes, spaces, NBSP)`, () => {
    const streams = cases.map((c) => c.w.bytes());
    const expected = oracle(streams);
    const pure = oracle(streams, 'python');
    let reached = 0;
    let pureOnly = 0;
    cases.forEach((c, i) => {
      const a = scan(c.w);
      const exp = expected[i]!;
      const py = pure[i]!;
      const label = `${c.op}${JSON.stringify(c.text)}: CPython ${exp.error ?? 'ok'}, pure-Python ${py.error ?? 'ok'}; ours ${JSON.stringify(a.findings)}`;
      const got = a.imports.map((m) => [m.written.module, m.written.name]);
      const codes = a.findings.map((f) => f.code);
      if (exp.imports.length) {
        // The C reading goes on: the machine follows it, no finding.
        assert.deepEqual(got, exp.imports, label);
        assert.deepEqual(codes, [], label);
        reached++;
      } else if (py.imports.length) {
        // Only the pure-Python reading goes on: a violation, and its imports listed.
        assert.deepEqual(got, py.imports, label);
        assert.deepEqual(codes, ['malformed'], label);
        pureOnly++;
      } else {
        assert.deepEqual(got, [], label);
        assert.deepEqual(codes, ['not-a-pickle'], label);
      }
    });
    // All three outcomes are exercised.
    assert.ok(reached > cases.length / 3 && reached < cases.length, `${reached} of ${cases.length} reached the import`);
    assert.ok(pureOnly >= 3, `${pureOnly} lines only the pure-Python unpickler accepts`);
  });

  it('reports os.system behind a FLOAT line with a NUL byte (was: not-a-pickle, no import)', () => {
    const a = scan(stream('F', '1.5\0junk'));
    assert.deepEqual(a.imports.map((m) => `${m.module}.${m.name}`), ['os.system']);
    assert.deepEqual(a.findings, []);
  });

  it('gives INT the value CPython gives: bool only from strtol on a 2-character line', () => {
    const texts = ['00', '01', '+1', ' 1', '1\0', '1 ', '0 ', '0\0x', '\0', '\0\0', '10', '-0', '0x1'];
    const script = `
import pickle, sys
for line in sys.stdin.read().split('\\n')[:-1]:
    v = pickle.loads(b'I' + bytes.fromhex(line) + b'\\n.')
    print(type(v).__name__, int(v))
`;
    const theirs = python(script, texts.map((t) => Buffer.from(t, 'latin1').toString('hex')).join('\n') + '\n').trim().split('\n');
    const mine = texts.map((t) => {
      const a = analyzePickleStream(bufferSource(pw().op('I').raw(bytesOf(t)).raw([0x0a]).stop().bytes()), { recordEffects: true });
      const result = a.effects?.find((e) => e.k === 'result');
      assert.ok(result && result.k === 'result', JSON.stringify(a.findings));
      const v = result.value;
      return v.k === 'bool' ? `bool ${v.v ? 1 : 0}` : v.k === 'int' ? `int ${v.v}` : v.k;
    });
    assert.deepEqual(mine, theirs);
  });
});
