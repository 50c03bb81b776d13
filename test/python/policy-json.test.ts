/** The child's reading of the compiled policy: anything unexpected refuses everything. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicyForPython } from '../../src/policy/index.js';
import { PYTHON_BOOT_DIR } from '../../src/guard/python/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC_POLICY, policyFromYaml, runPython, tempDir } from './helpers.js';

/** For each JSON text: null when usable, else why the policy is broken. */
function readAll(texts: string[]): Array<string | null> {
  const code = `
import json, sys
from pickle_guard_child import policy
out = []
for text in json.loads(sys.stdin.read()):
    p = policy.from_env_value(text)
    out.append(p.broken)
    if p.broken is not None:
        d = p.check("collections", "OrderedDict")
        assert not d.allowed and d.code == "global-not-allowed", d.reason
print(json.dumps(out))
`;
  const r = runPython(code, [], { ...process.env, PYTHONPATH: PYTHON_BOOT_DIR, PICKLE_GUARD_PYTHON: '0' }, { input: JSON.stringify(texts) });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Array<string | null>;
}

describe('reading the compiled policy in the child', () => {
  const good = compilePolicyForPython(policyFromYaml(BASIC_POLICY));
  const variant = (change: (p: Record<string, unknown>) => void): string => {
    const copy = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
    change(copy);
    return JSON.stringify(copy);
  };

  it('accepts what compilePolicyForPython writes, inline or as a file path', () => {
    const file = join(tempDir(), 'policy.json');
    writeFileSync(file, JSON.stringify(good));
    assert.deepEqual(readAll([JSON.stringify(good), file]), [null, null]);
  });

  it('refuses everything for a missing, unreadable or malformed policy', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /is not set/],
      ['/nonexistent/policy.json', /cannot read/],
      ['{not json', /PICKLE_GUARD_PYTHON_POLICY: /],
      [variant((p) => (p.format = 'other')), /not a pickle-guard\/python-policy document/],
      [variant((p) => (p.version = 2)), /unsupported version 2/],
      [variant((p) => (p.mode = 'warn')), /mode must be/],
      [variant((p) => delete p.identifier), /identifier must be a non-empty string/],
      [variant((p) => ((p.allow as { exact: unknown }).exact = 'x')), /allow\.exact must be a list of strings/],
      [variant((p) => ((p.allow as { split: unknown }).split = [['a']])), /allow\.split must be/],
      [variant((p) => ((p.deny as { globs: unknown }).globs = [{ glob: 'a.*', regex: '(?<n>a)' }])), /does not compile in Python/],
      [variant((p) => delete p.dangerous), /dangerous must be an object/],
    ];
    const broken = readAll(cases.map(([text]) => text));
    cases.forEach(([text, why], i) => assert.match(broken[i] ?? 'usable', why, text.slice(0, 80)));
  });
});
