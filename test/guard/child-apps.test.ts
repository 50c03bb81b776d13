/**
 * Python launches from a guarded app: a real python-shell bridge and every child_process
 * API start a real python3 that pickle.loads its argument. A malicious model never gets a
 * process: the marker file its payload writes is proven to appear without the guard.
 */
import { test, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, FIXTURES, guardEnv, MACHINE_PENDING, machineReady, REGISTER, runNode, workspace, type Workspace } from './helpers.js';

let ws: Workspace;
before(() => {
  ensureBuilt();
  ws = workspace();
});
beforeEach(() => rmSync(ws.marker, { force: true }));

const APP = join(FIXTURES, 'child-app.mjs');
const LAUNCHERS = 9;

test('control: the malicious pickle really runs its payload when python3 loads it unguarded', () => {
  const r = spawnSync('python3', [join(FIXTURES, 'load.py'), ws.evil], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(ws.marker), 'the payload wrote its marker');
});

test('every launcher refuses to start python3 on a malicious model; no payload runs', () => {
  const r = runNode(['--require', REGISTER, APP, ws.evil, ws.marker], { env: guardEnv(ws), cwd: ws.dir });
  assert.equal(r.lines.length, LAUNCHERS, r.stdout + r.stderr);
  for (const line of r.lines) {
    assert.deepEqual(
      { api: line.api, ok: line.ok, code: line.code, marker: line.marker },
      { api: line.api, ok: false, code: 'ERR_PICKLE_GUARD_VIOLATION', marker: false },
    );
  }
  assert.ok(!existsSync(ws.marker));
});

test('every launcher starts python3 on a benign model and gets its data back', (t) => {
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  const r = runNode(['--require', REGISTER, APP, ws.good, ws.marker], { env: guardEnv(ws), cwd: ws.dir });
  assert.equal(r.lines.length, LAUNCHERS, r.stdout + r.stderr);
  for (const line of r.lines) assert.deepEqual({ api: line.api, ok: line.ok, out: line.out }, { api: line.api, ok: true, out: '[1, 2]' });
});

test('report mode: the launch goes ahead with a warning (and the payload runs: report mode does not protect)', () => {
  const r = runNode(['--require', REGISTER, APP, ws.evil, ws.marker], { env: guardEnv(ws, { PICKLE_GUARD_MODE: 'report' }), cwd: ws.dir });
  const spawned = r.lines.find((l) => l.api === 'spawn python3');
  assert.ok(spawned, r.stdout + r.stderr);
  assert.equal(spawned.ok, true);
  assert.equal(spawned.marker, true, 'report mode lets the load happen');
  assert.match(r.stderr, /ViolationError: pickle-guard would block \(report mode\) child_process\.spawn of .*evil\.pkl/);
  assert.match(r.stderr, /a Python child started by child_process\.spawn reported 1 import\(s\):\n\s+posix\.system/);
});

test('a path the guard cannot see (passed in an env var) is refused inside the Python child', () => {
  const app = [
    "const cp = require('node:child_process');",
    "const r = cp.spawnSync('python3', ['-c', 'import pickle, os; pickle.load(open(os.environ[\"MODEL\"], \"rb\"))'],",
    '  { env: { ...process.env, MODEL: process.argv[1] }, encoding: "utf8" });',
    'console.log(JSON.stringify({ status: r.status, stderr: r.stderr }));',
  ].join('\n');
  const r = runNode(['--require', REGISTER, '-e', app, ws.evil], { env: guardEnv(ws), cwd: ws.dir });
  const [result] = r.lines;
  assert.ok(result, r.stdout + r.stderr);
  assert.notEqual(result.status, 0, 'the unpickle raised inside python3');
  assert.ok(!existsSync(ws.marker), 'the payload did not run');
  assert.match(r.stderr, /a Python child started by child_process\.spawnSync refused 1 import\(s\):\n\s+posix\.system/);
});

