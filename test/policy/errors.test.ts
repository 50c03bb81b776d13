import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PolicyError } from '../../src/errors.js';
import { loadPolicyFile, resolvePolicy } from '../../src/policy/index.js';
import { tree } from './helpers.js';

/** Loads `text` as pickle-guard.yaml and returns the PolicyError it must raise. */
function errorOf(text: string, extra: Record<string, string> = {}): PolicyError & { path: string } {
  const root = tree({ 'pickle-guard.yaml': text, ...extra });
  const path = join(root, 'pickle-guard.yaml');
  try {
    loadPolicyFile(path);
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected PolicyError, got ${String(err)}`);
    return Object.assign(err as PolicyError, { path });
  }
  assert.fail('policy loaded but should not have');
}

function expectAt(err: PolicyError & { path: string }, line: number, column: number, message: RegExp, hint?: RegExp): void {
  assert.equal(err.file, err.path);
  assert.deepEqual([err.line, err.column], [line, column], err.message);
  assert.match(err.message, message);
  if (hint) assert.match(err.hint ?? '', hint);
  assert.equal(err.code, 'ERR_PICKLE_GUARD_POLICY');
}

describe('PolicyError names file, line, column and the fix', () => {
  it('invalid YAML', () => {
    expectAt(errorOf('version: 1\nallow: [a.b\ndeny: []\n'), 3, 1, /invalid YAML/);
  });
  it('duplicate keys are invalid YAML', () => {
    expectAt(errorOf('version: 1\nmode: enforce\nmode: report\n'), 3, 1, /invalid YAML/);
  });
  it('unknown top-level key, with did you mean', () => {
    expectAt(errorOf('version: 1\nallows:\n  - a.b\n'), 2, 1, /unknown key "allows"/, /did you mean "allow"/);
  });
  it('unknown key in artifacts, rules and python', () => {
    expectAt(errorOf('version: 1\nartifacts:\n  includes: ["**/*.pt"]\n'), 3, 3, /unknown key "includes" in artifacts/, /include/);
    expectAt(errorOf('version: 1\nrules:\n  - file: "a/**"\n    allow: [a.b]\n'), 3, 5, /unknown key "file" in rule/, /files/);
    expectAt(errorOf('version: 1\npython:\n  launcher: [uv]\n'), 3, 3, /unknown key "launcher"/, /launchers/);
    expectAt(errorOf('version: 1\nallow:\n  - { nam: a.b }\n'), 3, 7, /unknown key "nam"/, /name/);
  });
  it('missing or wrong version', () => {
    expectAt(errorOf('allow: [a.b]\n'), 1, 1, /missing "version"/, /version: 1/);
    expectAt(errorOf('version: 2\n'), 1, 10, /unsupported version 2/, /version: 1/);
  });
  it('wrong types', () => {
    expectAt(errorOf('version: 1\nallow: mylab.A\n'), 2, 8, /allow must be a list/, /- mylab/);
    expectAt(errorOf('version: 1\nallow:\n  - 42\n'), 3, 5, /must be a string/);
    expectAt(errorOf('version: 1\nmode: strict\n'), 2, 7, /mode "strict"/, /enforce/);
    expectAt(errorOf('version: 1\nextends: 3\n'), 2, 10, /must be a string/);
    expectAt(errorOf('version: 1\nrules: {files: a}\n'), 2, 8, /rules must be a list/);
    expectAt(errorOf('version: 1\npython:\n  launchers: ["py thon"]\n'), 3, 15, /not a plain executable name/);
  });
  it('bad entries and globs', () => {
    expectAt(errorOf('version: 1\nallow:\n  - "*.system"\n'), 3, 5, /starts with a wildcard/, /literal module/);
    expectAt(errorOf('version: 1\nallow:\n  - "mylab.!(x)"\n'), 3, 5, /not part of the supported glob syntax/);
    expectAt(errorOf('version: 1\nallow:\n  - "mylab.*.!(x)"\n'), 3, 5, /outside the supported glob syntax/);
    expectAt(errorOf('version: 1\nallow:\n  - "mylab.a**"\n'), 3, 5, /\*\* must be a whole segment/);
    expectAt(errorOf('version: 1\nallow:\n  - "mylab.[ab"\n'), 3, 5, /unbalanced/);
    expectAt(errorOf('version: 1\nallow:\n  - "mylab.*.__init__"\n'), 3, 5, /dunder/);
    expectAt(errorOf('version: 1\nallow:\n  - "mylab..A"\n'), 3, 5, /empty dotted segment/);
    expectAt(errorOf('version: 1\nallow:\n  - TinyNet\n'), 3, 5, /has no module/, /builtins\.TinyNet|module\.qualname/);
    expectAt(errorOf('version: 1\nallow:\n  - "a:b:c"\n'), 3, 5, /module:qualname/);
    expectAt(errorOf('version: 1\nallow:\n  - members: "mylab.*"\n'), 3, 14, /exact module\.Class/);
    expectAt(errorOf('version: 1\ndeny:\n  - members: mylab.A\n'), 3, 5, /unknown key "members"/);
    expectAt(errorOf('version: 1\nallow:\n  - { name: a.b, members: a.c }\n'), 3, 5, /exactly one/);
  });
  it('rule without files, or adding nothing', () => {
    expectAt(errorOf('version: 1\nrules:\n  - allow: [a.b]\n'), 3, 5, /needs "files"/);
    expectAt(errorOf('version: 1\nrules:\n  - files: "x/**"\n'), 3, 5, /adds nothing/);
  });
  it('unknown preset, with did you mean', () => {
    expectAt(errorOf('version: 1\nextends: [defualt]\n'), 2, 11, /unknown preset "defualt"/, /did you mean "default"/);
    expectAt(errorOf('version: 1\nrules:\n  - files: "a/**"\n    extends: [sklaern]\n'), 4, 15, /unknown preset "sklaern"/, /sklearn/);
  });
  it('missing extended file', () => {
    expectAt(errorOf('version: 1\nextends:\n  - ./nope.yaml\n'), 3, 5, /no such file/);
  });
  it('extends cycles (direct and through another file)', () => {
    expectAt(errorOf('version: 1\nextends: [./pickle-guard.yaml]\n'), 2, 11, /extends cycle/, /remove/);
    const err = errorOf('version: 1\nextends: [./a.yaml]\n', { 'a.yaml': 'version: 1\nextends:\n  - ./pickle-guard.yaml\n' });
    assert.match(err.message, /extends cycle: .*pickle-guard\.yaml -> .*a\.yaml -> .*pickle-guard\.yaml/);
    assert.equal(err.file.endsWith('a.yaml'), true);
    assert.deepEqual([err.line, err.column], [3, 5]);
  });
  it('errors in an extended file name that file', () => {
    const root = tree({ 'pickle-guard.yaml': 'version: 1\nextends: [./team.yaml]\n', 'team.yaml': 'version: 1\nallow:\n  - "bad glob*"\n' });
    try {
      loadPolicyFile(join(root, 'pickle-guard.yaml'));
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof PolicyError);
      assert.equal(err.file, join(root, 'team.yaml'));
      assert.deepEqual([err.line, err.column], [3, 5]);
    }
  });
  it('an empty file and a non-mapping file', () => {
    expectAt(errorOf('version: 1\n---\nother: 1\n'), 2, 1, /invalid YAML|multiple/i);
    const empty = errorOf('');
    assert.match(empty.message, /empty/);
    expectAt(errorOf('- a.b\n'), 1, 1, /must be a mapping/);
  });
  it('never falls back: discovery with a broken file throws instead of using the default preset', () => {
    const root = tree({ 'package.json': '{}', 'pickle-guard.yaml': 'version: 1\nallow: [\n' });
    assert.throws(() => resolvePolicy({ cwd: root, env: {} }), PolicyError);
  });
});
