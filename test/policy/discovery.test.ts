import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { symlinkSync } from 'node:fs';
import { PolicyError } from '../../src/errors.js';
import { resolvePolicy } from '../../src/policy/index.js';
import { imp, tree } from './helpers.js';

const allowA = 'version: 1\nallow: [mylab.A]\n';

describe('resolvePolicy discovery order', () => {
  it('explicit option beats PICKLE_GUARD_POLICY, which beats a discovered file', () => {
    const root = tree({ 'package.json': '{}', 'pickle-guard.yaml': allowA, 'x.yaml': 'version: 1\nallow: [mylab.X]\n', 'e.yaml': 'version: 1\n' });
    assert.equal(resolvePolicy({ cwd: root, env: {} }).source, join(root, 'pickle-guard.yaml'));
    assert.equal(resolvePolicy({ cwd: root, env: { PICKLE_GUARD_POLICY: 'e.yaml' } }).source, join(root, 'e.yaml'));
    assert.equal(resolvePolicy({ cwd: root, explicit: 'x.yaml', env: { PICKLE_GUARD_POLICY: 'e.yaml' } }).source, join(root, 'x.yaml'));
  });
  it('explicit may name a preset', () => {
    const root = tree({ 'package.json': '{}', 'pickle-guard.yaml': allowA });
    assert.equal(resolvePolicy({ cwd: root, explicit: 'preset:sklearn', env: {} }).source, 'preset:sklearn');
  });
  it('walks up from cwd to the nearest package.json folder, and finds the dot-file name', () => {
    const root = tree({ 'app/package.json': '{}', 'app/.pickle-guard.yaml': allowA, 'app/src/deep/keep': '' });
    const p = resolvePolicy({ cwd: join(root, 'app/src/deep'), env: {} });
    assert.equal(p.source, join(root, 'app/.pickle-guard.yaml'));
    assert.equal(p.forFile(undefined).check(imp('mylab', 'A')).allowed, true);
  });
  it('stops at the package.json folder: a policy above it is not used', () => {
    const root = tree({ 'pickle-guard.yaml': allowA, 'app/package.json': '{}', 'app/src/keep': '' });
    assert.equal(resolvePolicy({ cwd: join(root, 'app/src'), env: {} }).source, 'preset:default');
  });
  it('falls back to the default preset only when nothing is found', () => {
    const root = tree({ 'package.json': '{}' });
    const p = resolvePolicy({ cwd: root, env: {} });
    assert.equal(p.source, 'preset:default');
    assert.equal(p.forFile(undefined).check(imp('torch', 'Size')).allowed, true);
  });
  it('two policy files in one folder are an error, not a choice', () => {
    const root = tree({ 'package.json': '{}', 'pickle-guard.yaml': allowA, '.pickle-guard.yaml': allowA });
    assert.throws(() => resolvePolicy({ cwd: root, env: {} }), /two policy files/);
  });
  it('an explicit file that does not exist is an error', () => {
    const root = tree({ 'package.json': '{}' });
    assert.throws(() => resolvePolicy({ cwd: root, explicit: 'missing.yaml', env: {} }), PolicyError);
    assert.throws(() => resolvePolicy({ cwd: root, env: { PICKLE_GUARD_POLICY: 'missing.yaml' } }), PolicyError);
  });
  it('PICKLE_GUARD_MODE overrides the mode; a bad value is an error', () => {
    const root = tree({ 'package.json': '{}', 'pickle-guard.yaml': 'version: 1\nmode: enforce\n' });
    assert.equal(resolvePolicy({ cwd: root, env: {} }).mode, 'enforce');
    assert.equal(resolvePolicy({ cwd: root, env: { PICKLE_GUARD_MODE: 'report' } }).mode, 'report');
    assert.equal(resolvePolicy({ cwd: root, env: { PICKLE_GUARD_MODE: 'report' } }).data.mode, 'report');
    assert.throws(() => resolvePolicy({ cwd: root, env: { PICKLE_GUARD_MODE: 'off' } }), /PICKLE_GUARD_MODE/);
  });
  it('mode and python.launchers come through extends', () => {
    const root = tree({ 'package.json': '{}', 'base.yaml': 'version: 1\nmode: report\npython:\n  launchers: [uv]\n', 'pickle-guard.yaml': 'version: 1\nextends: [./base.yaml]\npython:\n  launchers: python3.12\n' });
    const p = resolvePolicy({ cwd: root, env: {} });
    assert.equal(p.mode, 'report');
    assert.deepEqual(p.pythonLaunchers, ['uv', 'python3.12']);
  });
});

