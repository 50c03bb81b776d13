/** The bundled example folder and `npm run demo`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureBuilt } from '../guard/helpers.js';
import { cli, ROOT, tempDir } from './helpers.js';
import { errorsOf, reportValidator } from './schemas.js';

test('scan examples/models: the benign model is allowed, the malicious one blocked (exit 1)', () => {
  const r = cli(['scan', '--json', 'examples/models']);
  assert.equal(r.status, 1, r.stderr);
  const doc = JSON.parse(r.stdout);
  const v = reportValidator();
  assert.equal(v(doc), true, errorsOf(v));
  const byPath = Object.fromEntries(doc.results.map((x: { path: string }) => [x.path, x]));
  assert.deepEqual(Object.keys(byPath), ['examples/models/benign.pkl', 'examples/models/malicious.pkl'], 'the .py generator is not taken for a model');
  assert.equal(byPath['examples/models/benign.pkl'].verdict, 'allowed');
  assert.deepEqual(byPath['examples/models/benign.pkl'].globals.map((g: { module: string; name: string }) => `${g.module}.${g.name}`), ['collections.OrderedDict']);
  const bad = byPath['examples/models/malicious.pkl'];
  assert.equal(bad.verdict, 'blocked');
  assert.ok(bad.findings.some((f: { code: string; module?: string; name?: string }) => f.code === 'global-denied' && f.module === 'posix' && f.name === 'system'));
});

test('the committed example models are exactly what make_models.py writes (stdlib python3)', () => {
  const dir = tempDir();
  copyFileSync(join(ROOT, 'examples/models/make_models.py'), join(dir, 'make_models.py'));
  const py = spawnSync('python3', [join(dir, 'make_models.py')], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  for (const name of ['benign.pkl', 'malicious.pkl']) {
    assert.deepEqual(readFileSync(join(dir, name)), readFileSync(join(ROOT, 'examples/models', name)), name);
  }
});

test('npm run demo: builds, runs the app under the guard, and ends green', () => {
  // `npm run demo` is `npm run build && node examples/demo/run.mjs`. Test files run in
  // parallel and the guard tests start apps from dist/, so the build goes through their
  // shared lock (rebuilt only when dist/ is older than src/) instead of a second tsc run.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.demo, 'npm run build --silent && node examples/demo/run.mjs');
  ensureBuilt();
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_OPTIONS;
  delete env.PICKLE_GUARD_POLICY;
  const r = spawnSync(process.execPath, [join(ROOT, 'examples/demo/run.mjs')], { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /PASS {2}benign model unpickled by a Python child/);
  assert.match(r.stdout, /PASS {2}malicious model stopped at the JS read/);
  assert.match(r.stdout, /PASS {2}malicious model stopped before the Python child started/);
  assert.match(r.stdout, /PASS {2}its payload never ran/);
  assert.match(r.stdout, /_v0 = system\('touch PWNED'\)/);
  assert.doesNotMatch(r.stdout, /FAIL/);
});

test('the demo fails (exit 1) when the app runs without the guard: its checks can fail', () => {
  ensureBuilt();
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', PICKLE_GUARD_DEMO_WITHOUT_GUARD: '1' };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, [join(ROOT, 'examples/demo/run.mjs')], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stdout, /FAIL {2}malicious model stopped at the JS read/);
  assert.match(r.stdout, /FAIL {2}its payload never ran/);
  assert.match(r.stdout, /PASS {2}benign model read by JS/);
});
