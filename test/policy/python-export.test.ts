import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { compilePolicyForPython, loadPolicyFile, policyFromList, presetPolicy } from '../../src/policy/index.js';
import type { Policy } from '../../src/policy/types.js';
import { PYTHON_BOOT_DIR } from '../../src/guard/python/index.js';
import { DANGEROUS_CALLABLES } from './dangerous.js';
import { imp, parts, tree } from './helpers.js';

/**
 * Runs the shipped matcher (python/pickle_guard_boot/pickle_guard_child/policy.py) on the
 * exported JSON, the way the Python child reads it. PICKLE_GUARD_PYTHON=0 keeps the boot
 * folder's sitecustomize from installing the hook in this helper process.
 */
const SHIPPED_MATCHER = `
import json, sys
from pickle_guard_child import policy
data = json.load(sys.stdin)
p = policy.from_data(data["policy"], "<test>")
out = []
for module, name, origin in data["imports"]:
    d = p.check(module, name, origin)
    out.append([d.allowed, "" if d.allowed else d.code])
json.dump(out, sys.stdout)
`;

type Origin = 'import' | 'getattr';

/** A corpus of names: preset entries, dangerous names, traversal and dunder spellings, glob edge cases. */
function corpus(policy: Policy & { data: { allow: Array<{ text: string; kind: string }> } }): Array<[string, string, Origin]> {
  const out: Array<[string, string, Origin]> = [];
  const add = (m: string, n: string, o: Origin = 'import') => out.push([m, n, o]);
  for (const e of policy.data.allow) {
    if (e.kind !== 'exact') continue;
    const [m, n] = parts(e.text);
    add(m, n);
    add(m, `${n}.__class__`);
    add(m.split('.')[0]!, `${m.split('.').slice(1).join('.')}.${n}`.replace(/^\./, ''));
    add(m, `${n}.VALUE`, 'getattr');
  }
  for (const d of DANGEROUS_CALLABLES) add(...parts(d));
  for (const [m, n] of [
    ['numpy', 'os.system'], ['torch', 'serialization.os.system'], ['builtins', 'len.__self__.exec'], ['posixpath', 'os.system'],
    ['numpy.dtypes', 'Float64DType'], ['numpy.dtypes', 'sub.X'], ['numpy.dtypes.sub', 'X'], ['__torch__.torch.nn.modules.conv', 'Conv2d'],
    ['__torch__.torch.nn.modules.conv.___torch_mangle_0', 'Conv2d'], ['__torch__.torch.nn.modules', 'Conv2d'], ['mylab.types', 'Color'],
    ['mylab.types', 'é'], ['mylab.types', 'a b'], ['mylab.types', 'x\ny'], ['mylab.deep.a.b', 'C'], ['mylab.pick', 'A'], ['mylab.pick', 'C'],
    ['mylab.q', 'xyz'], ['mylab.q', 'x/z'], ['mylab.bad', 'X'], ['mylab', 'A'], ['torch', 'Size'], ['mylab.models', 'Color'],
  ] as const) add(m, n);
  for (const m of ['__main__', '__mp_main__', '__parents_main__', 'mylab.__main__']) for (const n of ['system', 'TinyNet', 'Color']) add(m, n);
  add('mylab.models', 'Color.RED', 'getattr');
  add('mylab.models', 'Color.__dict__', 'getattr');
  add('mylab.models', 'Other.RED', 'getattr');
  return out;
}

function pythonDecisions(policy: Policy, imports: Array<[string, string, Origin]>): Array<[boolean, string]> {
  const input = JSON.stringify({ policy: compilePolicyForPython(policy), imports });
  const env = { ...process.env, PYTHONPATH: PYTHON_BOOT_DIR, PICKLE_GUARD_PYTHON: '0' };
  return JSON.parse(execFileSync('python3', ['-c', SHIPPED_MATCHER], { input, env, maxBuffer: 64 << 20 }).toString()) as Array<[boolean, string]>;
}

