/**
 * What the stream reports is bounded like everything else: import records (each a few
 * hundred bytes for a dozen bytes of pickle) stop the scan at `maxImports` with a `limit`
 * finding; persistent id records (two bytes of pickle each) are listed up to 100 000 and
 * still loaded and checked after that.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PICKLE_LIMITS } from '../../src/pickle/types.js';
import { MAX_PERSISTENT_ID_RECORDS } from '../../src/pickle/machine/limits.js';
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
});
