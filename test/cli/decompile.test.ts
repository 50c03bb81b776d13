/** The decompiler over hand-built machine output (the contract types of src/pickle/types.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decompile, pyBytes, pyStr } from '../../src/pickle/decompile.js';
import type { Effect, ImportRecord, PickleStreamAnalysis, Value } from '../../src/pickle/types.js';

function imp(index: number, module: string, name: string, offset: number, extra: Partial<ImportRecord> = {}): ImportRecord {
  return {
    index,
    module,
    name,
    written: { module, name },
    origin: 'import',
    opcode: 'GLOBAL',
    offset,
    pickleIndex: 0,
    traversal: name.includes('.'),
    dunder: false,
    uses: [],
    ...extra,
  };
}

function analysis(imports: ImportRecord[], effects: Effect[] | undefined, end = 100): PickleStreamAnalysis {
  return {
    imports,
    findings: [],
    pickles: [{ index: 0, start: 0, end, protocol: 2, opcodes: 10, complete: true }],
    persistentIds: [],
    end,
    ...(effects ? { effects } : {}),
  };
}

const str = (v: string): Value => ({ k: 'str', v });
const tuple = (...items: Value[]): Value => ({ k: 'tuple', items, omitted: 0 });
const g = (i: number): Value => ({ k: 'global', imp: i });

function call(id: number, fn: Value, args: Value, offset: number, via: Extract<Value, { k: 'call' }>['via'] = 'REDUCE'): Extract<Value, { k: 'call' }> {
  return { k: 'call', id, fn, args, via, offset };
}

const texts = (lines: ReturnType<typeof decompile>) => lines.map((l) => l.text);

test('os.system call: import, assignment, result; blocked lines carry their reasons', () => {
  const c = call(0, g(0), tuple(str('echo hi')), 26);
  const a = analysis([imp(0, 'os', 'system', 2)], [{ k: 'call', value: c }, { k: 'result', pickleIndex: 0, value: c }], 28);
  const lines = decompile(a, {
    marks: new Map([[2, ['global-denied: os.system is dangerous']]]),
    blockedImports: new Map([[0, 'global-denied']]),
  });
  assert.deepEqual(texts(lines), ['# pickle 0 (bytes 0-28, protocol 2)', 'from os import system', "_v0 = system('echo hi')", 'result = _v0']);
  assert.deepEqual(lines[1]!.violations, ['global-denied: os.system is dangerous']);
  assert.equal(lines[1]!.offset, 2);
  assert.deepEqual(lines[2]!.violations, ['calls os.system: global-denied']);
  assert.equal(lines[2]!.offset, 26);
  assert.deepEqual(lines[3]!.violations, []);
});

test('without marks nothing is flagged; without effects only imports are shown, and it says so', () => {
  const c = call(0, g(0), tuple(), 10);
  const clean = decompile(analysis([imp(0, 'collections', 'OrderedDict', 2)], [{ k: 'call', value: c }, { k: 'result', pickleIndex: 0, value: c }]));
  assert.ok(clean.every((l) => l.violations.length === 0));
  assert.equal(clean[2]!.text, '_v0 = OrderedDict()');
  const bare = decompile(analysis([imp(0, 'os', 'system', 2)], undefined));
  assert.deepEqual(texts(bare), ['# pickle 0 (bytes 0-100, protocol 2)', 'from os import system', '# (effects were not recorded: only the imports are shown)']);
});

test('dotted names render as attribute walks; name clashes get aliases', () => {
  const imports = [imp(0, 'pathlib', 'os.system', 2), imp(1, 'a', 'f', 20), imp(2, 'b', 'f', 30)];
  const c0 = call(0, g(0), tuple(str('id')), 40);
  const c1 = call(1, g(2), tuple(g(1)), 50);
  const lines = decompile(analysis(imports, [{ k: 'call', value: c0 }, { k: 'call', value: c1 }, { k: 'result', pickleIndex: 0, value: c1 }]));
  assert.deepEqual(texts(lines).slice(1), [
    'from pathlib import os  # find_class walks attributes: pathlib + os.system',
    'from a import f',
    'from b import f as f_2',
    "_v0 = os.system('id')",
    '_v1 = f_2(f)',
    'result = _v1',
  ]);
});

test('NEWOBJ, BUILD (setstate, and attribute sets on a global), SETITEM and APPEND', () => {
  const obj = call(0, g(0), tuple({ k: 'int', v: 3 }), 10, 'NEWOBJ');
  const state: Value = { k: 'dict', entries: [[str('w'), { k: 'float', v: 1 }]], omitted: 0 };
  const hijack: Value = { k: 'dict', entries: [[str('system'), g(0)]], omitted: 0 };
  const d: Value = { k: 'dict', entries: [], omitted: 0 };
  const l: Value = { k: 'list', items: [], omitted: 0 };
  const effects: Effect[] = [
    { k: 'call', value: obj },
    { k: 'build', target: obj, state, offset: 20 },
    { k: 'build', target: g(1), state: hijack, offset: 30 },
    { k: 'setitem', target: d, key: str('k'), value: obj, offset: 40 },
    { k: 'append', target: l, value: d, offset: 50 },
    { k: 'result', pickleIndex: 0, value: l },
  ];
  const lines = decompile(analysis([imp(0, 'm', 'Net', 2), imp(1, 'os', 'path', 5)], effects), {
    marks: new Map([[30, ['mutates-global: BUILD on os.path']]]),
  });
  assert.deepEqual(texts(lines).slice(3), [
    '_v0 = Net.__new__(Net, 3)',
    "_v0.__setstate__({'w': 1.0})",
    'path.system = Net',
    '_v1 = {}',
    "_v1['k'] = _v0",
    '_v2 = []',
    '_v2.append(_v1)',
    'result = _v2',
  ]);
  assert.deepEqual(lines.find((l) => l.text === 'path.system = Net')?.violations, ['mutates-global: BUILD on os.path']);
});

test('collections cut short by the machine say how many items were omitted', () => {
  const l: Value = { k: 'list', items: [{ k: 'int', v: 1 }], omitted: 41 };
  assert.equal(texts(decompile(analysis([], [{ k: 'result', pickleIndex: 0, value: l }])))[1], 'result = [1, <+41 more>]');
});

test('SETITEM already folded into a literal dict is not repeated', () => {
  const key = str('a');
  const val: Value = { k: 'int', v: 1n };
  const d: Value = { k: 'dict', entries: [[key, val]], omitted: 0 };
  const lines = decompile(analysis([], [{ k: 'setitem', target: d, key, value: val, offset: 9 }, { k: 'result', pickleIndex: 0, value: d }]));
  assert.deepEqual(texts(lines).slice(1), ["result = {'a': 1}"]);
});

test('literals are Python reprs; bytes are read back when a reader is given', () => {
  assert.equal(pyStr("it's\n\x00é"), '"it\'s\\n\\x00é"');
  assert.equal(pyStr(`it's "q"`), `'it\\'s "q"'`);
  assert.equal(pyStr('abcdef', 2), "'ab'<+4 chars>");
  assert.equal(pyBytes(new Uint8Array([0x61, 0x27, 0x00, 0xff])), "b'a\\'\\x00\\xff'");
  const payload = new Uint8Array([0, 0, 0, 0x68, 0x69]);
  const b: Value = { k: 'bytes', offset: 3, length: 2, mutable: false };
  const big: Value = { k: 'bytes', offset: 0, length: 5000, mutable: true };
  const lines = decompile(analysis([], [{ k: 'result', pickleIndex: 0, value: tuple(b, big, { k: 'none' }, { k: 'bool', v: true }) }]), {
    readBytes: (o, n) => payload.subarray(o, o + n),
  });
  assert.equal(lines[1]!.text, "result = (b'hi', bytearray(<5000 bytes at offset 0>), None, True)");
});

test('several pickles in one stream are rendered one after another with their own results', () => {
  const a: PickleStreamAnalysis = {
    ...analysis([imp(0, 'os', 'getcwd', 2), imp(1, 'os', 'system', 30, { pickleIndex: 1 })], undefined),
    pickles: [
      { index: 0, start: 0, end: 20, protocol: 2, opcodes: 4, complete: true },
      { index: 1, start: 20, end: 50, protocol: 0, opcodes: 5, complete: false },
    ],
  };
  const c0 = call(0, g(0), tuple(), 15);
  const c1 = call(1, g(1), tuple(str('x')), 45);
  a.effects = [{ k: 'call', value: c0 }, { k: 'result', pickleIndex: 0, value: c0 }, { k: 'call', value: c1 }];
  assert.deepEqual(texts(decompile(a)), [
    '# pickle 0 (bytes 0-20, protocol 2)',
    'from os import getcwd',
    '_v0 = getcwd()',
    'result_0 = _v0',
    '# pickle 1 (bytes 20-50, protocol 0, incomplete)',
    'from os import system',
    "_v1 = system('x')",
  ]);
});