test('a Python script started by name (its #! line), relative or found on PATH, is a Python launch', () => {
  const script = join(ws.dir, 'load-model');
  writeFileSync(script, `#!/usr/bin/env python3\n${readFileSync(join(FIXTURES, 'load.py'), 'utf8')}`);
  chmodSync(script, 0o755);
  const app = [
    "const cp = require('node:child_process');",
    'const [evil, dir] = process.argv.slice(1);',
    'const out = {};',
    "for (const [name, run] of Object.entries({",
    "  relative: () => cp.spawnSync('./load-model', [evil], { cwd: dir, encoding: 'utf8' }),",
    "  onPath: () => cp.execFileSync('load-model', [evil], { env: { ...process.env, PATH: dir + ':' + process.env.PATH }, encoding: 'utf8' }),",
    "})) { try { const r = run(); out[name] = r.status ?? 'ran'; } catch (e) { out[name] = e.code; } }",
    'console.log(JSON.stringify(out));',
  ].join('\n');
  const control = runNode(['-e', app, ws.evil, ws.dir], { cwd: ws.dir });
  assert.deepEqual(control.lines, [{ relative: 0, onPath: 'ran' }], 'unguarded, the script runs (and so does the payload)');
  assert.ok(existsSync(ws.marker));
  rmSync(ws.marker);
  const r = runNode(['--require', REGISTER, '-e', app, ws.evil, ws.dir], { env: guardEnv(ws), cwd: ws.dir });
  assert.deepEqual(r.lines, [{ relative: 'ERR_PICKLE_GUARD_VIOLATION', onPath: 'ERR_PICKLE_GUARD_VIOLATION' }], r.stderr);
  assert.ok(!existsSync(ws.marker));
});

test('python -I / -E / -S would skip the Python-side guard: refused unless the launch opts out', () => {
  const app = [
    "const cp = require('node:child_process');",
    'const out = {};',
    "for (const [name, run] of Object.entries({",
    "  isolated: () => cp.spawnSync('python3', ['-I', '-c', 'print(1)'], { encoding: 'utf8' }),",
    "  noSite: () => cp.execSync('python3 -S -c \"print(1)\"', { encoding: 'utf8' }),",
    "  plain: () => cp.spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' }),",
    "  optedOut: () => cp.spawnSync('python3', ['-I', '-c', 'print(1)'], { env: { ...process.env, PICKLE_GUARD_PYTHON: '0' }, encoding: 'utf8' }),",
    "})) { try { const r = run(); out[name] = typeof r === 'string' ? r.trim() : r.stdout.trim(); } catch (e) { out[name] = e.code; } }",
    'console.log(JSON.stringify(out));',
  ].join('\n');
  const r = runNode(['--require', REGISTER, '-e', app], { env: guardEnv(ws), cwd: ws.dir });
  assert.deepEqual(r.lines, [{ isolated: 'ERR_PICKLE_GUARD_USAGE', noSite: 'ERR_PICKLE_GUARD_USAGE', plain: '1', optedOut: '1' }], r.stderr);
});

test('a directory argument: the artifact files directly in it are checked', () => {
  const app = [
    "const cp = require('node:child_process');",
    'const [dir, clean] = process.argv.slice(1);',
    'const out = {};',
    "for (const [name, d] of Object.entries({ withModel: dir, clean })) {",
    "  try { out[name] = cp.execFileSync('python3', ['-c', 'print(1)', '--model-dir=' + d], { encoding: 'utf8' }).trim(); } catch (e) { out[name] = e.code; }",
    '}',
    'console.log(JSON.stringify(out));',
  ].join('\n');
  const clean = join(ws.dir, 'clean');
  mkdirSync(clean, { recursive: true });
  writeFileSync(join(clean, 'notes.txt'), 'hello');
  const r = runNode(['--require', REGISTER, '-e', app, ws.dir, clean], { env: guardEnv(ws), cwd: ws.dir });
  assert.deepEqual(r.lines, [{ withModel: 'ERR_PICKLE_GUARD_VIOLATION', clean: '1' }], r.stderr);
});

test('a Python grandchild (a shell script the guard does not read) still gets the Python-side guard', () => {
  const script = join(ws.dir, 'run.sh');
  writeFileSync(script, `python3 ${join(FIXTURES, 'load.py')} "$1"\n`);
  const app = [
    "const cp = require('node:child_process');",
    "const r = cp.spawnSync('bash', [process.argv[1], process.argv[2]], { encoding: 'utf8' });",
    'console.log(JSON.stringify({ status: r.status }));',
  ].join('\n');
  const control = runNode(['-e', app, script, ws.evil], { cwd: ws.dir });
  assert.deepEqual(control.lines, [{ status: 0 }]);
  assert.ok(existsSync(ws.marker), 'unguarded, the payload runs through the script');
  rmSync(ws.marker);
  const r = runNode(['--require', REGISTER, '-e', app, script, ws.evil], { env: guardEnv(ws), cwd: ws.dir });
  assert.notDeepEqual(r.lines, [{ status: 0 }], 'the unpickle raised in the grandchild');
  assert.ok(!existsSync(ws.marker), 'the payload did not run');
  assert.match(r.stderr, /a Python child started by child_process\.spawnSync refused 1 import\(s\):\n\s+posix\.system/);
});
