/**
 * Policy decisions through the real scanner on pickles crafted byte by byte: the import
 * must be judged the same whichever opcode route brought it in.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { presetPolicy } from '../../src/policy/index.js';
import { scanBytes } from '../../src/scan/index.js';

const enc = (s: string): number[] => [...Buffer.from(s, 'utf8')];
const PROTO = (n: number): number[] => [0x80, n];
const STOP = [0x2e];
const POP = [0x30];
const GLOBAL = (m: string, n: string): number[] => [0x63, ...enc(`${m}\n${n}\n`)];
const SHORT_BINUNICODE = (s: string): number[] => [0x8c, enc(s).length, ...enc(s)];
const MEMOIZE = [0x94];
const BINGET = (i: number): number[] => [0x68, i];
const STACK_GLOBAL = [0x93];
const EMPTY_TUPLE = [0x29];
const REDUCE = [0x52];

const bytes = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

/** Each route to `module.name`, called with no arguments (a REDUCE). */
function routes(m: string, n: string): Record<string, Uint8Array> {
  return {
    GLOBAL: bytes(PROTO(2), GLOBAL(m, n), EMPTY_TUPLE, REDUCE, STOP),
    'GLOBAL under protocol 4': bytes(PROTO(4), GLOBAL(m, n), EMPTY_TUPLE, REDUCE, STOP),
    STACK_GLOBAL: bytes(PROTO(4), SHORT_BINUNICODE(m), SHORT_BINUNICODE(n), STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP),
    'STACK_GLOBAL from memoized strings': bytes(
      PROTO(4),
      SHORT_BINUNICODE(m), MEMOIZE, POP,
      SHORT_BINUNICODE(n), MEMOIZE, POP,
      BINGET(0), BINGET(1), STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP,
    ),
    'global fetched from the memo': bytes(PROTO(4), SHORT_BINUNICODE(m), SHORT_BINUNICODE(n), STACK_GLOBAL, MEMOIZE, POP, BINGET(0), EMPTY_TUPLE, REDUCE, STOP),
  };
}

const policy = presetPolicy('default');

describe('torch._utils._rebuild_tensor_v2 under the default preset', () => {
  for (const [route, data] of Object.entries(routes('torch._utils', '_rebuild_tensor_v2'))) {
    it(`is allowed via ${route}`, () => {
      const r = scanBytes(data, { policy });
      assert.deepEqual(r.findings.filter((f) => f.code.startsWith('global') || f.code === 'attribute-traversal'), []);
      const g = r.globals.filter((x) => x.module === 'torch._utils' && x.name === '_rebuild_tensor_v2');
      assert.ok(g.length >= 1 && g.every((x) => x.allowed && x.decision === 'torch._utils._rebuild_tensor_v2'), JSON.stringify(r.globals));
      assert.equal(r.policy.source, 'preset:default');
    });
  }
});

describe('the issue examples are blocked whatever the route', () => {
  for (const [m, n, code] of [
    ['numpy', 'os.system', 'global-denied'],
    ['torch', 'serialization.os.system', 'global-denied'],
    ['builtins', 'len.__self__.exec', 'attribute-traversal'],
    ['posixpath', 'os.system', 'global-denied'],
  ] as const) {
    for (const [route, data] of Object.entries(routes(m, n))) {
      if (route === 'GLOBAL') continue; // below protocol 4, find_class does not walk dotted names
      it(`${m} + ${n} via ${route}`, () => {
        const r = scanBytes(data, { policy });
        assert.equal(r.verdict, 'blocked');
        const f = r.findings.find((x) => x.module === m && x.name === n);
        assert.ok(f, JSON.stringify(r.findings));
        assert.equal(f.code, code);
        assert.doesNotMatch(f.message, /add to the policy/);
      });
    }
  }
  it('a plain os.system GLOBAL is denied and no fix is offered', () => {
    const r = scanBytes(routes('os', 'system').GLOBAL!, { policy });
    assert.equal(r.verdict, 'blocked');
    assert.equal(r.findings[0]?.code, 'global-denied');
  });
  it('an unknown class is refused with the line to add', () => {
    const r = scanBytes(routes('mylab.models', 'TinyNet').GLOBAL!, { policy });
    assert.equal(r.findings[0]?.code, 'global-not-allowed');
    assert.match(r.findings[0]?.message ?? '', /- mylab\.models\.TinyNet/);
    assert.match(r.findings[0]?.message ?? '', /preset:default/);
  });
});
