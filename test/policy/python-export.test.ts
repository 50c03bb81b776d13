import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { compilePolicyForPython, loadPolicyFile, policyFromList, presetPolicy } from '../../src/policy/index.js';
import type { Policy } from '../../src/policy/types.js';
import { DANGEROUS_CALLABLES } from './dangerous.js';
import { imp, parts, tree } from './helpers.js';

const SCRIPT = new URL('./python_check.py', import.meta.url).pathname;

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
  add('mylab.models', 'Color.RED', 'getattr');
  add('mylab.models', 'Color.__dict__', 'getattr');
  add('mylab.models', 'Other.RED', 'getattr');
  return out;
}

function pythonDecisions(policy: Policy, imports: Array<[string, string, Origin]>): Array<[boolean, string]> {
  const input = JSON.stringify({ policy: compilePolicyForPython(policy), imports });
  return JSON.parse(execFileSync('python3', [SCRIPT], { input, maxBuffer: 64 << 20 }).toString()) as Array<[boolean, string]>;
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
  it('refuses policies it cannot see into', () => {
    assert.throws(() => compilePolicyForPython(policyFromList(['a.b'])), UsageError);
  });
});

describe('the Python reference decision agrees with the TypeScript one', () => {
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
      'deny:',
      '  - "mylab.bad.**"',
      '  - mylab.A',
      '',
    ].join('\n'),
  });
  const policies: Array<[string, Policy]> = [
    ['project', loadPolicyFile(join(root, 'pickle-guard.yaml'))],
    ['default', presetPolicy('default')],
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
      assert.ok(names.length > 300, `compared ${names.length}`);
      assert.ok(py.some(([a]) => a) && py.some(([a]) => !a));
    });
  }
});
