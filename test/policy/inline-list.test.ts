/**
 * The plain-array policy (`scanFile(p, { policy: [...] })`) is judged by the same matcher
 * as a policy file: exact entries only, the dotted (attribute-walk) spelling is not allowed
 * by a plain entry, known-dangerous names are denied without a suggestion.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyError } from '../../src/errors.js';
import { exactAllowList, isLoadedPolicy, policyFromList } from '../../src/policy/index.js';
import { scanBytes } from '../../src/scan/index.js';
import { imp } from './helpers.js';

/** `module.name()` as a protocol-2 pickle: PROTO 2, GLOBAL, EMPTY_TUPLE, REDUCE, STOP. */
function callPickle(module: string, name: string): Buffer {
  return Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(`c${module}\n${name}\n`, 'latin1'), Buffer.from([0x29, 0x52, 0x2e])]);
}

describe('policyFromList', () => {
  const list = exactAllowList(['mylab.models.TinyNet', 'mylab:helpers.build', 'mylab.types.Color.RED']);

  it('allows exactly the listed module.qualname', () => {
    assert.deepEqual(list.check(imp('mylab.models', 'TinyNet')), { allowed: true, entry: 'mylab.models.TinyNet' });
    assert.equal(list.check(imp('mylab.models', 'Other')).allowed, false);
  });
  it('no longer allows the dotted spelling of a listed name (an attribute walk from a parent module)', () => {
    const d = list.check(imp('mylab', 'models.TinyNet'));
    assert.ok(!d.allowed && d.code === 'attribute-traversal', JSON.stringify(d));
    assert.ok(!d.allowed && d.suggestion === '- mylab:models.TinyNet');
  });
  it('allows a walk only through a module:qualname entry, and only that split', () => {
    assert.deepEqual(list.check(imp('mylab', 'helpers.build')), { allowed: true, entry: 'mylab:helpers.build' });
    assert.equal(list.check(imp('mylab.helpers', 'build')).allowed, false);
  });
  it('a getattr-derived member needs its exact name', () => {
    assert.equal(list.check(imp('mylab.types', 'Color.RED', 'getattr')).allowed, true);
    assert.equal(list.check(imp('mylab.types', 'Color.BLUE', 'getattr')).allowed, false);
  });
  it('applies the known-dangerous list: denied, never suggested', () => {
    for (const [m, n] of [['os', 'system'], ['aiohttp', 'request'], ['mylab', 'os.system']] as const) {
      const d = exactAllowList([]).check(imp(m, n));
      assert.ok(!d.allowed && d.code === 'global-denied' && d.suggestion === undefined, `${m} + ${n}: ${JSON.stringify(d)}`);
    }
  });
  it('refuses dunder walks even when a parent is listed', () => {
    const d = list.check(imp('mylab.models', 'TinyNet.__init__.__globals__'));
    assert.ok(!d.allowed && d.code === 'attribute-traversal');
  });
  it('is a loaded policy (so the guard can enforce it in Python children)', () => {
    const p = policyFromList(['a.b']);
    assert.ok(isLoadedPolicy(p));
    assert.equal(p.source, 'inline allow-list');
    assert.equal(p.mode, 'enforce');
    assert.equal(p.isArtifactPath('/x/model.pt'), false);
  });
  for (const [bad, why] of [
    [['mylab.**'], /glob/],
    [['mylab.models.*'], /glob/],
    [['TinyNet'], /no module/],
    [['mylab. models'], /whitespace/],
    [['a:b:c'], /module:qualname/],
    [[42], /not a string/],
  ] as const) {
    it(`refuses ${JSON.stringify(bad)} with a PolicyError`, () => {
      assert.throws(() => policyFromList(bad as unknown as string[]), (err: unknown) => err instanceof PolicyError && why.test(err.message));
    });
  }
});

describe('scanning with a plain list (real pickle bytes)', () => {
  it('the exact name is allowed, the parent-module walk to it is blocked', () => {
    assert.equal(scanBytes(callPickle('collections', 'OrderedDict'), { policy: ['collections.OrderedDict'] }).verdict, 'allowed');
    const walk = scanBytes(callPickle('collections', 'abc.Mapping'), { policy: ['collections.abc.Mapping'] });
    assert.equal(walk.verdict, 'blocked');
    assert.ok(walk.findings.some((f) => f.code === 'attribute-traversal' && f.module === 'collections' && f.name === 'abc.Mapping'), JSON.stringify(walk.findings));
  });
  it('os.system under an unrelated list is global-denied', () => {
    const r = scanBytes(callPickle('os', 'system'), { policy: ['collections.OrderedDict'] });
    assert.equal(r.verdict, 'blocked');
    assert.ok(r.findings.some((f) => f.code === 'global-denied' && f.module === 'os' && f.name === 'system'), JSON.stringify(r.findings));
  });
});
