/**
 * Pure pieces of the guard: the verdict cache's identity rule, what children inherit,
 * and the register entry point failing closed on a bad policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VerdictCache, type FileIdentity } from '../../src/guard/verdict-cache.js';
import { childEnv } from '../../src/guard/env.js';
import { loadPolicyFile, policyFromList, presetPolicy, type Policy } from '../../src/policy/index.js';
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

test('children inherit the preload (quoted when needed), the installed policy and its mode, replacing what their env said', () => {
  const policy = presetPolicy('default', 'report');
  const config = { policy, children: true, registerPath: '/opt/my app/dist/guard/register.js' };
  const env = childEnv({ NODE_OPTIONS: '--max-old-space-size=100', PATH: '/bin' }, config);
  assert.equal(env.NODE_OPTIONS, '--max-old-space-size=100 --require "/opt/my app/dist/guard/register.js"');
  assert.equal(env.PATH, '/bin');
  assert.equal(env.PICKLE_GUARD_POLICY, 'preset:default', 'a preset is passed by name');
  assert.equal(env.PICKLE_GUARD_MODE, 'report');
  assert.equal(childEnv(env, config).NODE_OPTIONS, env.NODE_OPTIONS, 'added once');
  const explicit = childEnv({ PICKLE_GUARD_POLICY: '/tmp/weaker.yaml', PICKLE_GUARD_MODE: 'enforce' }, config);
  assert.deepEqual([explicit.PICKLE_GUARD_POLICY, explicit.PICKLE_GUARD_MODE], ['preset:default', 'report'], 'the installed policy wins');
  assert.deepEqual(childEnv({ A: '1' }, { ...config, children: false }), { A: '1' });
});

test('a policy file still on disk is passed by path; any other loaded policy as its effective YAML in a private file that loads to the same decisions', () => {
  const ws = workspace();
  const file = loadPolicyFile(ws.policy);
  assert.equal(childEnv({}, { policy: file, children: true }).PICKLE_GUARD_POLICY, ws.policy);
  const list = policyFromList(['collections.OrderedDict', 'mylab:models.Net'], ws.policy); // named like the file, but not loaded from it
  const handed = childEnv({}, { policy: list, children: true }).PICKLE_GUARD_POLICY;
  assert.ok(handed && handed !== ws.policy, String(handed));
  assert.equal(childEnv({}, { policy: list, children: true }).PICKLE_GUARD_POLICY, handed, 'written once per policy object');
  assert.equal(statSync(handed).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(handed)).mode & 0o777, 0o700);
  const again = loadPolicyFile(handed);
  const allowed = (p: Policy, module: string, name: string) =>
    p.forFile(undefined).check({ module, name, origin: 'import', traversal: name.includes('.'), dunder: false }).allowed;
  const names = [['collections', 'OrderedDict'], ['mylab', 'models.Net'], ['collections', 'Counter'], ['torch._utils', '_rebuild_tensor_v2'], ['posix', 'system']] as const;
  assert.deepEqual(names.map(([m, n]) => allowed(again, m, n)), [true, true, false, false, false]);
  assert.deepEqual(names.map(([m, n]) => allowed(list, m, n)), [true, true, false, false, false]);
  writeFileSync(ws.policy, 'version: 1\nallow:\n  - collections.OrderedDict\n  - collections.Counter\n'); // edited after it was loaded
  const edited = childEnv({}, { policy: file, children: true }).PICKLE_GUARD_POLICY;
  assert.ok(edited && edited !== ws.policy, 'the file no longer says what was loaded: the loaded policy is written out');
  assert.equal(allowed(loadPolicyFile(edited), 'collections', 'Counter'), false);
});

test('a hand-made Policy object is not passed on silently: UsageError naming what to do', () => {
  const mine = { source: 'mine', mode: 'enforce' as const, pythonLaunchers: [], forFile: () => policyFromList([]).forFile(undefined), isArtifactPath: () => true };
  assert.throws(() => childEnv({}, { policy: mine, children: true }), (e: Error & { code?: string }) => e.code === 'ERR_PICKLE_GUARD_USAGE' && /children: false/.test(e.message));
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
