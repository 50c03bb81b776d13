/**
 * Every opcode's effect on the symbolic values (what format readers and the decompiler
 * see), the recorded effects, and the same analysis from a file read in tiny windows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bufferSource, fdSource } from '../../src/io/byte-source.js';
import { analyzePickleStream } from '../../src/pickle/index.js';
import type { Value } from '../../src/pickle/types.js';
import { IMPORT_MAPPING, NAME_MAPPING } from '../../src/pickle/compat-mapping.js';
import { pw, type PickleWriter } from './writer.js';
import { python, scan } from './helpers.js';

/** The value a one-value pickle returns. */
function result(w: PickleWriter): Value {
  const a = scan(w.stop(), { recordEffects: true });
  assert.deepEqual(a.findings.filter((f) => f.code !== 'persistent-id'), [], JSON.stringify(a.findings));
  const r = a.effects!.find((e) => e.k === 'result');
  assert.ok(r && r.k === 'result');
  return r.value;
}

describe('values of every opcode', () => {
  it('numbers', () => {
    assert.deepEqual(result(pw().binint1(200)), { k: 'int', v: 200 });
    assert.deepEqual(result(pw().binint2(65535)), { k: 'int', v: 65535 });
    assert.deepEqual(result(pw().binint(-5)), { k: 'int', v: -5 });
    assert.deepEqual(result(pw().int('42')), { k: 'int', v: 42 });
    assert.deepEqual(result(pw().int('0x10')), { k: 'int', v: 16 });
    assert.deepEqual(result(pw().int('010')), { k: 'int', v: 8 });
    assert.deepEqual(result(pw().int('00')), { k: 'bool', v: false });
    assert.deepEqual(result(pw().int('01')), { k: 'bool', v: true });
    assert.deepEqual(result(pw().long('12345678901234567890L')), { k: 'int', v: 12345678901234567890n });
    assert.deepEqual(result(pw().long1(-129n)), { k: 'int', v: -129 });
    assert.deepEqual(result(pw().long1(2n ** 70n)), { k: 'int', v: 2n ** 70n });
    assert.deepEqual(result(pw().long4(-(2n ** 100n))), { k: 'int', v: -(2n ** 100n) });
    assert.deepEqual(result(pw().long1(0n)), { k: 'int', v: 0 });
    assert.deepEqual(result(pw().float('1.5')), { k: 'float', v: 1.5 });
    assert.deepEqual(result(pw().binfloat(-0.25)), { k: 'float', v: -0.25 });
  });

  it('constants', () => {
    assert.deepEqual(result(pw().none()), { k: 'none' });
    assert.deepEqual(result(pw().newTrue()), { k: 'bool', v: true });
    assert.deepEqual(result(pw().newFalse()), { k: 'bool', v: false });
  });

  it('strings, decoded by each opcode\'s codec', () => {
    assert.deepEqual(result(pw().shortBinUnicode('caf\u00e9')), { k: 'str', v: 'caf\u00e9' });
    assert.deepEqual(result(pw().binUnicode('\u{1f600}')), { k: 'str', v: '\u{1f600}' });
    assert.deepEqual(result(pw().binUnicode8('x')), { k: 'str', v: 'x' });
    assert.deepEqual(result(pw().unicode('a\u20ac\\')), { k: 'str', v: 'a\u20ac\\' });
    assert.deepEqual(result(pw().stringRaw("'a\\x41\\n\\'b'")), { k: 'str', v: "aA\n'b" });
    assert.deepEqual(result(pw().stringRaw('"q"')), { k: 'str', v: 'q' });
    assert.deepEqual(result(pw().shortBinString([0xe9])), { k: 'str', v: '\u00e9' }, 'not UTF-8: Latin-1');
    assert.deepEqual(result(pw().binString('ok')), { k: 'str', v: 'ok' });
  });

  it('bytes payloads are offsets, never copies', () => {
    const w = pw().proto(5);
    const at = w.here();
    assert.deepEqual(result(w.shortBinBytes([1, 2, 3])), { k: 'bytes', offset: at + 2, length: 3, mutable: false });
    assert.deepEqual(result(pw().binBytes([1])), { k: 'bytes', offset: 5, length: 1, mutable: false });
    assert.deepEqual(result(pw().binBytes8([1])), { k: 'bytes', offset: 9, length: 1, mutable: false });
    assert.deepEqual(result(pw().byteArray8([1, 2])), { k: 'bytes', offset: 9, length: 2, mutable: true });
    assert.deepEqual(result(pw().byteArray8([1]).readonlyBuffer()), { k: 'bytes', offset: 9, length: 1, mutable: true });
  });

  it('containers', () => {
    const one = { k: 'int', v: 1 };
    const two = { k: 'int', v: 2 };
    assert.deepEqual(result(pw().emptyTuple()), { k: 'tuple', items: [], omitted: 0 });
    assert.deepEqual(result(pw().binint1(1).tuple1()), { k: 'tuple', items: [one], omitted: 0 });
    assert.deepEqual(result(pw().binint1(1).binint1(2).tuple2()), { k: 'tuple', items: [one, two], omitted: 0 });
    assert.deepEqual(result(pw().binint1(1).binint1(2).binint1(1).tuple3()), { k: 'tuple', items: [one, two, one], omitted: 0 });
    assert.deepEqual(result(pw().mark().binint1(1).tuple()), { k: 'tuple', items: [one], omitted: 0 });
    assert.deepEqual(result(pw().mark().binint1(1).list()), { k: 'list', items: [one], omitted: 0 });
    assert.deepEqual(result(pw().emptyList().binint1(1).append().mark().binint1(2).appends()), { k: 'list', items: [one, two], omitted: 0 });
    assert.deepEqual(result(pw().mark().binint1(1).binint1(2).dict()), { k: 'dict', entries: [[one, two]], omitted: 0 });
    assert.deepEqual(result(pw().emptyDict().binint1(1).binint1(2).setitem()), { k: 'dict', entries: [[one, two]], omitted: 0 });
    assert.deepEqual(result(pw().emptyDict().mark().binint1(1).binint1(2).setitems()), { k: 'dict', entries: [[one, two]], omitted: 0 });
    assert.deepEqual(result(pw().emptySet().mark().binint1(1).additems()), { k: 'set', items: [one], omitted: 0 });
    assert.deepEqual(result(pw().mark().binint1(2).frozenset()), { k: 'frozenset', items: [two], omitted: 0 });
  });

  it('stack and memo opcodes', () => {
    assert.deepEqual(result(pw().binint1(1).binint1(2).pop()), { k: 'int', v: 1 });
    assert.deepEqual(result(pw().binint1(1).mark().binint1(2).binint1(2).popMark()), { k: 'int', v: 1 });
    assert.deepEqual(result(pw().binint1(1).mark().pop()), { k: 'int', v: 1 }, 'POP drops a mark on top');
    assert.deepEqual(result(pw().binint1(1).dup().tuple2()), { k: 'tuple', items: [{ k: 'int', v: 1 }, { k: 'int', v: 1 }], omitted: 0 });
    assert.deepEqual(result(pw().binint1(9).put(3).pop().get(3)), { k: 'int', v: 9 });
    assert.deepEqual(result(pw().binint1(9).longBinput(1 << 20).pop().longBinget(1 << 20)), { k: 'int', v: 9 });
    // Identity through the memo: appending to the memoized list shows in the fetched one.
    const v = result(pw().emptyList().binput(0).binint1(1).append().pop().binget(0));
    assert.deepEqual(v, { k: 'list', items: [{ k: 'int', v: 1 }], omitted: 0 });
  });

  it('calls, builds and persistent ids', () => {
    const v = result(pw().proto(4).global('m', 'C').binint1(1).tuple1().reduce().mark().binint1(2).none().dict().build());
    assert.equal(v.k, 'call');
    if (v.k === 'call') {
      assert.deepEqual(v.fn, { k: 'global', imp: 0 });
      assert.equal(v.via, 'REDUCE');
      assert.deepEqual(v.args, { k: 'tuple', items: [{ k: 'int', v: 1 }], omitted: 0 });
      assert.deepEqual(v.state, { k: 'dict', entries: [[{ k: 'int', v: 2 }, { k: 'none' }]], omitted: 0 });
    }
    const ex = result(pw().proto(4).global('m', 'C').emptyTuple().emptyDict().newobjEx());
    assert.ok(ex.k === 'call' && ex.via === 'NEWOBJ_EX' && ex.kwargs?.k === 'dict');
    const p = result(pw().persid('0'));
    assert.deepEqual(p, { k: 'persid', pid: { k: 'str', v: '0' }, offset: 0 });
  });

  it('records effects in execution order', () => {
    const a = scan(pw().proto(4).emptyDict().global('m', 'f').emptyTuple().reduce().binint1(1).setitem().stop(), { recordEffects: true });
    assert.deepEqual(a.effects!.map((e) => e.k), ['call', 'setitem', 'result']);
    assert.equal(scan(pw().none().stop()).effects, undefined);
  });
});

