/** The Node-side pieces that need no Python: report parsing, flag checks, environment shape. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { delimiter } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseChildReport,
  preparePythonChild,
  pythonFlagsDefeatingGuard,
  PythonChildViolationError,
  PYTHON_BOOT_DIR,
  type ChildViolation,
} from '../../src/guard/python/index.js';
import { PickleGuardError } from '../../src/errors.js';
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

describe('PythonChildViolationError', () => {
  const v = (module: string, name: string, message: string, code: ChildViolation['code'] = 'global-not-allowed'): ChildViolation => ({
    code, module, name, reason: message.split('. ')[0]!, message, mode: 'enforce', file: '/m.pkl',
  });
  it('is a PickleGuardError with the first refusal and the lines to add', () => {
    const e = new PythonChildViolationError('child_process.spawn', [
      v('mylab', 'A', "mylab.A is not allowed by policy p. If you trust this model, add to the policy's allow list: - mylab.A"),
      v('mylab', 'B', "mylab.B is not allowed by policy p. If you trust this model, add to the policy's allow list: - mylab.B"),
    ]);
    assert.ok(e instanceof PickleGuardError);
    assert.equal(e.code, 'ERR_PICKLE_GUARD_VIOLATION');
    assert.deepEqual([e.module, e.qualname, e.file, e.name], ['mylab', 'A', '/m.pkl', 'PythonChildViolationError']);
    assert.deepEqual(e.suggestions, ['- mylab.A', '- mylab.B']);
    assert.match(e.message, /started by child_process\.spawn refused 2 import\(s\)\n  mylab\.A in \/m\.pkl: \[global-not-allowed\]/);
  });
  it('suggests nothing when one refusal cannot be allowed (denied names)', () => {
    const e = new PythonChildViolationError('x', [
      v('mylab', 'A', "mylab.A is not allowed. If you trust this model, add to the policy's allow list: - mylab.A"),
      v('os', 'system', 'os.system is on the known-dangerous list', 'global-denied'),
    ]);
    assert.deepEqual(e.suggestions, []);
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
    const env = { PYTHONPATH: `/a${delimiter}/b`, KEEP: '1', PICKLE_GUARD_POLICY: '/user/pickle-guard.yaml' };
    const child = preparePythonChild({ env, policy: policyFromYaml(BASIC_POLICY) });
    assert.equal(child.env.PYTHONPATH, `${PYTHON_BOOT_DIR}${delimiter}/a${delimiter}/b`);
    assert.equal(child.env.KEEP, '1');
    // The user's policy variable (read by Node grandchildren and the CLI) is left alone.
    assert.equal(child.env.PICKLE_GUARD_POLICY, '/user/pickle-guard.yaml');
    assert.equal(env.PYTHONPATH, `/a${delimiter}/b`);
    assert.ok(existsSync(`${PYTHON_BOOT_DIR}/sitecustomize.py`));
    const compiled = JSON.parse(readFileSync(child.env.PICKLE_GUARD_PYTHON_POLICY!, 'utf8')) as { format: string; allow: { exact: string[] } };
    assert.equal(compiled.format, 'pickle-guard/python-policy');
    assert.ok(compiled.allow.exact.includes('collections.OrderedDict'));
    assert.equal(readFileSync(child.env.PICKLE_GUARD_PYTHON_REPORT!, 'utf8'), '');
    assert.deepEqual(child.afterExit(), []);
    assert.equal(existsSync(child.env.PICKLE_GUARD_PYTHON_POLICY!), false);
  });

  it('compiles the policy for the launch path (path-scoped rules, relative to cwd)', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'lab'));
    writeFileSync(join(dir, 'pickle-guard.yaml'), 'version: 1\nrules:\n  - files: "lab/**"\n    allow: [mylab.A]\n');
    const policy = loadPolicyFile(join(dir, 'pickle-guard.yaml'));
    const exactOf = (child: { env: NodeJS.ProcessEnv; afterExit(): unknown }) => {
      const compiled = JSON.parse(readFileSync(child.env.PICKLE_GUARD_PYTHON_POLICY!, 'utf8')) as { allow: { exact: string[] } };
      child.afterExit();
      return compiled.allow.exact;
    };
    assert.deepEqual(exactOf(preparePythonChild({ env: {}, policy, cwd: dir, path: 'lab/model.pkl' })), ['mylab.A']);
    assert.deepEqual(exactOf(preparePythonChild({ env: {}, policy, cwd: dir, path: 'other/model.pkl' })), []);
    assert.deepEqual(exactOf(preparePythonChild({ env: {}, policy })), []);
  });

  it('refuses (throws) a policy it cannot compile for Python rather than launching unguarded', () => {
    const opaque = { source: 'hand-made', mode: 'enforce' as const, forFile: () => policyFromList([]).forFile(undefined), isArtifactPath: () => false, pythonLaunchers: [] };
    assert.throws(() => preparePythonChild({ env: {}, policy: opaque }), /compilePolicyForPython/);
  });

  it('compiles an inline list for the child (exact entries, nothing more)', () => {
    const child = preparePythonChild({ env: {}, policy: policyFromList(['collections.OrderedDict', 'mylab:helpers.build']) });
    const compiled = JSON.parse(readFileSync(child.env.PICKLE_GUARD_PYTHON_POLICY!, 'utf8')) as { source: string; allow: { exact: string[]; split: string[][]; globs: unknown[] } };
    child.afterExit();
    assert.deepEqual([compiled.source, compiled.allow.exact, compiled.allow.split, compiled.allow.globs], ['inline allow-list', ['collections.OrderedDict'], [['mylab', 'helpers.build']], []]);
  });
});
