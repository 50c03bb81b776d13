/**
 * An app that installs its policy in code (an inline list) hands workers and children that
 * exact policy, never a weaker one found by discovery or named by an inherited
 * PICKLE_GUARD_POLICY. Each app runs in its own process (the built package), in a folder
 * where discovery would find `preset:default`.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENIGN_PICKLE, ensureBuilt, FIXTURES, GUARD_INDEX, MACHINE_PENDING, machineReady, runNode, type Run } from './helpers.js';

const APP = join(FIXTURES, 'spread-app.mjs');
const WAYS = ['Worker (default execArgv)', 'Worker execArgv: []', 'fork execArgv: []', 'spawn node', 'cluster.fork'];
const LIST = 'collections.OrderedDict';

/** Protocol 2, crafted byte by byte: the global `torch._utils._rebuild_tensor_v2` (preset:default allows it, LIST does not). */
const TENSOR_PICKLE = Buffer.from('\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00.', 'latin1');

let dir: string;
let tensor: string;
let good: string;
before(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'pg-inline-'));
  writeFileSync(join(dir, 'package.json'), '{}\n'); // discovery stops here: no policy file, so preset:default
  tensor = join(dir, 'tensor.pt');
  good = join(dir, 'good.pkl');
  writeFileSync(tensor, TENSOR_PICKLE);
  writeFileSync(good, BENIGN_PICKLE);
});

function results(r: Run): Record<string, unknown> {
  assert.deepEqual(r.lines.map((l) => l.api), WAYS, r.stdout + r.stderr);
  return Object.fromEntries(r.lines.map((l) => [l.api as string, l.ok === true ? 'read' : l.code]));
}
const every = (v: unknown) => Object.fromEntries(WAYS.map((w) => [w, v]));

test('control: under preset:default (what discovery finds here) every worker and child reads the tensor model', (t) => {
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  assert.deepEqual(results(runNode([APP, tensor, '--programmatic', 'preset:default'], { cwd: dir })), every('read'));
});

test('install({ policy: [list] }): every worker and child refuses a model the list does not allow (not discovery\'s preset:default)', () => {
  assert.deepEqual(results(runNode([APP, tensor, '--inline', LIST], { cwd: dir })), every('ERR_PICKLE_GUARD_VIOLATION'));
});

test('... nor a weaker PICKLE_GUARD_POLICY / PICKLE_GUARD_MODE the app itself was started with', () => {
  const env = { PICKLE_GUARD_POLICY: 'preset:default', PICKLE_GUARD_MODE: 'report' };
  assert.deepEqual(results(runNode([APP, tensor, '--inline', LIST], { cwd: dir, env })), every('ERR_PICKLE_GUARD_VIOLATION'));
});

test('install({ policy: [list] }): workers and children start and read a model the list allows', (t) => {
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  assert.deepEqual(results(runNode([APP, good, '--inline', LIST], { cwd: dir })), every('read'));
});

/** An ESM app importing the built guard; prints JSON lines. */
function runApp(lines: string[], args: string[] = [], env: NodeJS.ProcessEnv = {}): Run {
  const app = [`import * as guard from ${JSON.stringify(pathToFileURL(GUARD_INDEX).href)};`, ...lines].join('\n');
  return runNode(['--input-type=module', '-e', app, ...args], { cwd: dir, env });
}

