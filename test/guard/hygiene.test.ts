/**
 * Wrapper hygiene and reversibility, observed in an app process: names, lengths, errors,
 * promisify shapes, ESM named bindings, two copies of the package, exact restoration.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ensureBuilt, FIXTURES, runNode, workspace, type Workspace } from './helpers.js';

let ws: Workspace;
before(() => {
  ensureBuilt();
  ws = workspace();
});

test('wrappers keep their shape, two copies share one set of hooks, uninstall restores the originals', () => {
  const r = runNode([join(FIXTURES, 'hygiene-app.mjs'), ws.text, ws.policy], { cwd: ws.dir });
  const facts = r.lines.map((l) => [l.key, l.value]);
  assert.equal(facts.length, 18, r.stdout + r.stderr);
  for (const [key, value] of facts) assert.equal(value, true, `${String(key)}\n${r.stderr}`);
});
