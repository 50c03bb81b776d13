import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import Ajv from 'ajv';
import { PRESET_DIR, presetNames, presetPolicy } from '../../src/policy/index.js';
import { dangerReason, DANGEROUS_ENTRIES } from '../../src/policy/dangerous.js';
import { CORPUS_GADGETS, DANGEROUS_CALLABLES } from './dangerous.js';
import { imp, parts } from './helpers.js';

const schema = JSON.parse(readFileSync(new URL('../../schema/policy.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv.default({ allErrors: true }).compile(schema);
const EXPECTED = ['default', 'numpy', 'pandas', 'python-data', 'pytorch', 'scipy', 'sklearn'];

describe('presets', () => {
  it('are exactly the documented set', () => {
    assert.deepEqual(presetNames(), EXPECTED);
  });
  for (const name of EXPECTED) {
    it(`${name}: loads, validates against the JSON Schema, and every entry has a reason`, () => {
      const text = readFileSync(join(PRESET_DIR, `${name}.yaml`), 'utf8');
      assert.ok(validate(parse(text)), JSON.stringify(validate.errors));
      const policy = presetPolicy(name);
      const own = policy.data.allow.filter((e) => e.from === `preset:${name}`);
      for (const e of own) assert.ok(e.why && e.why.length > 3, `${e.text} in ${name} has no reason`);
      assert.equal(policy.data.deny.length, 0);
    });
    it(`${name}: allows none of the curated dangerous callables`, () => {
      const list = presetPolicy(name).forFile(undefined);
      for (const full of [...DANGEROUS_CALLABLES, ...CORPUS_GADGETS]) {
        const [m, n] = parts(full);
        assert.equal(list.check(imp(m, n)).allowed, false, `${name} allows ${full}`);
      }
      // and no entry of the preset is itself flagged by the runtime list
      for (const e of presetPolicy(name).data.allow) {
        if (e.kind !== 'exact') continue;
        const [m, n] = parts(e.text);
        assert.equal(dangerReason(m, n), undefined, `${name} lists dangerous ${e.text}`);
      }
    });
  }
  it('sklearn names estimators exactly: no sklearn globs', () => {
    const globs = presetPolicy('sklearn').data.allow.filter((e) => e.kind === 'glob');
    assert.deepEqual(globs.map((g) => g.text).filter((t) => t.startsWith('sklearn')), []);
    assert.equal(presetPolicy('sklearn').forFile(undefined).check(imp('sklearn.datasets', 'fetch_openml')).allowed, false);
  });
  it('default = python-data + pytorch + numpy; sklearn extends scipy', () => {
    assert.deepEqual(presetPolicy('default').data.chain, ['preset:python-data', 'preset:pytorch', 'preset:numpy', 'preset:default']);
    assert.ok(presetPolicy('sklearn').data.chain.includes('preset:scipy'));
  });
});

describe('the curated dangerous list and the runtime list agree', () => {
  it('the runtime list flags every curated name and corpus gadget (so suggest refuses them)', () => {
    for (const full of [...DANGEROUS_CALLABLES, ...CORPUS_GADGETS]) {
      const [m, n] = parts(full);
      assert.notEqual(dangerReason(m, n), undefined, full);
    }
  });
  it('traversal spellings reaching a dangerous name are flagged too', () => {
    assert.notEqual(dangerReason('numpy', 'os.system'), undefined);
    assert.notEqual(dangerReason('mylab', 'subprocess.Popen'), undefined);
    assert.equal(dangerReason('numpy.random._pickle', '__randomstate_ctor'), undefined);
    assert.equal(dangerReason('torch.jit._pickle', 'build_intlist'), undefined);
    assert.equal(dangerReason('torch.serialization', '_get_layout'), undefined);
    assert.equal(dangerReason('uuid', 'UUID'), undefined);
    assert.notEqual(dangerReason('pandas', 'read_feather'), undefined);
    assert.notEqual(dangerReason('torch.serialization', 'load'), undefined);
  });
  it('the runtime list is documented', () => {
    const doc = readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');
    assert.ok(DANGEROUS_ENTRIES.length > 100);
    assert.match(doc, /known-dangerous/);
  });
});

describe('the JSON Schema', () => {
  it('accepts a full example and rejects mistakes the loader also rejects', () => {
    const good = parse('version: 1\nextends: [default]\nallow:\n  - mylab.models.TinyNet\n  - "mylab.types.*"\n  - { members: mylab.types.Color, why: enum }\ndeny:\n  - "torch.hub.**"\nartifacts:\n  include: ["**/*.pt"]\n  exclude: ["**/node_modules/**"]\nrules:\n  - files: "models/sklearn/**"\n    extends: [sklearn]\nmode: report\npython:\n  launchers: [uv]\n');
    assert.ok(validate(good), JSON.stringify(validate.errors));
    for (const bad of ['allows: []', 'version: 2', 'version: 1\nmode: off', 'version: 1\nallow: [TinyNet]', 'version: 1\nrules: [{files: a}]']) {
      assert.equal(validate(parse(bad)), false, bad);
    }
  });
});

describe('sklearn preset vs real estimator pickles', () => {
  it('accepts every global recorded when unpickling 180 fitted estimators (gen_sklearn_globals.py)', () => {
    const text = readFileSync(new URL('./fixtures/sklearn-estimator-globals.txt', import.meta.url), 'utf8');
    const names = text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.ok(names.length > 200);
    const list = presetPolicy('sklearn').forFile(undefined);
    const refused = names.filter((full) => !list.check(imp(...parts(full))).allowed);
    assert.deepEqual(refused, []);
  });
});

describe('pytorch preset vs real whole-model pickles of every stock layer', () => {
  it('accepts every global torch.save wrote for 137 torch.nn layer classes (gen_torch_globals.py)', () => {
    const text = readFileSync(new URL('./fixtures/torch-layer-globals.txt', import.meta.url), 'utf8');
    // torch.save writes protocol 2: the scanner reports Python-2 names mapped, as find_class does.
    const names = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/^__builtin__\./, 'builtins.'));
    assert.ok(names.length > 100);
    for (const preset of ['pytorch', 'default']) {
      const list = presetPolicy(preset).forFile(undefined);
      const refused = names.filter((full) => !list.check(imp(...parts(full))).allowed);
      assert.deepEqual(refused, [], preset);
    }
  });
});
