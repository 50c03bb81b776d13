/**
 * Pure pieces of the guard: the verdict cache's identity rule, what children inherit,
 * and the register entry point failing closed on a bad policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VerdictCache, type FileIdentity } from '../../src/guard/verdict-cache.js';
import { childEnv } from '../../src/guard/env.js';
import { policyFromList } from '../../src/policy/exact-list.js';
import { scanBytes } from '../../src/scan/index.js';
import { BENIGN_PICKLE, ensureBuilt, REGISTER, runNode, workspace } from './helpers.js';

const id = (over: Partial<FileIdentity> = {}): FileIdentity => ({ dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n, ...over });

test('a cached verdict is reused only for the same file version under the same path', () => {
  const cache = new VerdictCache(2);
  const report = scanBytes(BENIGN_PICKLE, { policy: [] });
  cache.set(id(), '/m/a.pt', report);
  assert.equal(cache.get(id(), '/m/a.pt'), report);
  for (const change of [{ ino: 9n }, { dev: 9n }, { size: 9n }, { mtimeNs: 9n }, { ctimeNs: 9n }]) {
    assert.equal(cache.get(id(change), '/m/a.pt'), undefined, JSON.stringify(change, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
  }
  assert.equal(cache.get(id(), '/other/a.pt'), undefined, 'path-scoped rules may differ per path');
  cache.set(id({ ino: 10n }), '/m/b.pt', report);
  cache.set(id({ ino: 11n }), '/m/c.pt', report);
  assert.equal(cache.size, 2, 'bounded');
  assert.equal(cache.get(id(), '/m/a.pt'), undefined, 'oldest dropped first');
});

test('children inherit the preload (quoted when needed), the policy file and the mode, without clobbering', () => {
  const policy = { ...policyFromList([], '/p/pickle-guard.yaml'), mode: 'report' as const };
  const config = { policy, children: true, registerPath: '/opt/my app/dist/guard/register.js' };
  const env = childEnv({ NODE_OPTIONS: '--max-old-space-size=100', PATH: '/bin' }, config);
  assert.equal(env.NODE_OPTIONS, '--max-old-space-size=100 --require "/opt/my app/dist/guard/register.js"');
  assert.equal(env.PATH, '/bin');
  assert.equal(env.PICKLE_GUARD_POLICY, undefined, 'a policy source that is not an existing file is not passed on');
  assert.equal(env.PICKLE_GUARD_MODE, 'report');
  assert.equal(childEnv(env, config).NODE_OPTIONS, env.NODE_OPTIONS, 'added once');
  assert.equal(childEnv({ PICKLE_GUARD_MODE: 'enforce' }, config).PICKLE_GUARD_MODE, 'enforce', 'an explicit child setting wins');
  assert.deepEqual(childEnv({ A: '1' }, { ...config, children: false }), { A: '1' });
});

test('register with a broken policy stops the app at startup instead of running unguarded', () => {
  ensureBuilt();
  const ws = workspace();
  const bad = join(ws.dir, 'bad.yaml');
  writeFileSync(bad, 'version: 1\nallow: [\n');
  for (const policy of [bad, join(ws.dir, 'missing.yaml')]) {
    const r = runNode(['--require', REGISTER, '-e', 'console.log("app ran")'], { env: { PICKLE_GUARD_POLICY: policy }, cwd: ws.dir });
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stdout, /app ran/);
    assert.match(r.stderr, /ERR_PICKLE_GUARD_POLICY/);
  }
  const mode = runNode(['--require', REGISTER, '-e', 'console.log("app ran")'], { env: { PICKLE_GUARD_POLICY: ws.policy, PICKLE_GUARD_MODE: 'off' }, cwd: ws.dir });
  assert.notEqual(mode.status, 0, 'an unknown mode is not read as "off"');
});