describe('large payloads from a file', () => {
  it('skips a 20 MB BINBYTES8 and validates a 3 MB BINUNICODE8 window by window', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-big-'));
    const path = join(dir, 'big.pkl');
    const text = 'ab\u00e9\u20ac\u{1f600}'.repeat(300_000); // multi-byte sequences straddle windows
    const w = pw().proto(4).binBytes8(new Uint8Array(20 << 20)).binUnicode8(text).tuple2().global('os', 'system').stop();
    writeFileSync(path, w.bytes());
    const fd = openSync(path, 'r');
    try {
      const a = analyzePickleStream(fdSource(fd, { window: 4096 }));
      assert.deepEqual(a.imports.map((i) => i.name), ['system']);
      assert.deepEqual(a.findings, []);
    } finally {
      closeSync(fd);
    }
    // Over 1 MiB with an encoded surrogate: valid for CPython (surrogatepass), kept as unknown.
    const surrogate = [...new TextEncoder().encode('a'.repeat(2 << 20)), 0xed, 0xa0, 0x80];
    const s = scan(pw().proto(4).binUnicode8(surrogate).stop(), { recordEffects: true });
    assert.deepEqual(s.findings, []);
    assert.deepEqual(s.effects!.at(-1), { k: 'result', pickleIndex: 0, value: { k: 'unknown', why: `str of ${surrogate.length} bytes (not kept)` } });
    // The same string broken in its last byte is malformed.
    const bad = pw().proto(4).global('a', 'b').binUnicode8([...new TextEncoder().encode(text.repeat(1)), 0xc3]).stop();
    assert.match(scan(bad).findings[0]!.message, /invalid UTF-8/);
  });

  it('gives the same analysis from a file in 7-byte windows as from memory, for every fixture', () => {
    const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'pickles');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.pkl'))) {
      const path = join(dir, f);
      const fromMemory = analyzePickleStream(bufferSource(readFileSync(path)));
      const fd = openSync(path, 'r');
      try {
        assert.deepEqual(analyzePickleStream(fdSource(fd, { window: 7 })), fromMemory, f);
      } finally {
        closeSync(fd);
      }
    }
  });
});

