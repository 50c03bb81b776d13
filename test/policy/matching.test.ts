import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPolicyFile, presetPolicy } from '../../src/policy/index.js';
import { imp, tree } from './helpers.js';

const policyText = (body: string): string => `version: 1\n${body}`;

function listFrom(body: string) {
  const root = tree({ 'pickle-guard.yaml': policyText(body) });
  return { list: loadPolicyFile(join(root, 'pickle-guard.yaml')).forFile(undefined), file: join(root, 'pickle-guard.yaml') };
}

describe('issue examples with the shipped presets', () => {
  for (const preset of ['default', 'sklearn', 'pandas', 'scipy', 'numpy', 'pytorch', 'python-data']) {
    const list = presetPolicy(preset).forFile(undefined);
    it(`${preset}: numpy + os.system, torch + serialization.os.system, builtins + len.__self__.exec, posixpath + os.system are blocked`, () => {
      for (const [m, n] of [
        ['numpy', 'os.system'],
        ['torch', 'serialization.os.system'],
        ['builtins', 'len.__self__.exec'],
        ['posixpath', 'os.system'],
      ] as const) {
        const d = list.check(imp(m, n));
        assert.equal(d.allowed, false, `${m} + ${n}`);
        assert.ok(!d.allowed && d.suggestion === undefined, `${m} + ${n} must not get a suggestion`);
      }
    });
  }
  it('torch._utils._rebuild_tensor_v2 is allowed by default', () => {
    assert.deepEqual(presetPolicy('default').forFile(undefined).check(imp('torch._utils', '_rebuild_tensor_v2')), { allowed: true, entry: 'torch._utils._rebuild_tensor_v2' });
  });
  it('the traversal spelling of an allowed name is not allowed by its plain exact entry', () => {
    const d = presetPolicy('default').forFile(undefined).check(imp('torch', '_utils._rebuild_tensor_v2'));
    assert.equal(d.allowed, false);
    assert.ok(!d.allowed && d.code === 'attribute-traversal');
    assert.ok(!d.allowed && d.suggestion === '- torch:_utils._rebuild_tensor_v2');
  });
});

