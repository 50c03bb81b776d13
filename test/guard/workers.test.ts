/**
 * Workers and child Node processes of a guarded app are guarded too: the guard prepends
 * `--require <register>` to a Worker's execArgv and adds itself to NODE_OPTIONS of children.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ensureBuilt, FIXTURES, guardEnv, MACHINE_PENDING, machineReady, REGISTER, runNode, workspace, type Run, type Workspace } from './helpers.js';

let ws: Workspace;
before(() => {
  ensureBuilt();
  ws = workspace();
});

const APP = join(FIXTURES, 'spread-app.mjs');
const WAYS = ['Worker (default execArgv)', 'Worker execArgv: []', 'fork execArgv: []', 'spawn node', 'cluster.fork'];

function results(r: Run): Record<string, unknown> {
  assert.deepEqual(r.lines.map((l) => l.api), WAYS, r.stdout + r.stderr);
  return Object.fromEntries(r.lines.map((l) => [l.api as string, l.ok === true ? 'read' : l.code]));
}

const allRead = Object.fromEntries(WAYS.map((w) => [w, 'read']));
const allBlocked = Object.fromEntries(WAYS.map((w) => [w, 'ERR_PICKLE_GUARD_VIOLATION']));

test('control: unguarded, every worker and child reads the malicious model', () => {
  assert.deepEqual(results(runNode([APP, ws.evil], { cwd: ws.dir })), allRead);
});

test('--require: every worker and child reading a malicious model is stopped', () => {
  assert.deepEqual(results(runNode(['--require', REGISTER, APP, ws.evil], { env: guardEnv(ws), cwd: ws.dir })), allBlocked);
});

test('programmatic install(): workers and children are stopped too (policy passed on by env)', () => {
  assert.deepEqual(results(runNode([APP, ws.evil, '--programmatic', ws.policy], { cwd: ws.dir })), allBlocked);
});

test('programmatic install(): workers and children still read benign models', (t) => {
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  assert.deepEqual(results(runNode([APP, ws.good, '--programmatic', ws.policy], { cwd: ws.dir })), allRead);
});
