/**
 * The package as users get it: the exports map, the bin, and what `npm pack` ships.
 * Runs against the built dist/ (CI builds before testing; locally `ensureBuilt` does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from './guard/helpers.js';

ensureBuilt();

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
}

test('import and require of the package name resolve to the built API', () => {
  const probe = `
    const esm = await import('pickle-guard');
    const { createRequire } = await import('node:module');
    const cjs = createRequire(process.cwd() + '/x.js')('pickle-guard');
    const names = ['scanFile', 'scanBytes', 'install', 'uninstall', 'isInstalled', 'assertSafeModel', 'resolvePolicy', 'PickleGuardError'];
    console.log(JSON.stringify(names.map((n) => [n, typeof esm[n], typeof cjs[n]])));
  `;
  const r = node(['--input-type=module', '-e', probe]);
  assert.equal(r.status, 0, r.stderr);
  for (const [name, esmType, cjsType] of JSON.parse(r.stdout) as string[][]) {
    assert.equal(esmType, 'function', `import: ${name}`);
    assert.equal(cjsType, 'function', `require: ${name}`);
  }
});

test('the register entry resolves, and the bin answers --version with the package version', () => {
  const r = node(['--input-type=module', '-e', "console.log(import.meta.resolve('pickle-guard/register'))"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dist\/guard\/register\.js/);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
  const v = node([join(ROOT, pkg.bin['pickle-guard'] ?? '')  , '--version']);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, new RegExp(pkg.version.replace(/\./g, '\\.')));
});

test('npm pack ships dist, the presets, the Python bootstrap and the schemas, and no tests', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  for (const wanted of ['dist/index.js', 'dist/index.d.ts', 'dist/guard/register.js', 'dist/cli/main.js', 'policies/default.yaml', 'schema/policy.schema.json']) {
    assert.ok(files.includes(wanted), `missing ${wanted}`);
  }
  assert.ok(files.some((f) => f.startsWith('python/') && f.endsWith('sitecustomize.py')), 'missing the Python bootstrap');
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('src/')), 'tests or sources packed');
});
