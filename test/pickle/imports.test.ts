/**
 * Every route to an import: GLOBAL, INST, STACK_GLOBAL from each string opcode, through
 * each memo opcode; Python-2 mapping; traversal/dunder flags; uses; constrained getattr.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pw } from './writer.js';
import { codes, names, scan } from './helpers.js';

describe('GLOBAL and INST', () => {
  it('GLOBAL resolves module and name, with its offset and a call use', () => {
    const w = pw().proto(2);
    const at = w.here();
    w.global('os', 'system').shortBinUnicode('id').tuple1();
    const callAt = w.here();
    w.reduce().stop();
    const a = scan(w);
    assert.deepEqual(names(a), [['os', 'system']]);
    const imp = a.imports[0]!;
    assert.equal(imp.offset, at);
    assert.equal(imp.opcode, 'GLOBAL');
    assert.equal(imp.origin, 'import');
    assert.deepEqual(imp.uses, [{ kind: 'call', via: 'REDUCE', offset: callAt }]);
    assert.deepEqual(a.findings, []);
    assert.equal(a.pickles[0]!.complete, true);
  });

  it('GLOBAL names are UTF-8 and keep a trailing \\r (CPython strips only \\n)', () => {
    const a = scan(pw().global('caf\u00e9\r', 'x').stop());
    assert.deepEqual(names(a), [['caf\u00e9\r', 'x']]);
  });

  it('INST imports then calls with the items above the mark', () => {
    const w = pw().mark().shortBinUnicode('ls');
    const at = w.here();
    w.inst('subprocess', 'check_output').stop();
    const a = scan(w);
    assert.deepEqual(names(a), [['subprocess', 'check_output']]);
    assert.equal(a.imports[0]!.opcode, 'INST');
    assert.equal(a.imports[0]!.offset, at);
    assert.deepEqual(a.imports[0]!.uses, [{ kind: 'call', via: 'INST', offset: at }]);
  });

  it('INST names are ASCII only: a non-ASCII byte is malformed', () => {
    const a = scan(pw().proto(2).global('a', 'b').pop().mark().inst('caf\u00e9', 'x').stop());
    assert.deepEqual(names(a), [['a', 'b']]);
    assert.deepEqual(codes(a), ['malformed']);
  });
});

describe('STACK_GLOBAL operands', () => {
  const forms: Array<[string, (w: ReturnType<typeof pw>, s: string) => unknown]> = [
    ['SHORT_BINUNICODE', (w, s) => w.shortBinUnicode(s)],
    ['BINUNICODE', (w, s) => w.binUnicode(s)],
    ['BINUNICODE8', (w, s) => w.binUnicode8(s)],
    ['UNICODE', (w, s) => w.unicode(s)],
    ['STRING', (w, s) => w.string(s)],
    ['BINSTRING', (w, s) => w.binString(s)],
    ['SHORT_BINSTRING', (w, s) => w.shortBinString(s)],
  ];
  for (const [label, write] of forms) {
    it(`takes constant strings from ${label}`, () => {
      const w = pw().proto(4);
      write(w, 'builtins');
      write(w, 'eval');
      const at = w.here();
      w.stackGlobal().stop();
      const a = scan(w);
      assert.deepEqual(names(a), [['builtins', 'eval']]);
      assert.equal(a.imports[0]!.offset, at);
      assert.equal(a.imports[0]!.opcode, 'STACK_GLOBAL');
      assert.deepEqual(a.imports[0]!.uses, [{ kind: 'value' }]);
    });
  }

  const memo: Array<[string, (w: ReturnType<typeof pw>, i: number) => unknown, (w: ReturnType<typeof pw>, i: number) => unknown]> = [
    ['PUT/GET', (w, i) => w.put(i), (w, i) => w.get(i)],
    ['BINPUT/BINGET', (w, i) => w.binput(i), (w, i) => w.binget(i)],
    ['LONG_BINPUT/LONG_BINGET', (w, i) => w.longBinput(i + 70000), (w, i) => w.longBinget(i + 70000)],
    ['MEMOIZE/BINGET', (w) => w.memoize(), (w, i) => w.binget(i)],
  ];
  for (const [label, put, get] of memo) {
    it(`takes them through the memo (${label})`, () => {
      const w = pw().proto(4).shortBinUnicode('os');
      put(w, 0);
      w.pop().shortBinUnicode('system');
      put(w, 1);
      w.pop();
      get(w, 0);
      get(w, 1);
      w.stackGlobal().stop();
      assert.deepEqual(names(scan(w)), [['os', 'system']]);
    });
  }

  it('MEMOIZE numbers entries by the count of distinct keys, as CPython does', () => {
    // PUT 5 makes one key; MEMOIZE then writes key 1, not key 6.
    const w = pw().proto(4).shortBinUnicode('junk').binput(5).pop();
    w.shortBinUnicode('os').memoize().pop().shortBinUnicode('system').memoize().pop();
    w.binget(1).binget(2).stackGlobal().stop();
    assert.deepEqual(names(scan(w)), [['os', 'system']]);
  });

  it('a PUT that overwrites a key changes what GET returns', () => {
    const w = pw().proto(4).shortBinUnicode('safe').binput(0).pop().shortBinUnicode('os').binput(0).pop();
    w.binget(0).shortBinUnicode('system').stackGlobal().stop();
    assert.deepEqual(names(scan(w)), [['os', 'system']]);
  });

  it('non-constant operands are dynamic-global', () => {
    const w = pw().proto(4).global('builtins', 'str').shortBinUnicode('os').tuple1().reduce().shortBinUnicode('system');
    const at = w.here();
    w.stackGlobal().stop();
    const a = scan(w);
    assert.deepEqual(names(a), [['builtins', 'str']]);
    assert.deepEqual(codes(a), ['dynamic-global']);
    assert.equal(a.findings[0]!.offset, at);
    assert.equal(a.findings[0]!.opcode, 'STACK_GLOBAL');
  });

  it('an int or bytes operand is dynamic-global too', () => {
    assert.deepEqual(codes(scan(pw().proto(4).binint1(1).shortBinUnicode('x').stackGlobal().stop())), ['dynamic-global']);
    assert.deepEqual(codes(scan(pw().proto(4).shortBinBytes([0x6f, 0x73]).shortBinUnicode('x').stackGlobal().stop())), ['dynamic-global']);
  });

  it('BINUNICODE uses surrogatepass: an encoded surrogate is a name, not an error', () => {
    const a = scan(pw().proto(4).shortBinUnicode([0xed, 0xa0, 0x80]).shortBinUnicode('x').stackGlobal().stop());
    assert.deepEqual(names(a), [['\ud800', 'x']]);
  });
});

describe('Python 2 names (protocol < 3)', () => {
  it('maps __builtin__.eval to builtins.eval and keeps the written names', () => {
    const a = scan(pw().proto(2).global('__builtin__', 'eval').stop());
    assert.deepEqual(names(a), [['builtins', 'eval']]);
    assert.deepEqual(a.imports[0]!.written, { module: '__builtin__', name: 'eval' });
  });

  it('applies NAME_MAPPING before IMPORT_MAPPING', () => {
    // ('exceptions', 'StandardError') -> ('builtins', 'Exception'); module-only: copy_reg -> copyreg.
    const a = scan(pw().global('exceptions', 'StandardError').pop().global('copy_reg', '_reconstructor').stop());
    assert.deepEqual(names(a), [['builtins', 'Exception'], ['copyreg', '_reconstructor']]);
  });

  it('does not map at protocol 3 and above; the protocol is the last PROTO seen', () => {
    assert.deepEqual(names(scan(pw().proto(3).global('__builtin__', 'eval').stop())), [['__builtin__', 'eval']]);
    assert.deepEqual(names(scan(pw().proto(3).proto(2).global('__builtin__', 'eval').stop())), [['builtins', 'eval']]);
    assert.deepEqual(names(scan(pw().proto(2).proto(4).global('__builtin__', 'eval').stop())), [['__builtin__', 'eval']]);
  });

  it('resets the protocol for each pickle of a stream', () => {
    const w = pw().proto(4).none().stop().global('__builtin__', 'eval').stop();
    const a = scan(w);
    assert.deepEqual(names(a), [['builtins', 'eval']]);
    assert.equal(a.imports[0]!.pickleIndex, 1);
  });

  it('maps STACK_GLOBAL names too when the protocol says so', () => {
    const a = scan(pw().proto(2).shortBinUnicode('__builtin__').shortBinUnicode('getattr').stackGlobal().stop());
    assert.deepEqual(names(a), [['builtins', 'getattr']]);
  });
});

describe('traversal and dunder flags', () => {
  it('a dotted name is traversal; a plain one is not', () => {
    const a = scan(pw().proto(4).global('pathlib', 'os.system').pop().global('collections', 'OrderedDict').stop());
    assert.deepEqual(a.imports.map((i) => i.traversal), [true, false]);
  });

  it('dunder segments in module or name are flagged', () => {
    const w = pw().proto(4);
    w.global('builtins', '__import__').pop();
    w.global('os', 'system.__globals__').pop();
    w.global('__main__', 'x').pop();
    w.global('a.__b__.c', 'y').pop();
    w.global('torch', '_utils').stop();
    assert.deepEqual(scan(w).imports.map((i) => i.dunder), [true, true, true, true, false]);
  });
});

describe('uses', () => {
  it('records calls by REDUCE, NEWOBJ, NEWOBJ_EX, OBJ through the memo', () => {
    const w = pw().proto(4).global('m', 'C').binput(0).emptyTuple();
    const newobjAt = w.here();
    w.newobj().pop().binget(0).emptyTuple().emptyDict();
    const exAt = w.here();
    w.newobjEx().pop().mark().binget(0).binint1(1);
    const objAt = w.here();
    w.obj().stop();
    const a = scan(w);
    assert.deepEqual(a.imports[0]!.uses, [
      { kind: 'call', via: 'NEWOBJ', offset: newobjAt },
      { kind: 'call', via: 'NEWOBJ_EX', offset: exAt },
      { kind: 'call', via: 'OBJ', offset: objAt },
    ]);
    assert.deepEqual(a.findings, []);
  });

  it('a call of a non-global is indirect-call', () => {
    const w = pw().proto(2).global('m', 'f').emptyTuple().reduce().emptyTuple();
    const at = w.here();
    w.reduce().stop();
    const a = scan(w);
    assert.deepEqual(codes(a), ['indirect-call']);
    assert.equal(a.findings[0]!.offset, at);
    assert.equal(a.findings[0]!.opcode, 'REDUCE');
  });

  it('calling a list, a string or a persistent id is indirect-call', () => {
    assert.deepEqual(codes(scan(pw().proto(2).emptyList().emptyTuple().reduce().stop())), ['indirect-call']);
    assert.deepEqual(codes(scan(pw().proto(4).shortBinUnicode('os').emptyTuple().newobj().stop())), ['indirect-call']);
    const p = scan(pw().proto(2).persid('x').emptyTuple().reduce().stop());
    assert.deepEqual(codes(p), ['persistent-id', 'indirect-call']);
  });
});

describe('constrained getattr', () => {
  it('getattr(<global>, NAME) is reported as the derived import, and calling it is a plain call', () => {
    const w = pw().proto(2).global('__builtin__', 'getattr').global('torch', 'Tensor').shortBinUnicode('add').tuple2();
    const at = w.here();
    w.reduce().emptyTuple();
    const callAt = w.here();
    w.reduce().stop();
    const a = scan(w);
    assert.deepEqual(names(a), [['builtins', 'getattr'], ['torch', 'Tensor'], ['torch', 'Tensor.add']]);
    const derived = a.imports[2]!;
    assert.equal(derived.origin, 'getattr');
    assert.equal(derived.offset, at);
    assert.equal(derived.traversal, true);
    assert.deepEqual(a.imports[0]!.uses, [{ kind: 'constrained-getattr', offset: at, derived: 2 }]);
    assert.deepEqual(derived.uses, [{ kind: 'call', via: 'REDUCE', offset: callAt }]);
    assert.deepEqual(a.findings, []);
  });

  it('a dunder attribute, a non-constant attribute or a non-global target is an ordinary getattr call', () => {
    const dunder = scan(pw().proto(4).global('builtins', 'getattr').global('m', 'C').shortBinUnicode('__init__').tuple2().reduce().stop());
    assert.equal(dunder.imports.length, 2);
    assert.deepEqual(dunder.imports[0]!.uses.map((u) => u.kind), ['call']);
    const three = scan(pw().proto(4).global('builtins', 'getattr').global('m', 'C').shortBinUnicode('x').none().tuple3().reduce().stop());
    assert.equal(three.imports.length, 2);
    const target = scan(pw().proto(4).global('builtins', 'getattr').emptyList().shortBinUnicode('x').tuple2().reduce().stop());
    assert.equal(target.imports.length, 1);
    assert.deepEqual(target.imports[0]!.uses.map((u) => u.kind), ['call']);
  });

  it('calling the result of an ordinary getattr call is indirect-call', () => {
    const a = scan(pw().proto(4).global('builtins', 'getattr').global('m', 'C').shortBinUnicode('__call__').tuple2().reduce().emptyTuple().reduce().stop());
    assert.deepEqual(codes(a), ['indirect-call']);
  });
});

describe('mutating globals', () => {
  it('BUILD, SETITEM(S), APPEND(S), ADDITEMS on a bare global are mutates-global', () => {
    const cases = [
      pw().proto(4).global('os', 'environ').emptyDict().build().stop(),
      pw().proto(4).global('m', 'C').shortBinUnicode('k').none().setitem().stop(),
      pw().proto(4).global('m', 'C').mark().shortBinUnicode('k').none().setitems().stop(),
      pw().proto(4).global('m', 'C').none().append().stop(),
      pw().proto(4).global('m', 'C').mark().none().appends().stop(),
      pw().proto(4).global('m', 'C').mark().none().additems().stop(),
    ];
    const ops = ['BUILD', 'SETITEM', 'SETITEMS', 'APPEND', 'APPENDS', 'ADDITEMS'];
    cases.forEach((w, i) => {
      const a = scan(w);
      assert.deepEqual(codes(a), ['mutates-global']);
      assert.equal(a.findings[0]!.module, a.imports[0]!.module);
      // The message names the opcode run (an APPENDS/SETITEMS of one item is not APPEND/SETITEM).
      assert.equal(a.findings[0]!.opcode, ops[i]);
      assert.ok(a.findings[0]!.message.startsWith(`${ops[i]} on `), a.findings[0]!.message);
    });
  });

  it('BUILD on an instance is fine; on a constrained getattr result it is mutates-global', () => {
    assert.deepEqual(codes(scan(pw().proto(4).global('m', 'C').emptyTuple().newobj().emptyDict().build().stop())), []);
    const a = scan(pw().proto(4).global('builtins', 'getattr').global('m', 'C').shortBinUnicode('x').tuple2().reduce().emptyDict().build().stop());
    assert.deepEqual(codes(a), ['mutates-global']);
    assert.equal(a.findings[0]!.name, 'C.x');
  });
});

describe('extension registry and persistent ids', () => {
  it('EXT1/EXT2/EXT4 are extension-registry violations', () => {
    for (const w of [pw().proto(2).ext1(1).stop(), pw().proto(2).ext2(300).stop(), pw().proto(2).ext4(70000).stop()]) {
      assert.deepEqual(codes(scan(w)), ['extension-registry']);
    }
  });

  it('records PERSID and BINPERSID with the id shape, one info finding per stream', () => {
    const w = pw().proto(2).mark().shortBinUnicode('storage').global('torch', 'FloatStorage').shortBinUnicode('0').shortBinUnicode('cpu').binint1(4).tuple();
    const at = w.here();
    w.binpersid().pop().persid('abc').stop();
    const a = scan(w);
    assert.deepEqual(a.persistentIds.map((p) => [p.opcode, p.offset, p.shape]), [
      ['BINPERSID', at, "('storage', <global torch.FloatStorage>, str, str, int)"],
      ['PERSID', at + 2, 'str'],
    ]);
    assert.deepEqual(codes(a), ['persistent-id']);
  });
});

describe('bounded bookkeeping', () => {
  it('keeps the first 1000 call uses of an import (a dense pickle calls one class a million times)', () => {
    const w = pw().proto(4).global('datetime', 'date').binput(0).pop().emptyList().mark();
    for (let i = 0; i < 1500; i++) w.binget(0).emptyTuple().reduce();
    w.appends().stop();
    const a = scan(w);
    assert.equal(a.imports[0]!.uses.length, 1000);
    assert.deepEqual(a.findings, []);
  });
});