describe('compilePolicyForPython', () => {
  it('has a versioned, documented shape', () => {
    const p = compilePolicyForPython(presetPolicy('numpy'));
    assert.equal(p.format, 'pickle-guard/python-policy');
    assert.equal(p.version, 1);
    assert.equal(p.source, 'preset:numpy');
    assert.ok(p.allow.exact.includes('numpy.core.multiarray._reconstruct'));
    assert.deepEqual(p.allow.globs.map((g) => g.glob), ['numpy.dtypes.*']);
    assert.ok(p.dangerous.prefixes.includes('os'));
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
  });
  it('applies path-scoped rules for the given path', () => {
    const root = tree({ 'pickle-guard.yaml': 'version: 1\nrules:\n  - files: "lab/**"\n    allow: [mylab.A]\n' });
    const policy = loadPolicyFile(join(root, 'pickle-guard.yaml'));
    assert.deepEqual(compilePolicyForPython(policy).allow.exact, []);
    assert.deepEqual(compilePolicyForPython(policy, join(root, 'lab/m.pt')).allow.exact, ['mylab.A']);
  });
  it('without a path, applies every rule\'s denies and no rule\'s additions (never weaker than any path)', () => {
    const root = tree({
      'pickle-guard.yaml': 'version: 1\nallow: [mylab.B, mylab.C]\nrules:\n  - files: "lab/**"\n    allow: [mylab.A]\n    deny: [mylab.B]\n',
    });
    const policy = loadPolicyFile(join(root, 'pickle-guard.yaml'));
    const anyFile = compilePolicyForPython(policy);
    assert.deepEqual(anyFile.allow.exact, ['mylab.B', 'mylab.C']);
    assert.deepEqual(anyFile.deny.exact, ['mylab.B']);
    const lab = compilePolicyForPython(policy, join(root, 'lab/m.pt'));
    assert.deepEqual([lab.allow.exact, lab.deny.exact], [['mylab.A', 'mylab.B', 'mylab.C'], ['mylab.B']]);
    const outside = compilePolicyForPython(policy, join(root, 'other/m.pt'));
    assert.deepEqual([outside.allow.exact, outside.deny.exact], [['mylab.B', 'mylab.C'], []]);
  });
  it('refuses policies it cannot see into', () => {
    const opaque: Policy = { source: 'hand-made', mode: 'enforce', forFile: () => presetPolicy('numpy').forFile(undefined), isArtifactPath: () => false, pythonLaunchers: [] };
    assert.throws(() => compilePolicyForPython(opaque), UsageError);
  });
  it('compiles an inline list: exact and module:qualname entries, nothing else', () => {
    const p = compilePolicyForPython(policyFromList(['mylab.models.TinyNet', 'mylab.models:Outer.Inner']));
    assert.equal(p.source, 'inline allow-list');
    assert.deepEqual(p.allow.exact, ['mylab.models.TinyNet']);
    assert.deepEqual(p.allow.split, [['mylab.models', 'Outer.Inner']]);
    assert.deepEqual([p.allow.globs, p.allow.members, p.deny.exact], [[], [], []]);
  });
  it('names the script namespaces no glob may allow', () => {
    assert.deepEqual(compilePolicyForPython(presetPolicy('numpy')).mainNamespaces, ['__main__', '__mp_main__', '__parents_main__']);
  });
});

describe('the shipped Python matcher agrees with the TypeScript one', () => {
  const root = tree({
    'pickle-guard.yaml': [
      'version: 1',
      'extends: [default, sklearn, pandas]',
      'allow:',
      '  - "mylab.types.*"',
      '  - "mylab.deep.**"',
      '  - "mylab.pick.{A,B}"',
      '  - "mylab.q.x?z"',
      '  - "mylab.**"',
      '  - mylab.models.Color',
      '  - members: mylab.models.Color',
      '  - "mylab.models:Outer.Inner"',
      '  - __main__.TinyNet',
      'deny:',
      '  - "mylab.bad.**"',
      '  - mylab.A',
      '  - "__mp_main__.**"',
      '',
    ].join('\n'),
  });
  const policies: Array<[string, Policy]> = [
    ['project', loadPolicyFile(join(root, 'pickle-guard.yaml'))],
    ['default', presetPolicy('default')],
    ['inline list', policyFromList(['collections.OrderedDict', 'mylab.models.Color', 'mylab.models:Outer.Inner', '__main__.TinyNet', 'numpy.dtypes.Float64DType'])],
  ];
  for (const [label, policy] of policies) {
    it(`${label}: same decision for every name in the corpus`, () => {
      const names = corpus(policy as Policy & { data: { allow: Array<{ text: string; kind: string }> } });
      const py = pythonDecisions(policy, names);
      const list = policy.forFile(undefined);
      let differ = 0;
      names.forEach(([m, n, o], i) => {
        const d = list.check(imp(m, n, o));
        const ts: [boolean, string] = [d.allowed, d.allowed ? '' : d.code];
        if (JSON.stringify(ts) !== JSON.stringify(py[i])) {
          differ++;
          assert.deepEqual(py[i], ts, `${m} + ${n} (${o})`);
        }
      });
      assert.equal(differ, 0);
      assert.ok(names.length > (label === 'inline list' ? 150 : 300), `compared ${names.length}`);
      assert.ok(py.some(([a]) => a) && py.some(([a]) => !a));
    });
  }
});