describe('exact entries', () => {
  const { list, file } = listFrom('allow:\n  - mylab.models.TinyNet\n  - "mylab.models:Outer.Inner"\n');
  it('allow exactly the name', () => {
    assert.deepEqual(list.check(imp('mylab.models', 'TinyNet')), { allowed: true, entry: 'mylab.models.TinyNet' });
    assert.equal(list.check(imp('mylab.models', 'TinyNet2')).allowed, false);
    assert.equal(list.check(imp('mylab', 'models')).allowed, false);
  });
  it('refusals name the policy file and the YAML line to add', () => {
    const d = list.check(imp('mylab.models', 'Other'));
    assert.ok(!d.allowed);
    assert.equal(d.code, 'global-not-allowed');
    assert.equal(d.suggestion, '- mylab.models.Other');
    assert.match(d.reason, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });
  it('module:qualname allows a dotted (traversal) name, only with that split', () => {
    assert.deepEqual(list.check(imp('mylab.models', 'Outer.Inner')), { allowed: true, entry: 'mylab.models:Outer.Inner' });
    const other = list.check(imp('mylab', 'models.Outer.Inner'));
    assert.ok(!other.allowed && other.code === 'attribute-traversal');
  });
  it('an exact entry may name a dunder or a traversal; nothing else can', () => {
    const { list: l } = listFrom('allow:\n  - "copyreg.__newobj__"\n  - "mylab.**"\n');
    assert.equal(l.check(imp('copyreg', '__newobj__')).allowed, true);
    const d = l.check(imp('mylab', 'thing.__globals__'));
    assert.ok(!d.allowed && d.code === 'attribute-traversal' && d.suggestion === undefined);
    const t = l.check(imp('mylab', 'sub.Thing'));
    assert.ok(!t.allowed && t.code === 'attribute-traversal');
  });
});

describe('globs over dotted segments', () => {
  const { list } = listFrom('allow:\n  - "mylab.types.*"\n  - "mylab.deep.**"\n  - "mylab.pick.{A,B}"\n  - "mylab.q.x?z"\n');
  it('* stays within one segment', () => {
    assert.equal(list.check(imp('mylab.types', 'Color')).allowed, true);
    assert.equal(list.check(imp('mylab.types.sub', 'Color')).allowed, false);
    assert.equal(list.check(imp('mylab', 'types')).allowed, false);
  });
  it('** spans segments', () => {
    assert.equal(list.check(imp('mylab.deep', 'A')).allowed, true);
    assert.equal(list.check(imp('mylab.deep.a.b.c', 'D')).allowed, true);
    assert.equal(list.check(imp('mylab', 'deepX')).allowed, false);
  });
  it('braces and ? follow picomatch', () => {
    assert.equal(list.check(imp('mylab.pick', 'A')).allowed, true);
    assert.equal(list.check(imp('mylab.pick', 'C')).allowed, false);
    assert.equal(list.check(imp('mylab.q', 'xyz')).allowed, true);
    assert.equal(list.check(imp('mylab.q', 'xyyz')).allowed, false);
  });
  it('never allow dunder segments, traversal, non-identifier names or dangerous names', () => {
    assert.equal(list.check(imp('mylab.deep', '__reduce__')).allowed, false);
    assert.equal(list.check(imp('mylab.deep', 'a.b')).allowed, false);
    assert.equal(list.check(imp('mylab.deep.x y', 'A')).allowed, false);
    assert.equal(list.check(imp('mylab.deep.é', 'A')).allowed, false);
    const { list: broad } = listFrom('allow:\n  - "os.**"\n  - "numpy.**"\n');
    const d = broad.check(imp('os', 'system'));
    assert.ok(!d.allowed && d.code === 'global-denied' && d.suggestion === undefined);
    assert.equal(broad.check(imp('numpy', 'load')).allowed, false);
    assert.equal(broad.check(imp('numpy', 'ndarray')).allowed, true);
  });
});

describe('deny always wins', () => {
  it('over exact, glob and preset entries', () => {
    const { list, file } = listFrom('extends: [default]\nallow:\n  - mylab.A\n  - "mylab.**"\ndeny:\n  - mylab.A\n  - "mylab.bad.**"\n  - torch.Size\n  - "mylab:x.y"\n');
    for (const [m, n] of [['mylab', 'A'], ['mylab.bad', 'X'], ['mylab.bad.deeper', 'Y'], ['torch', 'Size'], ['mylab', 'x.y']] as const) {
      const d = list.check(imp(m, n));
      assert.ok(!d.allowed && d.code === 'global-denied', `${m}.${n}`);
      assert.ok(!d.allowed && d.suggestion === undefined);
      assert.ok(!d.allowed && d.reason.includes(file));
    }
    assert.equal(list.check(imp('mylab.good', 'X')).allowed, true);
  });
  it('deny globs catch traversal spellings too', () => {
    const { list } = listFrom('allow:\n  - "mylab:hub.load"\ndeny:\n  - "mylab.hub.**"\n');
    assert.equal(list.check(imp('mylab', 'hub.load')).allowed, false);
  });
  it('a deny in an extended file beats an allow in the extending one', () => {
    const root = tree({ 'base.yaml': 'version: 1\ndeny: [mylab.A]\n', 'pickle-guard.yaml': 'version: 1\nextends: [./base.yaml]\nallow: [mylab.A]\n' });
    assert.equal(loadPolicyFile(join(root, 'pickle-guard.yaml')).forFile(undefined).check(imp('mylab', 'A')).allowed, false);
  });
});

describe('known-dangerous names', () => {
  it('are denied without a suggestion unless an exact entry names them', () => {
    const { list } = listFrom('allow:\n  - builtins.print\n');
    assert.equal(list.check(imp('builtins', 'print')).allowed, true);
    const d = list.check(imp('builtins', 'eval'));
    assert.ok(!d.allowed && d.code === 'global-denied' && d.suggestion === undefined);
    assert.match(!d.allowed ? d.reason : '', /known-dangerous/);
  });
});

describe('constrained getattr names (origin getattr)', () => {
  const { list } = listFrom('allow:\n  - mylab.models.Color\n  - mylab.models.Shape.CIRCLE\n  - members: mylab.models.Size\n');
  it('need their own entry: exact Class.NAME', () => {
    assert.equal(list.check(imp('mylab.models', 'Shape.CIRCLE', 'getattr')).allowed, true);
    assert.equal(list.check(imp('mylab.models', 'Shape.SQUARE', 'getattr')).allowed, false);
    const d = list.check(imp('mylab.models', 'Color.RED', 'getattr'));
    assert.ok(!d.allowed && d.code === 'global-not-allowed' && d.suggestion === '- mylab.models.Color.RED');
  });
  it('members: allows every non-dunder member, for getattr only', () => {
    assert.deepEqual(list.check(imp('mylab.models', 'Size.BIG', 'getattr')), { allowed: true, entry: 'mylab.models.Size' });
    assert.equal(list.check(imp('mylab.models', 'Size.__class__', 'getattr')).allowed, false);
    assert.equal(list.check(imp('mylab.models.Size', 'BIG')).allowed, false);
    assert.equal(list.check(imp('mylab.models', 'Size.BIG')).allowed, false);
  });
  it('members of a dangerous class are still refused', () => {
    const { list: l } = listFrom('allow:\n  - members: os.path\n');
    const d = l.check(imp('os', 'path.join', 'getattr'));
    assert.ok(!d.allowed && d.code === 'global-denied' && d.suggestion === undefined);
    const { list: l2 } = listFrom('allow:\n  - "mylab.**"\n');
    assert.equal(l2.check(imp('mylab', 'os.system', 'getattr')).allowed, false);
  });
});

describe('suggestions round-trip', () => {
  it('pasting the suggested line into the policy allows exactly that import', () => {
    const cases: Array<[string, string, 'import' | 'getattr']> = [
      ['mylab.models', 'TinyNet', 'import'],
      ['mylab.models', 'Outer.Inner', 'import'],
      ['mylab.models', 'Color.RED', 'getattr'],
      ['mylab.models', '<lambda>', 'import'],
      ['mylab.modèles', 'Réseau', 'import'],
    ];
    const base = presetPolicy('default').forFile(undefined);
    for (const [m, n, o] of cases) {
      const d = base.check(imp(m, n, o));
      assert.ok(!d.allowed && d.suggestion, `${m}.${n}`);
      const { list } = listFrom(`allow:\n  ${d.suggestion}\n`);
      assert.equal(list.check(imp(m, n, o)).allowed, true, `${d.suggestion}`);
    }
  });
});
