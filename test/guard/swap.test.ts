/**
 * Check and use: a file swapped (by rename or rewritten in place) after a verdict was
 * cached is scanned again, and a descriptor keeps reading the file that was checked.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ensureBuilt, FIXTURES, MACHINE_PENDING, machineReady, runNode, workspace, type Workspace } from './helpers.js';

let ws: Workspace;
before(() => {
  ensureBuilt();
  ws = workspace();
});

test('a model swapped between check and use is caught; the checked descriptor keeps the checked bytes', (t) => {
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  const r = runNode([join(FIXTURES, 'swap-app.mjs'), ws.dir, ws.policy], { cwd: ws.dir });
  const seen = Object.fromEntries(r.lines.map((l) => [l.step as string, l.ok ? (l.same === false ? 'other bytes' : 'read') : l.code]));
  assert.deepEqual(seen, {
    'read benign': 'read',
    'read benign again (cached verdict)': 'read',
    'read after rename swap': 'ERR_PICKLE_GUARD_VIOLATION',
    'open after rename swap': 'ERR_PICKLE_GUARD_VIOLATION',
    'read after swapping back': 'read',
    'read after in-place rewrite': 'ERR_PICKLE_GUARD_VIOLATION',
    'read after rewrite with mtime put back': 'read',
    'read after malicious rewrite with mtime put back': 'ERR_PICKLE_GUARD_VIOLATION',
    'read a benign file as long as the malicious one': 'read',
    'read after same-size malicious rewrite with mtime put back': 'ERR_PICKLE_GUARD_VIOLATION',
    'read through a descriptor opened before the swap': 'read',
  }, r.stderr);
});
