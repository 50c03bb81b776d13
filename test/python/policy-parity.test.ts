/**
 * The Python matcher (python/pickle_guard_boot/pickle_guard_child/policy.py) decides
 * exactly as the Node allow-list does, on the JSON compilePolicyForPython writes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePolicyForPython, presetPolicy, type LoadedPolicy } from '../../src/policy/index.js';
import { DANGEROUS_ENTRIES, DANGEROUS_EXCEPTIONS } from '../../src/policy/dangerous.js';
import type { Policy } from '../../src/policy/types.js';
import { PYTHON_BOOT_DIR } from '../../src/guard/python/index.js';
import { policyFromYaml, runPython, tempDir } from './helpers.js';

const YAML = `version: 1
allow:
  - collections.OrderedDict
  - mylab.**
  - mylab.models:Outer.Inner
  - members: mylab.types.Color
  - numpy.core.multiarray._reconstruct
  - torch._C._jit_allowed_exactly
deny:
  - mylab.secret.*
  - mylab.models:Outer.Hidden
  - collections.Counter
`;

type Case = [module: string, name: string, origin: 'import' | 'getattr'];
const CASES: Case[] = [
  ['collections', 'OrderedDict', 'import'],
  ['collections', 'Counter', 'import'],
  ['collections', 'defaultdict', 'import'],
  ['mylab.models', 'Net', 'import'],
  ['mylab', 'Net', 'import'],
  ['mylab.models', 'Net.inner', 'import'],
  ['mylab.models', 'Outer.Inner', 'import'],
  ['mylab.models', 'Outer.Hidden', 'import'],
  ['mylab.secret', 'Key', 'import'],
  ['mylab.secret', 'Key\n', 'import'],
  ['mylab', '__class__', 'import'],
  ['mylab.__init__', 'x', 'import'],
  ['mylab', '__x', 'import'],
  ['mylab', 'modèle', 'import'],
  ['mylab', 'a/b', 'import'],
  ['mylab', '', 'import'],
  ['os', 'system', 'import'],
  ['posix', 'system', 'import'],
  ['nt', 'system', 'import'],
  ['numpy', 'os.system', 'import'],
  ['mylab', 'os.system', 'import'],
  ['builtins', 'getattr', 'import'],
  ['builtins', 'eval', 'import'],
  ['builtins', 'set', 'import'],
  ['torch._C', '_jit_anything', 'import'],
  ['torch._C', '_jit_allowed_exactly', 'import'],
  ['torch', 'load', 'import'],
  ['numpy.core.multiarray', '_reconstruct', 'import'],
  ['mylab.types', 'Color.RED', 'getattr'],
  ['mylab.types', 'Color.__class__', 'getattr'],
  ['mylab.types', 'Other.X', 'getattr'],
  ['collections', 'OrderedDict.fromkeys', 'getattr'],
  ['os', 'path.join', 'getattr'],
  ['__torch__.torch.nn.modules.conv', 'Conv2d', 'import'],
  ['__main__', 'Net', 'import'],
  ['mylab.__main__', 'Net', 'import'],
  ['torch.serialization', '_get_layout', 'import'],
  ['torch', 'serialization._get_layout', 'import'],
  ['mylab.types', 'Color.__init__', 'getattr'],
];

function split(full: string): [string, string] {
  const i = full.lastIndexOf('.');
  return [full.slice(0, i), full.slice(i + 1)];
}

/** Every exact entry of a preset in several spellings, every dangerous entry, the exceptions. */
function corpus(policy: LoadedPolicy): Case[] {
  const out: Case[] = [];
  for (const e of policy.data.allow) {
    if (e.kind !== 'exact') continue;
    const [m, n] = split(e.text);
    out.push([m, n, 'import'], [m, `${n}.__class__`, 'import'], [m, `${n}.VALUE`, 'getattr'], [m.split('.')[0]!, `${m.split('.').slice(1).join('.')}.${n}`, 'import']);
  }
  for (const d of [...DANGEROUS_ENTRIES, ...DANGEROUS_EXCEPTIONS]) {
    const [m, n] = split(d.replace(/\.?\*\*$/, '.x'));
    out.push([m, n, 'import'], ['numpy', `${m}.${n}`, 'import']);
  }
  return out;
}

function compare(policy: Policy, cases: Case[]): number {
  const dir = tempDir();
  const policyFile = join(dir, 'policy.json');
  const casesFile = join(dir, 'cases.json');
  writeFileSync(policyFile, JSON.stringify(compilePolicyForPython(policy)));
  writeFileSync(casesFile, JSON.stringify(cases));
  const code = `
import json, sys
from pickle_guard_child import policy
p = policy.from_env_value(sys.argv[1])
assert p.broken is None, p.broken
out = []
for module, name, origin in json.load(open(sys.argv[2])):
    d = p.check(module, name, origin)
    out.append([d.allowed, d.code, d.reason, d.suggestion])
print(json.dumps(out))
`;
  const r = runPython(code, [policyFile, casesFile], { ...process.env, PYTHONPATH: PYTHON_BOOT_DIR, PICKLE_GUARD_PYTHON: '0' });
  assert.equal(r.status, 0, r.stderr);
  const python = JSON.parse(r.stdout) as Array<[boolean, string | null, string | null, string | null]>;
  const list = policy.forFile(undefined);
  let allowed = 0;
  cases.forEach(([module, name, origin], i) => {
    const node = list.check({ module, name, origin, traversal: origin === 'import' && name.includes('.'), dunder: false });
    const [pyAllowed, pyCode, pyReason, pySuggestion] = python[i]!;
    const label = `${module} + ${JSON.stringify(name)} (${origin})`;
    assert.equal(pyAllowed, node.allowed, label);
    if (node.allowed) {
      allowed++;
      return;
    }
    assert.equal(pyCode, node.code, label);
    assert.equal(pySuggestion ?? undefined, node.suggestion, label);
    if (node.reason.includes('known-dangerous list')) {
      // The JSON carries the dangerous names, not their one-line reasons.
      assert.equal(pyReason?.split(' (')[0], node.reason.split(' (')[0], label);
    } else {
      assert.equal(pyReason, node.reason, label);
    }
  });
  return allowed;
}

describe('python policy matcher parity with the Node allow-list', () => {
  it('gives the same decision, code, reason and suggestion on hand-picked edge cases', () => {
    const allowed = compare(policyFromYaml(YAML), CASES);
    assert.ok(allowed > 5 && allowed < CASES.length - 10, `a mix of outcomes (${allowed} allowed)`);
  });

  for (const preset of ['default', 'sklearn', 'pandas', 'scipy']) {
    it(`agrees on preset:${preset} over its entries in several spellings and every dangerous name`, () => {
      const policy = presetPolicy(preset);
      const cases = corpus(policy);
      assert.ok(cases.length > 300, `${cases.length} cases`);
      const allowed = compare(policy, cases);
      assert.ok(allowed > 50, `${allowed} allowed`);
    });
  }
});