describe('path-scoped rules', () => {
  const root = tree({
    'package.json': '{}',
    'pickle-guard.yaml': [
      'version: 1',
      'extends: [default]',
      'rules:',
      '  - files: "models/sklearn/**"',
      '    extends: [sklearn]',
      '  - files: ["models/lab/*.pt", "other/*.pt"]',
      '    allow: [mylab.models.TinyNet]',
      '    deny: [torch.Size]',
      '',
    ].join('\n'),
    'models/sklearn/m.joblib': '',
    'models/lab/a.pt': '',
  });
  const policy = resolvePolicy({ cwd: root, env: {} });
  const forest = imp('sklearn.ensemble._forest', 'RandomForestClassifier');
  it('apply to matching files only, relative to the policy folder', () => {
    assert.equal(policy.forFile(join(root, 'models/sklearn/m.joblib')).check(forest).allowed, true);
    assert.equal(policy.forFile(join(root, 'models/sklearn/sub/x.joblib')).check(forest).allowed, true);
    assert.equal(policy.forFile(join(root, 'models/m.joblib')).check(forest).allowed, false);
    assert.equal(policy.forFile(undefined).check(forest).allowed, false);
  });
  it('add allow and deny entries, deny still winning', () => {
    const lab = policy.forFile(join(root, 'models/lab/a.pt'));
    assert.equal(lab.check(imp('mylab.models', 'TinyNet')).allowed, true);
    assert.equal(lab.check(imp('torch', 'Size')).allowed, false);
    assert.equal(policy.forFile(join(root, 'models/a.pt')).check(imp('torch', 'Size')).allowed, true);
  });
  it('match through the real path of a symlink', () => {
    const link = join(root, 'link.joblib');
    symlinkSync(join(root, 'models/sklearn/m.joblib'), link);
    assert.equal(policy.forFile(link).check(forest).allowed, true);
  });
});

describe('artifacts', () => {
  it('default globs recognise model files by name, dot folders included', () => {
    const p = resolvePolicy({ cwd: tree({ 'package.json': '{}' }), env: {} });
    for (const f of ['/x/m.pt', '/home/u/.cache/torch/hub/m.pth', 'rel/model.joblib', '/a/b.pkl.gz', '/a/arr.npz']) assert.equal(p.isArtifactPath(f), true, f);
    for (const f of ['/x/m.txt', '/x/pt', '/x/m.pt.txt']) assert.equal(p.isArtifactPath(f), false, f);
  });
  it('include/exclude from the policy, with dot: true and the real path', () => {
    const root = tree({ 'package.json': '{}', 'pickle-guard.yaml': 'version: 1\nartifacts:\n  include: ["**/*.model"]\n  exclude: ["**/node_modules/**"]\n', 'real/w.model': '', 'node_modules/pkg/keep': '' });
    const p = resolvePolicy({ cwd: root, env: {} });
    assert.equal(p.isArtifactPath(join(root, '.hidden/a.model')), true);
    assert.equal(p.isArtifactPath(join(root, 'node_modules/pkg/a.model')), false);
    assert.equal(p.isArtifactPath(join(root, 'a.pt')), false);
    symlinkSync(join(root, 'real/w.model'), join(root, 'node_modules/pkg/w.model'));
    assert.equal(p.isArtifactPath(join(root, 'node_modules/pkg/w.model')), true, 'an excluded symlink to a model elsewhere is still a model');
  });
});
