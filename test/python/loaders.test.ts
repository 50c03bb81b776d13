/**
 * The real loaders (torch.load, joblib.load, numpy.load) inside a guarded child, with
 * Debian's /usr/bin/python3 where torch/numpy/joblib are installed. Skipped, with the
 * reason, where they are not (CI images have only a stdlib python3).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { preparePythonChild } from '../../src/guard/python/index.js';
import { policyFromYaml, runPython, tempDir } from './helpers.js';

const PY = '/usr/bin/python3';
const ROOT = new URL('../..', import.meta.url).pathname;
const MODELS = join(ROOT, 'test/fixtures/models');
/** scripts/fixtures holds `mylab`, the user module of the whole-model fixtures. */
const FIXTURE_PATH = join(ROOT, 'scripts/fixtures');

function missing(modules: string): string | false {
  const r = spawnSync(PY, ['-c', `import ${modules}`], { encoding: 'utf8' });
  if (r.error) return `${PY} is not available (${r.error.message})`;
  return r.status === 0 ? false : `${PY} cannot import ${modules}: ${r.stderr.trim().split('\n').pop()}`;
}

interface Manifest {
  files: Record<string, { payload?: { marker: string } }>;
}
const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as Manifest;
function markerOf(file: string): string {
  const marker = manifest.files[file]?.payload?.marker;
  assert.ok(marker, `manifest has a marker for ${file}`);
  return marker;
}

/** Loads each argv path with `loader` (a Python expression over `p`) and prints one line per file. */
function script(imports: string, loader: string): string {
  return `
import sys, pickle
${imports}
for p in sys.argv[1:]:
    try:
        ${loader}
        print("LOADED")
    except pickle.UnpicklingError as e:
        print("BLOCKED", getattr(e, "code", type(e).__name__), getattr(e, "module", ""), getattr(e, "name", ""))
    except Exception as e:
        print("ERROR", type(e).__name__, str(e)[:300])
`;
}

function guardedRun(yaml: string, code: string, files: string[]) {
  const child = preparePythonChild({ env: { ...process.env, PYTHONPATH: FIXTURE_PATH }, policy: policyFromYaml(yaml) });
  const r = runPython(code, files, child.env, { python: PY });
  return { lines: r.stdout.trim().split('\n'), stderr: r.stderr, violations: child.afterExit() };
}

const noTorch = missing('torch');
describe('torch.load(weights_only=False) in a guarded child', { skip: noTorch }, () => {
  const TORCH_POLICY = 'version: 1\nextends: [pytorch, numpy, python-data]\nallow:\n  - mylab.**\n';
  const load = script('import torch', 'torch.load(p, weights_only=False)');

  it('benign checkpoints load (zip and legacy formats, state dicts, optimizers, a whole model)', () => {
    const files = ['state_dict.pt', 'checkpoint.pt', 'optim_adam.pt', 'optim_sgd.pt', 'dtypes.pt', 'misc.pt', 'state_dict.legacy.pt', 'checkpoint.legacy.pt', 'whole_model.pt', 'whole_model.legacy.pt'];
    const out = guardedRun(TORCH_POLICY, load, files.map((f) => join(MODELS, 'torch', f)));
    assert.deepEqual(out.lines, files.map(() => 'LOADED'), out.lines.join('\n') + out.stderr);
    assert.deepEqual(out.violations, []);
  });

  it('malicious checkpoints made by torch.save are stopped before the payload (zip data.pkl, legacy sys_info)', () => {
    const files = ['torch_zip_os_system.pt', 'torch_legacy_sysinfo_os_system.pt'];
    const before = files.map((f) => existsSync(markerOf(`malicious/${f}`)));
    const out = guardedRun(TORCH_POLICY, load, files.map((f) => join(MODELS, 'malicious', f)));
    assert.deepEqual(out.lines, ['BLOCKED global-denied os system', 'BLOCKED global-denied os system'], out.stderr);
    files.forEach((f, i) => assert.equal(existsSync(markerOf(`malicious/${f}`)), before[i]));
    assert.deepEqual(out.violations.map((v) => `${v.code} ${v.module}.${v.name}`), ['global-denied os.system', 'global-denied os.system']);
  });

  it('a checkpoint with a payload saved at test time never runs it', () => {
    const dir = tempDir();
    const marker = join(dir, 'PWNED');
    const path = join(dir, 'evil.pt');
    const save = `
import os, sys, torch
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
torch.save({"w": torch.ones(3), "evil": Evil()}, sys.argv[1])
`;
    const saved = runPython(save, [path, marker], process.env, { python: PY });
    assert.equal(saved.status, 0, saved.stderr);
    const out = guardedRun(TORCH_POLICY, load, [path]);
    assert.deepEqual(out.lines, ['BLOCKED global-denied posix system'], out.stderr);
    assert.equal(existsSync(marker), false);
  });
});

const noJoblib = missing('joblib, sklearn, numpy');
describe('joblib.load in a guarded child', { skip: noJoblib }, () => {
  const POLICY = 'version: 1\nextends: [sklearn, numpy, python-data]\n';
  const load = script('import joblib', 'joblib.load(p)');

  it('a benign pipeline loads and malicious ones (zlib exec, nested object array) are stopped', () => {
    const bad = ['joblib_zlib_exec.joblib', 'joblib_nested_object_posix_system.joblib'];
    const before = bad.map((f) => existsSync(markerOf(`malicious/${f}`)));
    const out = guardedRun(POLICY, load, [join(MODELS, 'joblib', 'pipeline.joblib'), ...bad.map((f) => join(MODELS, 'malicious', f))]);
    assert.deepEqual(out.lines, ['LOADED', 'BLOCKED global-denied builtins exec', 'BLOCKED global-denied posix system'], out.stderr);
    bad.forEach((f, i) => assert.equal(existsSync(markerOf(`malicious/${f}`)), before[i]));
  });
});

const noNumpy = missing('numpy');
describe('numpy.load(allow_pickle=True) in a guarded child', { skip: noNumpy }, () => {
  it('an object array loads and the subprocess.Popen one is stopped', () => {
    const load = script('import numpy', 'numpy.load(p, allow_pickle=True)');
    const bad = 'malicious/npy_object_subprocess_popen.npy';
    const before = existsSync(markerOf(bad));
    const out = guardedRun('version: 1\nextends: [numpy, python-data]\n', load, [join(MODELS, 'numpy', 'object.npy'), join(MODELS, bad)]);
    assert.deepEqual(out.lines, ['LOADED', 'BLOCKED global-denied subprocess Popen'], out.stderr);
    assert.equal(existsSync(markerOf(bad)), before);
  });
});

const noDill = missing('dill');
describe('dill.loads in a guarded child', { skip: noDill }, () => {
  it('dill (a pickle._Unpickler subclass with its own find_class) is stopped too', () => {
    const code = `
import os, pickle, dill
class Evil:
    def __reduce__(self):
        return (os.system, ("echo RAN",))
try:
    dill.loads(pickle.dumps(Evil())); print("LOADED")
except pickle.UnpicklingError as e:
    print("BLOCKED", e.code)
print(dill.loads(dill.dumps({"a": [1, 2]})))
`;
    const child = preparePythonChild({ env: process.env, policy: policyFromYaml('version: 1\nextends: [python-data]\n') });
    const r = runPython(code, [], child.env, { python: PY });
    assert.equal(r.stdout, "BLOCKED global-denied\n{'a': [1, 2]}\n", r.stderr);
  });
});
