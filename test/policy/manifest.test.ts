/**
 * Presets checked against real files: test/fixtures/models/manifest.json lists every
 * (module, name) the real loaders' find_class saw for fixtures made by torch, numpy,
 * sklearn, joblib, pandas and scipy. Benign files must need nothing beyond the presets
 * except the user's own classes (module `mylab`, or `__torch__.mylab` in TorchScript).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMPORT_MAPPING, NAME_MAPPING } from '../../src/pickle/compat-mapping.js';
import { loadPolicyFile, presetPolicy } from '../../src/policy/index.js';
import { scanFile } from '../../src/scan/index.js';
import type { Policy } from '../../src/policy/types.js';
import { imp, tree } from './helpers.js';

const FIXTURES = new URL('../fixtures/models/', import.meta.url).pathname;

interface ManifestFile {
  kind: string;
  streams?: Array<{ member: string; find_class: Array<[string, string]> }>;
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { files: Record<string, ManifestFile> };

/** The name the scanner reports: CPython's Python-2 mapping (these fixtures use it only for `__builtin__`). */
function mapped(module: string, name: string): [string, string] {
  const byName = NAME_MAPPING.get(`${module}\n${name}`);
  if (byName) return [byName[0], byName[1]];
  return [IMPORT_MAPPING.get(module) ?? module, name];
}

/** Which preset a fixture is meant to pass under. */
function presetFor(file: string): string {
  if (/(dataframe|series)/.test(file)) return 'pandas';
  if (/^joblib\/(bundle|forest|pipeline|sgd_random_state|tfidf)/.test(file)) return 'sklearn';
  if (/scipy/.test(file)) return 'scipy';
  return 'default';
}

const isUserClass = (module: string): boolean => /^(__torch__\.)?mylab(\.|$)/.test(module);
/** `builtins.getattr` is judged by the verdict layer in its constrained form (Enum members). */
const isConstrainedGetattr = (m: string, n: string): boolean => m === 'builtins' && n === 'getattr';

const benign = Object.entries(manifest.files).filter(([, f]) => f.kind === 'benign');

function namesOf(f: ManifestFile): Array<[string, string]> {
  return (f.streams ?? []).flatMap((s) => s.find_class.map(([m, n]) => mapped(m, n)));
}

describe('presets accept every benign name real loaders imported', () => {
  it('the manifest has benign files of every family', () => {
    const families = new Set(benign.map(([f]) => presetFor(f)));
    assert.deepEqual([...families].sort(), ['default', 'pandas', 'scipy', 'sklearn']);
    assert.ok(benign.length >= 40);
  });
  let compared = 0;
  for (const [file, f] of benign) {
    it(`${presetFor(file)} accepts ${file}`, () => {
      const list = presetPolicy(presetFor(file)).forFile(undefined);
      for (const [m, n] of namesOf(f)) {
        if (isUserClass(m) || isConstrainedGetattr(m, n)) continue;
        const d = list.check(imp(m, n));
        assert.ok(d.allowed, `${m}.${n} in ${file}: ${!d.allowed ? d.reason : ''}`);
        compared++;
      }
    });
  }
  it('compared a real number of names', () => {
    assert.ok(compared > 150, `compared ${compared}`);
  });
});

describe("a whole-model pickle of the user's nn.Module subclass", () => {
  const whole = manifest.files['torch/whole_model.pt']!;
  it('needs exactly mylab.models.TinyNet beyond default, and nothing dangerous', () => {
    const list = presetPolicy('default').forFile(undefined);
    const refused = namesOf(whole).filter(([m, n]) => !list.check(imp(m, n)).allowed);
    assert.deepEqual(refused, [['mylab.models', 'TinyNet']]);
    const d = list.check(imp('mylab.models', 'TinyNet'));
    assert.ok(!d.allowed && d.code === 'global-not-allowed' && d.suggestion === '- mylab.models.TinyNet');
  });
  it('is accepted by a project file with that one entry (names and a real scan)', () => {
    const root = tree({ 'pickle-guard.yaml': 'version: 1\nextends: [default]\nallow:\n  - mylab.models.TinyNet\n' });
    const policy = loadPolicyFile(join(root, 'pickle-guard.yaml'));
    const list = policy.forFile(undefined);
    for (const [m, n] of namesOf(whole)) assert.ok(list.check(imp(m, n)).allowed, `${m}.${n}`);
    const report = scanFile(join(FIXTURES, 'torch/whole_model.pt'), { policy });
    assert.equal(report.verdict, 'allowed', JSON.stringify(report.findings));
    assert.ok(report.globals.some((g) => g.module === 'mylab.models' && g.name === 'TinyNet' && g.allowed));
  });
  it('TorchScript archives need only the user class (as its __torch__ type)', () => {
    const list = presetPolicy('default').forFile(undefined);
    for (const file of ['torch/torchscript_script.pt', 'torch/torchscript_trace.pt']) {
      const refused = namesOf(manifest.files[file]!).filter(([m, n]) => !list.check(imp(m, n)).allowed);
      assert.ok(refused.length > 0);
      for (const [m] of refused) assert.match(m, /^__torch__\.mylab\.models/, file);
    }
  });
  it('an Enum member pickle needs the class and its member (constrained getattr)', () => {
    const root = tree({ 'pickle-guard.yaml': 'version: 1\nextends: [default]\nallow:\n  - mylab.models.Color\n  - members: mylab.models.Color\n' });
    const policy = loadPolicyFile(join(root, 'pickle-guard.yaml'));
    for (const file of ['pickle/enum_member_p2.pkl', 'pickle/enum_member_p4.pkl']) {
      const blocked = scanFile(join(FIXTURES, file), { policy: presetPolicy('default') });
      assert.deepEqual(blocked.findings.filter((x) => x.code === 'global-not-allowed').map((x) => `${x.module}.${x.name}`), ['mylab.models.Color', 'mylab.models.Color.RED']);
      assert.equal(scanFile(join(FIXTURES, file), { policy }).verdict, 'allowed', file);
    }
  });
});

/** Policy findings only: the container and machine layers have their own tests. */
function policyFindings(path: string, policy: Policy): string[] {
  return scanFile(path, { policy })
    .findings.filter((x) => x.code === 'global-not-allowed' || x.code === 'global-denied' || x.code === 'attribute-traversal')
    .filter((x) => !isUserClass(x.module ?? ''))
    .map((x) => `${x.module}.${x.name}: ${x.code}`);
}

describe('scanning the real files: no policy finding beyond the user classes', () => {
  for (const [file] of benign) {
    it(`${presetFor(file)}: ${file}`, () => {
      assert.deepEqual(policyFindings(join(FIXTURES, file), presetPolicy(presetFor(file))), []);
    });
  }
});
