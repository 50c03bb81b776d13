/**
 * What the stream reports is bounded like everything else: import records (each a few
 * hundred bytes for a dozen bytes of pickle) stop the scan at `maxImports` with a `limit`
 * finding; persistent id records (two bytes of pickle each) are listed up to 100 000 and
 * still loaded and checked after that; call uses are listed up to 1000 per import and
 * `maxCallUses` per stream; explain's effects stop at `maxEffects`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PICKLE_LIMITS } from '../../src/pickle/types.js';
import { MAX_CALL_USES, MAX_PERSISTENT_ID_RECORDS } from '../../src/pickle/machine/limits.js';
import { codes, names, scan } from './helpers.js';
import { pw } from './writer.js';

describe('bounds on the records a stream reports', () => {
  it('stops with limit maxImports at the first import past the bound, keeping those before', () => {
    const w = pw().proto(2);
    for (let i = 0; i < 4; i++) w.global('mod', `f${i}`).pop();
    const a = scan(w.none().stop(), { limits: { maxImports: 3 } });
    assert.deepEqual(names(a), [['mod', 'f0'], ['mod', 'f1'], ['mod', 'f2']]);
    const limit = a.findings.find((f) => f.code === 'limit');
    assert.equal(limit?.limit, 'maxImports', JSON.stringify(a.findings));
    assert.equal(limit.opcode, 'GLOBAL');
    assert.equal(a.pickles[0]!.complete, false);
  });

  it('counts derived getattr imports too, and defaults to 1 000 000', () => {
    assert.equal(DEFAULT_PICKLE_LIMITS.maxImports, 1_000_000);
    const w = pw().proto(2).global('builtins', 'getattr').global('mod', 'Cls').shortBinUnicode('NAME').tuple2().reduce();
    const a = scan(w.stop(), { limits: { maxImports: 2 } });
    assert.deepEqual(codes(a), ['limit']);
    assert.equal(a.findings[0]!.limit, 'maxImports');
    assert.equal(scan(w.stop()).imports.length, 3, 'the same stream without the bound');
  });

  it(`lists the first ${MAX_PERSISTENT_ID_RECORDS} persistent ids and still checks the rest`, () => {
    const w = pw().proto(2);
    for (let i = 0; i <= MAX_PERSISTENT_ID_RECORDS; i++) w.none().binpersid().pop();
    // The last id is called: an indirect call, found after the list was full.
    w.none().binpersid().emptyTuple().reduce().stop();
    const a = scan(w);
    assert.equal(a.persistentIds.length, MAX_PERSISTENT_ID_RECORDS);
    assert.deepEqual(codes(a), ['persistent-id', 'indirect-call']);
    assert.ok(a.pickles[0]!.complete);
  });

  it(`lists the first ${MAX_CALL_USES} calls of one import, then counts them without listing`, () => {
    const w = pw().proto(2).global('m', 'f').memoize().pop();
    for (let i = 0; i < MAX_CALL_USES + 5; i++) w.binget(0).emptyTuple().reduce().pop();
    const a = scan(w.none().stop());
    assert.equal(a.imports[0]!.uses.filter((u) => u.kind === 'call').length, MAX_CALL_USES);
    assert.deepEqual(codes(a), []);
  });

  it('stops with limit maxCallUses when the calls listed over all imports pass the bound (default 1 000 000)', () => {
    assert.equal(DEFAULT_PICKLE_LIMITS.maxCallUses, 1_000_000);
    const w = pw().proto(2);
    // Two imports, three calls each: the fifth listed call passes a bound of 4.
    for (const name of ['f', 'g']) {
      w.global('m', name);
      for (let i = 0; i < 3; i++) w.dup().emptyTuple().reduce().pop();
      w.pop();
    }
    const a = scan(w.none().stop(), { limits: { maxCallUses: 4 } });
    const limit = a.findings.find((f) => f.code === 'limit');
    assert.equal(limit?.limit, 'maxCallUses', JSON.stringify(a.findings));
    assert.equal(limit.opcode, 'REDUCE');
    assert.deepEqual(a.imports.map((i) => i.uses.filter((u) => u.kind === 'call').length), [3, 1]);
    assert.deepEqual(codes(scan(w.none().stop(), { limits: { maxCallUses: 6 } })), [], 'six calls fit a bound of six');
  });

  it('stops with limit maxEffects when explain records more effects than the bound (default 1 000 000); a plain scan records none', () => {
    assert.equal(DEFAULT_PICKLE_LIMITS.maxEffects, 1_000_000);
    const w = pw().proto(2).emptyList().mark();
    for (let i = 0; i < 10; i++) w.none();
    w.appends().stop();
    const a = scan(w, { recordEffects: true, limits: { maxEffects: 5 } });
    assert.deepEqual(codes(a), ['limit']);
    assert.equal(a.findings[0]!.limit, 'maxEffects');
    assert.equal(a.effects?.length, 5);
    assert.deepEqual(codes(scan(w, { limits: { maxEffects: 5 } })), [], 'without recordEffects the bound never applies');
    assert.equal(scan(w, { recordEffects: true, limits: { maxEffects: 11 } }).effects?.length, 11, '10 appends and the result');
  });
});