test('the policy file handed on is private (0600 in a 0700 folder), holds the list, and is removed at exit', () => {
  const r = runApp([
    "import { spawnSync } from 'node:child_process';",
    "import { readFileSync, statSync } from 'node:fs';",
    "import { dirname } from 'node:path';",
    `guard.install({ policy: [${JSON.stringify(LIST)}] });`,
    "const child = spawnSync(process.execPath, ['-p', 'process.env.PICKLE_GUARD_POLICY + \" \" + process.env.PICKLE_GUARD_MODE'], { encoding: 'utf8' });",
    "const [path, mode] = child.stdout.trim().split(' ');",
    'console.log(JSON.stringify({ path, mode, status: child.status, stderr: child.stderr,',
    "  file: (statSync(path).mode & 0o777).toString(8), dir: (statSync(dirname(path)).mode & 0o777).toString(8), text: readFileSync(path, 'utf8') }));",
  ]);
  const [out] = r.lines;
  assert.ok(out, r.stdout + r.stderr);
  assert.equal(out.status, 0, String(out.stderr));
  assert.equal(out.mode, 'enforce');
  assert.deepEqual([out.file, out.dir], ['600', '700']);
  assert.match(String(out.text), /allow:\n {2}- collections\.OrderedDict\n/);
  assert.match(String(out.text), /\*\*\/\*\.\{pt,pth,bin/, 'the default artifact globs the guard uses for a list');
  assert.ok(!existsSync(String(out.path)), 'removed when the app exited');
});

test('a worker sharing the app\'s env (SHARE_ENV) gets the inline list too', () => {
  const r = runApp([
    "import { SHARE_ENV, Worker } from 'node:worker_threads';",
    `guard.install({ policy: [${JSON.stringify(LIST)}] });`,
    `const w = new Worker(${JSON.stringify(join(FIXTURES, 'reader-worker.mjs'))}, { env: SHARE_ENV, execArgv: [], workerData: process.argv[1] });`,
    "console.log(JSON.stringify(await new Promise((resolve) => w.once('message', resolve))));",
  ], [tensor]);
  assert.deepEqual(r.lines, [{ ok: false, code: 'ERR_PICKLE_GUARD_VIOLATION', name: 'ViolationError' }], r.stderr);
});

test('an unwritable temp folder refuses the child start with a UsageError (no fallback)', () => {
  const r = runApp([
    "import { spawnSync } from 'node:child_process';",
    `guard.install({ policy: [${JSON.stringify(LIST)}] });`,
    "try { spawnSync(process.execPath, ['-e', '0']); console.log(JSON.stringify({ started: true })); } catch (e) { console.log(JSON.stringify({ code: e.code })); }",
  ], [], { TMPDIR: join(dir, 'no-such-folder') });
  assert.deepEqual(r.lines, [{ code: 'ERR_PICKLE_GUARD_USAGE' }], r.stderr);
});

test('a hand-made Policy object cannot be handed on: workers and children are refused with a UsageError (children: false opts out)', () => {
  const lines = [
    "import { spawnSync } from 'node:child_process';",
    "import { Worker } from 'node:worker_threads';",
    'const children = process.argv[1] === "on";',
    "const mine = { source: 'my policy', mode: 'enforce', pythonLaunchers: [],",
    "  forFile: () => ({ decide: () => ({ allowed: false, reason: 'no' }) }), isArtifactPath: () => false };",
    'guard.install({ policy: mine, children });',
    'const out = {};',
    "try { out.spawn = spawnSync(process.execPath, ['-e', '0']).status; } catch (e) { out.spawn = e.code; out.message = e.message; }",
    "try { const w = new Worker('0', { eval: true }); out.worker = 'started'; await new Promise((r) => w.once('exit', r)); } catch (e) { out.worker = e.code; }",
    'console.log(JSON.stringify(out));',
  ];
  const on = runApp(lines, ['on']).lines[0];
  assert.ok(on);
  assert.deepEqual([on.spawn, on.worker], ['ERR_PICKLE_GUARD_USAGE', 'ERR_PICKLE_GUARD_USAGE']);
  assert.match(String(on.message), /install\(\{ children: false \}\)/);
  const off = runApp(lines, ['off']).lines[0];
  assert.deepEqual(off, { spawn: 0, worker: 'started' });
});

test('a Python child of an app installed with an inline list refuses a global the list does not allow (path the Node side never sees)', () => {
  const counter = join(dir, 'counter.bin');
  const made = spawnSync('python3', ['-c', 'import pickle, collections, sys; open(sys.argv[1], "wb").write(pickle.dumps(collections.Counter(a=1), 2))', counter]);
  assert.equal(made.status, 0, String(made.stderr));
  const lines = (policy: string) => [
    "import { spawnSync } from 'node:child_process';",
    `guard.install({ policy: ${policy} });`,
    "const r = spawnSync('python3', ['-c', 'import pickle, os; print(pickle.load(open(os.environ[\"MODEL\"], \"rb\")))'],",
    "  { env: { ...process.env, MODEL: process.argv[1] }, encoding: 'utf8' });",
    'console.log(JSON.stringify({ status: r.status, stdout: r.stdout.trim(), stderr: r.stderr }));',
  ];
  const control = runApp(lines(JSON.stringify('preset:default')), [counter]);
  assert.deepEqual(control.lines[0] && { status: control.lines[0].status, stdout: control.lines[0].stdout }, { status: 0, stdout: "Counter({'a': 1})" }, control.stderr);
  const r = runApp(lines(JSON.stringify([LIST])), [counter]);
  const [out] = r.lines;
  assert.ok(out, r.stdout + r.stderr);
  assert.notEqual(out.status, 0, 'the unpickle raised inside python3');
  assert.equal(out.stdout, '');
  assert.match(r.stderr, /a Python child started by child_process\.spawnSync refused 1 import\(s\):\n\s+collections\.Counter/);
});
