/** The functions behind `pickle-guard policy check` and `policy suggest`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyError } from '../../src/errors.js';
import { checkPolicy, loadPolicyFile, presetPolicy } from '../../src/policy/index.js';
import { suggestAllowEntries } from '../../src/scan/index.js';
import { scanBytes, scanFile } from '../../src/scan/index.js';
import { imp, tree } from './helpers.js';

const FIXTURES = new URL('../fixtures/models/', import.meta.url).pathname;
const enc = (s: string): number[] => [...Buffer.from(s, 'utf8')];
/** Protocol-4 pickle calling each (module, name) via STACK_GLOBAL. */
function pickleOf(names: Array<[string, string]>): Uint8Array {
  const out: number[] = [0x80, 4, 0x28];
  const s = (t: string) => [0x8c, enc(t).length, ...enc(t)];
  for (const [m, n] of names) out.push(...s(m), ...s(n), 0x93, 0x29, 0x52);
  out.push(0x6c, 0x2e); // LIST, STOP
  return Uint8Array.from(out);
}

describe('checkPolicy', () => {
  it('prints the effective policy with extends resolved, loadable as a policy that decides the same', () => {
    const root = tree({
      'team.yaml': 'version: 1\nallow:\n  - mylab.shared.Base  # shared base class\n',
      'pickle-guard.yaml': 'version: 1\nextends: [numpy, ./team.yaml]\nallow:\n  - mylab.models.TinyNet\n  - members: mylab.models.Color\ndeny: ["mylab.bad.**"]\nrules:\n  - files: "lab/**"\n    allow: [mylab.lab.X]\nmode: report\n',
    });
    const { policy, effective } = checkPolicy(join(root, 'pickle-guard.yaml'));
    assert.equal(policy.source, join(root, 'pickle-guard.yaml'));
    assert.match(effective, /source: .*pickle-guard\.yaml/);
    assert.match(effective, /numpy\.core\.multiarray\._reconstruct/);
    assert.match(effective, /why: shared base class/);
    assert.doesNotMatch(effective, /extends:/);
    const copy = join(tree({}), 'effective.yaml');
    writeFileSync(copy, effective);
    const again = loadPolicyFile(copy);
    assert.equal(again.mode, 'report');
    const cases: Array<[string, string, 'import' | 'getattr', string | undefined]> = [
      ['numpy', 'ndarray', 'import', undefined],
      ['mylab.shared', 'Base', 'import', undefined],
      ['mylab.models', 'TinyNet', 'import', undefined],
      ['mylab.models', 'Color.RED', 'getattr', undefined],
      ['mylab.bad.x', 'Y', 'import', undefined],
      ['mylab.lab', 'X', 'import', undefined],
      ['mylab.lab', 'X', 'import', join(root, 'lab/m.pt')],
      ['os', 'system', 'import', undefined],
    ];
    for (const [m, n, o, path] of cases) {
      assert.deepEqual(again.forFile(path).check(imp(m, n, o)).allowed, policy.forFile(path).check(imp(m, n, o)).allowed, `${m}.${n} ${path ?? ''}`);
    }
  });
  it('accepts preset:NAME and throws PolicyError for a broken file', () => {
    assert.equal(checkPolicy('preset:pandas').policy.source, 'preset:pandas');
    const root = tree({ 'bad.yaml': 'version: 1\nallow: nope\n' });
    assert.throws(() => checkPolicy(join(root, 'bad.yaml')), PolicyError);
  });
});

describe('suggestAllowEntries', () => {
  it('suggests what a trusted model needs beyond the policy, and refuses dangerous names', () => {
    const report = scanBytes(
      pickleOf([
        ['mylab.models', 'TinyNet'],
        ['torch', 'Size'],
        ['mylab.models', 'Outer.Inner'],
        ['os', 'system'],
        ['numpy', 'os.system'],
        ['builtins', 'eval'],
        ['mylab.models', 'TinyNet'],
        ['mylab', 'x.__globals__'],
      ]),
      { policy: presetPolicy('default') },
    );
    const s = suggestAllowEntries([report], presetPolicy('default'));
    assert.deepEqual(s.entries, ['mylab.models.TinyNet', 'mylab.models:Outer.Inner']);
    assert.deepEqual(s.refused.map((r) => r.name), ['os.system', 'numpy.os.system', 'builtins.eval', 'mylab.x.__globals__']);
    for (const r of s.refused.slice(0, 3)) assert.match(r.why, /known dangerous/);
    assert.match(s.refused[3]!.why, /dunder/);
  });
  it('re-judges reports with the policy given (not the one that made them), denied names refused', () => {
    const report = scanBytes(pickleOf([['mylab.a', 'A'], ['mylab.b', 'B']]), { policy: presetPolicy('default') });
    const root = tree({ 'p.yaml': 'version: 1\nallow: [mylab.a.A]\ndeny: [mylab.b.B]\n' });
    const s = suggestAllowEntries([report], loadPolicyFile(join(root, 'p.yaml')));
    assert.deepEqual(s.entries, []);
    assert.deepEqual(s.refused.map((r) => r.name), ['mylab.b.B']);
    assert.match(s.refused[0]!.why, /denied by "mylab\.b\.B"/);
  });
  it('on real files: the whole-model pickle needs exactly its own class, the Enum pickle its member', () => {
    const reports = ['torch/whole_model.pt', 'pickle/enum_member_p4.pkl'].map((f) => scanFile(join(FIXTURES, f), { policy: presetPolicy('default') }));
    const s = suggestAllowEntries(reports, presetPolicy('default'));
    assert.deepEqual(s.entries, ['mylab.models.TinyNet', 'mylab.models.Color', 'mylab.models.Color.RED']);
    assert.deepEqual(s.refused, []);
  });
});
