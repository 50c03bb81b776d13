/**
 * `__main__` (and `__mp_main__`, `__parents_main__`) hold whatever the loading script
 * imported: `from os import system` there makes `__main__.system` os.system. No glob may
 * allow their names; a policy that tries is refused at load time, and the matcher (Node and
 * the shipped Python one) never lets a glob allow them even if one slips in.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PolicyError } from '../../src/errors.js';
import { CompiledAllowList } from '../../src/policy/allow-list.js';
import { globRegex } from '../../src/policy/entries.js';
import { compilePolicyForPython, loadPolicyFile, policyFromList } from '../../src/policy/index.js';
import { PYTHON_BOOT_DIR } from '../../src/guard/python/index.js';
import { scanFile } from '../../src/scan/index.js';
import { imp, tree } from './helpers.js';

const ALIAS_PICKLE = fileURLToPath(new URL('../fixtures/bypasses/main_alias.pkl', import.meta.url));

function load(allow: string[], deny: string[] = []) {
  const lines = ['version: 1', 'allow:', ...allow.map((e) => `  - "${e}"`), ...(deny.length ? ['deny:', ...deny.map((e) => `  - "${e}"`)] : [])];
  const root = tree({ 'pickle-guard.yaml': `${lines.join('\n')}\n` });
  return loadPolicyFile(join(root, 'pickle-guard.yaml'));
}

describe('globs over the script namespace', () => {
  for (const glob of ['__main__.*', '__main__.**', '__mp_main__.*', '__parents_main__.Tiny*', '__main__.{Net,system}']) {
    it(`"${glob}" in allow is a PolicyError at its line, with a hint to list exact names`, () => {
      assert.throws(
        () => load(['collections.OrderedDict', glob]),
        (err: unknown) =>
          err instanceof PolicyError && err.line === 4 && err.column === 5 && /whatever the loading script imported/.test(err.message) && /exactly/.test(err.hint ?? ''),
      );
    });
  }
  it('is refused inside path-scoped rules too', () => {
    const root = tree({ 'pickle-guard.yaml': 'version: 1\nrules:\n  - files: "lab/**"\n    allow: ["__main__.*"]\n' });
    assert.throws(() => loadPolicyFile(join(root, 'pickle-guard.yaml')), PolicyError);
  });
  it('a deny glob over __main__ is fine (it only narrows)', () => {
    const list = load(['__main__.TinyNet'], ['__main__.sys*']).forFile(undefined);
    assert.equal(list.check(imp('__main__', 'system')).allowed, false);
    assert.ok(!list.check(imp('__main__', 'system')).allowed && (list.check(imp('__main__', 'system')) as { code: string }).code === 'global-denied');
    assert.deepEqual(list.check(imp('__main__', 'TinyNet')), { allowed: true, entry: '__main__.TinyNet' });
  });
  it('globs over modules that merely contain __main__ later are unaffected (and never reach it: dunder segments)', () => {
    const list = load(['mylab.**']).forFile(undefined);
    assert.equal(list.check(imp('mylab.cli', 'Net')).allowed, true);
    assert.equal(list.check(imp('mylab.__main__', 'system')).allowed, false);
  });
});

describe('exact entries are the one way to allow a __main__ name', () => {
  it('an exact entry allows that one class; the alias next to it is not allowed and gets no glob', () => {
    const list = load(['__main__.TinyNet']).forFile(undefined);
    assert.deepEqual(list.check(imp('__main__', 'TinyNet')), { allowed: true, entry: '__main__.TinyNet' });
    const d = list.check(imp('__main__', 'system'));
    assert.ok(!d.allowed && d.code === 'global-not-allowed', JSON.stringify(d));
  });
  it('the corpus file (GLOBAL __main__ system, called) is blocked under the exact-entry policy a user should write', () => {
    const report = scanFile(ALIAS_PICKLE, { policy: load(['__main__.TinyNet']) });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => f.code === 'global-not-allowed' && f.module === '__main__' && f.name === 'system'), JSON.stringify(report.findings));
  });
});

describe('a glob that slips past the parser still never allows a __main__ name', () => {
  const glob = (text: string) => ({ kind: 'glob' as const, text, from: 'hand-built' });
  const list = new CompiledAllowList([glob('__main__.*'), glob('__mp_main__.**'), glob('mylab.*')], [], 'hand-built');
  it('Node matcher', () => {
    assert.equal(list.check(imp('__main__', 'system')).allowed, false);
    assert.equal(list.check(imp('__mp_main__', 'Net')).allowed, false);
    assert.equal(list.check(imp('mylab', 'Net')).allowed, true, 'the control glob still works');
  });
  it('shipped Python matcher, with and without mainNamespaces in the JSON (older exports)', () => {
    const compiled = compilePolicyForPython(policyFromList(['mylab.Known']));
    const injected = { ...compiled, allow: { ...compiled.allow, globs: ['__main__.*', '__mp_main__.**', 'mylab.*'].map((g) => ({ glob: g, regex: globRegex(g).source })) } };
    const { mainNamespaces: _dropped, ...older } = injected;
    const code = `
import json, sys
from pickle_guard_child import policy
out = []
for doc in json.load(sys.stdin):
    p = policy.from_data(doc, "<test>")
    out.append([p.check(m, n).allowed for m, n in [("__main__", "system"), ("__mp_main__", "Net"), ("mylab", "Net")]])
print(json.dumps(out))
`;
    const env = { ...process.env, PYTHONPATH: PYTHON_BOOT_DIR, PICKLE_GUARD_PYTHON: '0' };
    const out = JSON.parse(execFileSync('python3', ['-c', code], { input: JSON.stringify([injected, older]), env }).toString()) as boolean[][];
    assert.deepEqual(out, [
      [false, false, true],
      [false, false, true],
    ]);
  });
});

describe('the JSON schema agrees', () => {
  it('rejects an allow glob over __main__, accepts exact entries and deny globs', async () => {
    const { readFileSync } = await import('node:fs');
    const { default: Ajv } = await import('ajv');
    const schema = JSON.parse(readFileSync(new URL('../../schema/policy.schema.json', import.meta.url), 'utf8')) as object;
    const validate = new Ajv.default({ allErrors: true }).compile(schema);
    assert.equal(validate({ version: 1, allow: ['__main__.*'] }), false);
    assert.equal(validate({ version: 1, allow: [{ name: '__mp_main__.**', why: 'x' }] }), false);
    assert.equal(validate({ version: 1, allow: ['__main__.TinyNet', 'mylab.**'], deny: ['__main__.*'] }), true);
  });
});
