/**
 * The bootstrap on every supported CPython (3.8+): each interpreter found on this machine
 * (python3.N on PATH, or a pyenv install) runs the same self-check. Versions that are not
 * installed are skipped with that reason.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { preparePythonChild } from '../../src/guard/python/index.js';
import { BASIC_POLICY, policyFromYaml, runPython, tempDir } from './helpers.js';

function versionOf(exe: string): string | undefined {
  const r = spawnSync(exe, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function interpreters(): Map<string, string> {
  const found = new Map<string, string>();
  const candidates: string[] = [];
  for (let minor = 6; minor <= 14; minor++) candidates.push(`python3.${minor}`);
  candidates.push('python2.7');
  const pyenv = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  if (existsSync(pyenv)) for (const v of readdirSync(pyenv)) candidates.push(join(pyenv, v, 'bin', 'python'));
  for (const exe of candidates) {
    const version = versionOf(exe);
    if (version && !found.has(version)) found.set(version, exe);
  }
  return found;
}

const SELF_CHECK = `
import copyreg, io, os, pickle, sys
marker = sys.argv[1]
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))
evil = pickle.dumps(Evil(), protocol=2)
def attempt(label, fn):
    try:
        fn(); print(label, "LOADED")
    except pickle.UnpicklingError as e:
        print(label, "BLOCKED", getattr(e, "code", type(e).__name__))
class NoSuper(pickle.Unpickler):
    def find_class(self, module, name):
        return getattr(__import__(module), name)
copyreg.add_extension("collections", "OrderedDict", 240)
attempt("benign", lambda: pickle.loads(b"\\x80\\x02ccollections\\nOrderedDict\\n)R."))
attempt("py2-name", lambda: pickle.loads(b"\\x80\\x02c__builtin__\\nset\\n)R."))
attempt("evil-c", lambda: pickle.loads(evil))
attempt("evil-py", lambda: pickle._loads(evil))
attempt("evil-subclass", lambda: NoSuper(io.BytesIO(evil)).load())
attempt("ext1", lambda: pickle.loads(b"\\x80\\x02\\x82\\xf0)R."))
attempt("ext1-py", lambda: pickle._loads(b"\\x80\\x02\\x82\\xf0)R."))
print("marker", os.path.exists(marker))
`;

const EXPECTED = [
  'benign LOADED',
  'py2-name LOADED',
  'evil-c BLOCKED global-denied',
  'evil-py BLOCKED global-denied',
  'evil-subclass BLOCKED global-denied',
  'ext1 BLOCKED extension-registry',
  'ext1-py BLOCKED extension-registry',
  'marker False',
  '',
].join('\n');

describe('the bootstrap on each CPython version', () => {
  const found = interpreters();
  const policy = policyFromYaml(BASIC_POLICY);
  for (const version of ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13']) {
    const exe = found.get(version);
    it(`python ${version}`, { skip: exe ? false : `python ${version} is not installed here` }, () => {
      const child = preparePythonChild({ env: process.env, policy });
      const r = runPython(SELF_CHECK, [join(tempDir(), 'PWNED')], child.env, { python: exe! });
      assert.equal(r.stdout, EXPECTED, r.stderr);
      assert.equal(child.afterExit().length, 5);
    });
  }
  // Older interpreters cannot enforce (no audit hooks, no 3.8 syntax): the bootstrap
  // disables unpickling there and tells the parent, rather than running unguarded.
  for (const version of ['2.7', '3.6', '3.7']) {
    const exe = found.get(version);
    it(`python ${version} fails closed`, { skip: exe ? false : `python ${version} is not installed here` }, () => {
      const child = preparePythonChild({ env: process.env, policy });
      const code = 'import pickle\ntry:\n    pickle.loads(pickle.dumps(1)); print("LOADED")\nexcept pickle.UnpicklingError:\n    print("REFUSED")\n';
      const r = runPython(code, [], child.env, { python: exe! });
      assert.equal(r.stdout, 'REFUSED\n', r.stderr);
      const violations = child.afterExit();
      assert.equal(violations.length, 1);
      assert.equal(violations[0]?.code, 'bootstrap-failed');
      assert.match(violations[0]?.reason ?? '', new RegExp(`Python ${version.replace('.', '\\.')} is older than 3\\.8`));
    });
  }
});
