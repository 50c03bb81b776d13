/**
 * Shape descriptions (persistent ids, dynamic-global and indirect-call messages) stay
 * short whatever the value: containers nest and share through the memo, so a pickle of
 * under 2 KB holds a tuple of 256^4 leaves. Describing it in full took the process down
 * (out of memory); the walk now stops after about MAX_SHAPE_CHARS characters.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SHAPE_CHARS } from '../../src/pickle/values.js';
import { scan } from './helpers.js';
import { pw, type PickleWriter } from './writer.js';

/** t0 = (None,) * 256 in memo 0; t(k) = (t(k-1),) * 256 in memo k; t3 left on the stack. */
function nestedTuples(): PickleWriter {
  const w = pw().proto(2).mark();
  for (let i = 0; i < 256; i++) w.none();
  w.tuple().binput(0);
  for (let level = 1; level <= 3; level++) {
    w.mark();
    for (let i = 0; i < 256; i++) w.binget(level - 1);
    w.tuple().binput(level);
  }
  return w;
}

const bounded = (text: string) => text.length < MAX_SHAPE_CHARS + 200;

describe('shape descriptions are bounded', () => {
  it('a persistent id of 256^4 leaves is described in a few hundred characters', () => {
    const w = nestedTuples();
    assert.ok(w.bytes().length < 2100);
    const a = scan(w.binpersid().pop().none().stop());
    assert.equal(a.persistentIds.length, 1);
    const shape = a.persistentIds[0]!.shape;
    assert.ok(bounded(shape), `${shape.length} characters`);
    assert.match(shape, /^\(\(\(\(None, None, /);
    assert.match(shape, /\.\.\. 255 more\)$/, 'the outer tuple says how many items it left out');
    assert.ok(a.pickles[0]!.complete);
  });

  it('a STACK_GLOBAL operand and a called value are described the same bounded way', () => {
    const sg = scan(nestedTuples().shortBinUnicode('x').stackGlobal().stop());
    const dyn = sg.findings.find((f) => f.code === 'dynamic-global');
    assert.ok(dyn && bounded(dyn.message), dyn?.message.length.toString());

    const call = scan(nestedTuples().emptyTuple().reduce().stop());
    const indirect = call.findings.find((f) => f.code === 'indirect-call');
    assert.ok(indirect && bounded(indirect.message), indirect?.message.length.toString());
  });

  it('a long global name is cut inside a shape', () => {
    const name = 'x'.repeat(10_000);
    const a = scan(pw().proto(2).shortBinUnicode('storage').global('m', name).tuple2().binpersid().pop().none().stop());
    const shape = a.persistentIds[0]!.shape;
    assert.ok(bounded(shape), `${shape.length} characters`);
    assert.match(shape, /^\('storage', <global m\.x+\.\.\.>\)$/);
  });
});