describe('Python 2 mapping tables', () => {
  it('equal CPython\'s _compat_pickle', () => {
    const theirs = JSON.parse(
      python(`
import json, _compat_pickle
print(json.dumps({'imports': _compat_pickle.IMPORT_MAPPING, 'names': [[m, n, *_compat_pickle.NAME_MAPPING[(m, n)]] for (m, n) in _compat_pickle.NAME_MAPPING]}))
`),
    ) as { imports: Record<string, string>; names: Array<[string, string, string, string]> };
    assert.deepEqual(Object.fromEntries(IMPORT_MAPPING), theirs.imports);
    assert.deepEqual(
      [...NAME_MAPPING].map(([k, [m, n]]) => [...k.split('\n'), m, n]).sort(),
      theirs.names.sort(),
    );
  });

  it('are applied exactly as CPython\'s find_class applies them', () => {
    const pairs: Array<[string, string]> = [...NAME_MAPPING.keys()].map((k) => k.split('\n') as [string, string]);
    for (const m of IMPORT_MAPPING.keys()) pairs.push([m, 'x']);
    pairs.push(['not_mapped', 'y']);
    const w = pw().proto(2);
    for (const [m, n] of pairs) w.global(m, n).pop();
    w.none().stop();
    const ours = scan(w).imports.map((i) => [i.module, i.name]);
    // pickle.py's own find_class (the C one applies the same tables), with the import and the
    // attribute lookup replaced by recorders so nothing is imported.
    const theirs = JSON.parse(
      python(
        `
import io, json, pickle, sys, types
seen = []
class Module:
    def __init__(self, name): self.name = name
    def __getattr__(self, attr):
        seen.append([self.name, attr])
class Modules(dict):
    def __missing__(self, name): return Module(name)
pickle.__import__ = lambda module, level=0: None
pickle.sys = types.SimpleNamespace(modules=Modules(), audit=lambda *a: None)
u = pickle._Unpickler(io.BytesIO(b''))
u.proto = 2
for m, n in json.loads(sys.stdin.read()):
    u.find_class(m, n)
print(json.dumps(seen))
`,
        JSON.stringify(pairs),
      ),
    );
    assert.equal(theirs.length, pairs.length);
    assert.deepEqual(ours, theirs);
  });
});
