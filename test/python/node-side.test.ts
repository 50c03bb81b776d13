/** The Node-side pieces that need no Python: report parsing, flag checks, environment shape. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { delimiter } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChildReport, preparePythonChild, pythonFlagsDefeatingGuard, PYTHON_BOOT_DIR } from '../../src/guard/python/index.js';
import { loadPolicyFile, policyFromList } from '../../src/policy/index.js';
import { BASIC_POLICY, policyFromYaml, tempDir } from './helpers.js';

describe('parseChildReport', () => {
  it('reads violation lines and turns anything else into report-unreadable (never silence)', () => {
    const good = JSON.stringify({ kind: 'violation', code: 'global-denied', module: 'os', name: 'system', reason: 'r', message: 'm', mode: 'enforce', pid: 7, file: '/x.pkl' });
    const parsed = parseChildReport(`${good}\n\nnot json\n{"kind":"violation","code":"made-up","module":"a","name":"b","reason":"r","mode":"enforce"}\n{"kind":"violation","code":"global-denied","module":"a","reason":"r","mode":"enforce"}\n`, 'enforce');
    assert.deepEqual(parsed[0], { code: 'global-denied', module: 'os', name: 'system', file: '/x.pkl', reason: 'r', message: 'm', mode: 'enforce', pid: 7 });
    assert.deepEqual(parsed.slice(1).map((v) => [v.code, v.reason.split(')')[0]]), [
      ['report-unreadable', 'unreadable report line (not JSON'],
      ['report-unreadable', 'unreadable report line (unknown code'],
      ['report-unreadable', 'unreadable report line (missing fields'],
    ]);
  });
});

describe('pythonFlagsDefeatingGuard', () => {
  it('finds -E, -I and -S, alone or combined, and stops at the script, -c or -m', () => {
    assert.deepEqual(pythonFlagsDefeatingGuard(['script.py', '-I']), []);
    assert.deepEqual(pythonFlagsDefeatingGuard(['-I', 'script.py']), ['-I']);
    assert.deepEqual(pythonFlagsDefeatingGuard(['-BsE', '-c', 'print(1)', '-S']), ['-E']);
    assert.deepEqual(pythonFlagsDefeatingGuard(['-W', 'ignore', '-S', '-m', 'x']), ['-S']);
    assert.deepEqual(pythonFlagsDefeatingGuard(['-Wignore', '-Ic', 'x']), ['-I']);
    assert.deepEqual(pythonFlagsDefeatingGuard(['-X', 'dev', '-u', 'a.py']), []);
    assert.deepEqual(pythonFlagsDefeatingGuard(['--version']), []);
  });
});

describe('preparePythonChild', () => {
  it('puts the bootstrap first on PYTHONPATH and the policy and report in a private folder', () => {
    const child = preparePythonChild({ env: { PYTHONPATH: `/a${delimiter}/b`, KEEP: '1' }, policy: policyFromYaml(BASIC_POLICY) });
    assert.equal(child.env.PYTHONPATH, `${PYTHON_BOOT_DIR}${delimiter}/a${delimiter}/b`);
    assert.equal(child.env.KEEP, '1');
    assert.ok(existsSync(`${PYTHON_BOOT_DIR}/sitecustomize.py`));
    const compiled = JSON.parse(readFileSync(child.env.PICKLE_GUARD_POLICY!, 'utf8')) as { format: string; allow: { exact: string[] } };
    assert.equal(compiled.format, 'pickle-guard/python-policy');
    assert.ok(compiled.allow.exact.includes('collections.OrderedDict'));
    assert.equal(readFileSync(child.env.PICKLE_GUARD_REPORT!, 'utf8'), '');
    assert.deepEqual(child.afterExit(), []);
    assert.equal(existsSync(child.env.PICKLE_GUARD_POLICY!), false);
  });

  it('compiles the policy for the launch path (path-scoped rules, relative to cwd)', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'lab'));
    writeFileSync(join(dir, 'pickle-guard.yaml'), 'version: 1\nrules:\n  - files: "lab/**"\n    allow: [mylab.A]\n');
    const policy = loadPolicyFile(join(dir, 'pickle-guard.yaml'));
    const exactOf = (child: { env: NodeJS.ProcessEnv; afterExit(): unknown }) => {
      const compiled = JSON.parse(readFileSync(child.env.PICKLE_GUARD_POLICY!, 'utf8')) as { allow: { exact: string[] } };
      child.afterExit();
      return compiled.allow.exact;
    };
    assert.deepEqual(exactOf(preparePythonChild({ env: {}, policy, cwd: dir, path: 'lab/model.pkl' })), ['mylab.A']);
    assert.deepEqual(exactOf(preparePythonChild({ env: {}, policy, cwd: dir, path: 'other/model.pkl' })), []);
    assert.deepEqual(exactOf(preparePythonChild({ env: {}, policy })), []);
  });

  it('refuses (throws) a policy it cannot compile for Python rather than launching unguarded', () => {
    assert.throws(() => preparePythonChild({ env: {}, policy: policyFromList(['collections.OrderedDict']) }), /compilePolicyForPython/);
  });
});
