/**
 * What a blocked read tells the user: the error's data (path, member, offending globals
 * with offsets, the policy that decided, the line to add), and a real npm pickle parser
 * behind fs.readFileSync.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PickleGuardError } from '../../src/errors.js';
import { scanBytes } from '../../src/scan/index.js';
import { ViolationError } from '../../src/guard/violation-error.js';
import { ensureBuilt, evilPickle, FIXTURES, guardEnv, MACHINE_PENDING, machineReady, REGISTER, ROOT, runNode, workspace, type Workspace } from './helpers.js';

let ws: Workspace;
let counter: string;
before(() => {
  ensureBuilt();
  ws = workspace();
  counter = join(ws.dir, 'counter.pkl');
  // collections.Counter() : allowed by nothing in the workspace policy, but not dangerous.
  writeFileSync(counter, Buffer.from('\x80\x02ccollections\nCounter\nq\x00)Rq\x01.', 'latin1'));
});

function errorsFor(...files: string[]) {
  const r = runNode(['--require', REGISTER, join(FIXTURES, 'error-app.cjs'), ...files], { env: guardEnv(ws), cwd: ws.dir });
  assert.equal(r.lines.length, files.length, r.stdout + r.stderr);
  return r.lines;
}

test('a global that is merely not allowed: the error names it, its offset, the policy file and the line to add', (t) => {
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  const [e] = errorsFor(counter);
  assert.deepEqual(
    { ...e, message: undefined },
    {
      file: counter,
      ok: false,
      code: 'ERR_PICKLE_GUARD_VIOLATION',
      name: 'ViolationError',
      path: counter,
      member: '',
      globals: [{ module: 'collections', name: 'Counter', member: '', offset: 2, code: 'global-not-allowed' }],
      policySource: ws.policy,
      suggestions: ['- collections.Counter'],
      operation: 'fs.readFileSync',
      isPickleGuardError: true,
      message: undefined,
    },
  );
  assert.match(String(e?.message), /If you trust this model, add to .*pickle-guard\.yaml:\n\s+- collections\.Counter/);
});

test('a torch zip with os.system: member path, every offending global in byte order, no suggestion for a dangerous one', (t) => {
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  const model = join(ROOT, 'test/fixtures/models/malicious/torch_zip_os_system.pt');
  const [e] = errorsFor(model);
  assert.equal(e?.member, 'torch_zip_os_system/data.pkl');
  const globals = e?.globals as Array<{ module: string; name: string; offset: number; code: string }>;
  assert.deepEqual(globals.at(-1), { module: 'os', name: 'system', member: 'torch_zip_os_system/data.pkl', offset: 1531, code: 'global-denied' });
  const offsets = globals.map((g) => g.offset);
  assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
  assert.deepEqual(e?.suggestions, [], 'a model calling os.system gets no "add this line" advice');
});

test('a real npm pickle parser gets benign bytes from readFileSync and never sees malicious ones', (t) => {
  const app = join(FIXTURES, 'pickleparser-app.cjs');
  const evil = runNode(['--require', REGISTER, app, join(ROOT, 'test/fixtures/models/malicious/pickle_posix_system_p4.pkl')], { env: guardEnv(ws) });
  assert.deepEqual(evil.lines, [{ ok: false, code: 'ERR_PICKLE_GUARD_VIOLATION', name: 'ViolationError' }], evil.stderr);
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  const good = runNode(['--require', REGISTER, app, ws.good], { env: guardEnv(ws) });
  assert.deepEqual(good.lines, [{ ok: true, value: [1, 2] }], good.stderr);
});

test('ViolationError is a PickleGuardError with a stable code, built from the report alone', () => {
  const report = scanBytes(evilPickle('true'), { policy: [], path: '/m/x.pkl' });
  const error = new ViolationError({ path: '/m/x.pkl', operation: 'test', report });
  assert.ok(error instanceof PickleGuardError);
  assert.equal(error.code, 'ERR_PICKLE_GUARD_VIOLATION');
  assert.equal(error.policySource, 'inline allow-list');
  assert.equal(error.violations.length, report.findings.filter((f) => f.code !== 'persistent-id' && f.code !== 'not-a-pickle' && f.code !== 'no-pickle').length);
});
