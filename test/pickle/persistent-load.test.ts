/**
 * The machine's persistentLoad hook: the format says what its loader's persistent_load
 * returns for an id; the machine puts that on the stack, and falls back to an opaque
 * persistent-id value (calling it: indirect-call) when the format cannot tell.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PersistentLoadHook, Value } from '../../src/pickle/types.js';
import { codes, scan } from './helpers.js';
import { PickleWriter } from './writer.js';

/** Resolves `('module', X, ...)` to X, whatever X is: the test's stand-in for a format rule. */
const secondItem: PersistentLoadHook = ({ pid }) => (pid.k === 'tuple' ? pid.items[1] : undefined);

/** `(tag, <posix.system>, 'x', 'y')` as a persistent id, then `NEWOBJ` on what it loads as; returns the NEWOBJ offset. */
function pidThenNewobj(w: PickleWriter, tag = 'module'): number {
  w.proto(2).mark().shortBinUnicode(tag).global('posix', 'system').shortBinUnicode('x').shortBinUnicode('y').tuple().binpersid();
  w.emptyTuple();
  const at = w.here();
  w.newobj().stop();
  return at;
}

describe('persistentLoad hook', () => {
  it('a resolved global is called as that global: a call use on the import, no indirect-call', () => {
    const w = new PickleWriter();
    const at = pidThenNewobj(w);
    const a = scan(w, { persistentLoad: secondItem });
    assert.deepEqual(codes(a), ['persistent-id']);
    assert.equal(a.imports.length, 1);
    assert.deepEqual(a.imports[0]!.uses, [{ kind: 'value' }, { kind: 'call', via: 'NEWOBJ', offset: at }]);
  });

  it('without a hook the same bytes call an opaque persistent-id value (indirect-call), as before', () => {
    const w = new PickleWriter();
    pidThenNewobj(w);
    const a = scan(w);
    assert.deepEqual(codes(a), ['persistent-id', 'indirect-call']);
    assert.match(a.findings[1]!.message, /NEWOBJ calls a persistent-id value/);
    assert.deepEqual(a.imports[0]!.uses, [{ kind: 'value' }]);
  });

  it('a hook that returns undefined leaves the id opaque', () => {
    const w = new PickleWriter();
    pidThenNewobj(w);
    const seen: Value[] = [];
    const a = scan(w, { persistentLoad: ({ pid }) => void seen.push(pid) });
    assert.deepEqual(codes(a), ['persistent-id', 'indirect-call']);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.k, 'tuple');
  });

  it('an opaque value the format names (a storage) is still an indirect-call when called', () => {
    const w = new PickleWriter();
    pidThenNewobj(w, 'storage');
    const a = scan(w, { persistentLoad: ({ pid, offset }) => ({ k: 'persid', pid, offset, loaded: 'storage' }) });
    assert.deepEqual(codes(a), ['persistent-id', 'indirect-call']);
    assert.match(a.findings[1]!.message, /NEWOBJ calls a persistent-id storage value/);
  });

  it('keeps the persistent-id finding and record for resolved ids', () => {
    const w = new PickleWriter();
    const binpersid = pidThenNewobj(w) - 2; // BINPERSID, EMPTY_TUPLE, then NEWOBJ
    const a = scan(w, { persistentLoad: secondItem });
    assert.equal(a.persistentIds.length, 1);
    assert.deepEqual(a.persistentIds[0], { offset: binpersid, opcode: 'BINPERSID', pickleIndex: 0, shape: "('module', <global posix.system>, str, str)" });
  });

  it('the resolved value goes through the memo like any other (BINPUT, BINGET, REDUCE)', () => {
    const w = new PickleWriter().proto(2).mark().shortBinUnicode('module').global('posix', 'system').none().none().tuple().binpersid().binput(0).pop();
    w.binget(0).shortBinUnicode('id').tuple1();
    const at = w.here();
    w.reduce().stop();
    const a = scan(w, { persistentLoad: secondItem });
    assert.deepEqual(codes(a), ['persistent-id']);
    assert.deepEqual(a.imports[0]!.uses.at(-1), { kind: 'call', via: 'REDUCE', offset: at });
  });

  it('BUILD on a resolved global is mutates-global (an opaque id hid it before)', () => {
    const w = new PickleWriter().proto(2).mark().shortBinUnicode('module').global('posix', 'system').none().none().tuple().binpersid();
    w.emptyDict().build().stop();
    assert.deepEqual(codes(scan(w, { persistentLoad: secondItem })), ['persistent-id', 'mutates-global']);
    assert.deepEqual(codes(scan(w)), ['persistent-id']);
  });

  it('a hook that throws is a malformed finding, not a pass', () => {
    const w = new PickleWriter();
    pidThenNewobj(w);
    const a = scan(w, {
      persistentLoad: () => {
        throw new Error('boom');
      },
    });
    assert.deepEqual(codes(a), ['persistent-id', 'malformed']);
    assert.match(a.findings[1]!.message, /persistent_load: boom/);
  });

  it('a hook that returns an import the pickle never made is malformed', () => {
    const w = new PickleWriter();
    pidThenNewobj(w);
    const a = scan(w, { persistentLoad: () => ({ k: 'global', imp: 7 }) });
    assert.deepEqual(codes(a), ['persistent-id', 'malformed']);
    assert.match(a.findings[1]!.message, /unknown import #7/);
  });

  it('is told which pickle of the stream the id is in', () => {
    const one = new PickleWriter();
    pidThenNewobj(one);
    const bytes = new Uint8Array([...one.bytes(), ...one.bytes()]);
    const indexes: number[] = [];
    scan(bytes, { persistentLoad: ({ pickleIndex }) => void indexes.push(pickleIndex) });
    assert.deepEqual(indexes, [0, 1]);
  });
});

describe('persistentLoad in the recorded effects (what explain renders)', () => {
  it('a resolved id is an effect naming the id and its value, before the call that uses it', () => {
    const w = new PickleWriter();
    const newobj = pidThenNewobj(w);
    const a = scan(w, { persistentLoad: secondItem, recordEffects: true });
    const kinds = (a.effects ?? []).map((e) => e.k);
    assert.deepEqual(kinds, ['persistent-load', 'call', 'result']);
    const e = a.effects![0]!;
    assert.ok(e.k === 'persistent-load');
    assert.equal(e.offset, newobj - 2);
    assert.equal(e.pid.k, 'tuple');
    assert.deepEqual(e.value, { k: 'global', imp: 0 });
  });

  it('an opaque id records no such effect', () => {
    const w = new PickleWriter();
    pidThenNewobj(w);
    const a = scan(w, { recordEffects: true });
    assert.deepEqual((a.effects ?? []).map((e) => e.k), ['call', 'result']);
  });
});
