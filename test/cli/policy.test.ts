/** `pickle-guard policy check|suggest` as child processes. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parse } from 'yaml';
import { cli, osSystemPickle, tempDir } from './helpers.js';

let dir: string;
/** NEWOBJ of a user class with no arguments, protocol 2. */
const userClass = (module: string, name: string) => Buffer.from(`\x80\x02c${module}\n${name}\n)\x81.`, 'latin1');

before(() => {
  dir = tempDir();
  mkdirSync(join(dir, 'trusted'));
  writeFileSync(join(dir, 'trusted/net.pkl'), userClass('mylab.models', 'TinyNet'));
  writeFileSync(join(dir, 'trusted/head.pkl'), userClass('mylab.heads', 'Head'));
  writeFileSync(join(dir, 'evil.pkl'), osSystemPickle('id'));
  writeFileSync(join(dir, 'package.json'), '{}'); // stops policy discovery here
});

test('policy check prints the effective policy as YAML and exits 0', () => {
  const r = cli(['policy', 'check'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const doc = parse(r.stdout) as { version: number; allow: Array<{ name: string } | string> };
  assert.equal(doc.version, 1);
  const names = doc.allow.map((e) => (typeof e === 'string' ? e : e.name));
  assert.ok(names.includes('collections.OrderedDict'));
  assert.ok(names.includes('torch._utils._rebuild_tensor_v2'));
  assert.match(r.stderr, /preset:default is valid/);
});

test('policy check of an invalid file exits 2 naming file, line and column', () => {
  writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nallow:\n  - ok.Name\nalow:\n  - typo.Name\n');
  const r = cli(['policy', 'check', 'bad.yaml'], { cwd: dir });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.yaml:4:1/);
  assert.equal(r.stdout, '');
});

test('policy suggest prints the allow entries trusted models need; they make the scan pass', () => {
  const r = cli(['policy', 'suggest', 'trusted'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const doc = parse(r.stdout) as { allow: string[] };
  assert.deepEqual(doc.allow, ['mylab.heads.Head', 'mylab.models.TinyNet']);
  assert.equal(cli(['scan', 'trusted'], { cwd: dir }).status, 1, 'blocked before');
  writeFileSync(join(dir, 'pickle-guard.yaml'), `version: 1\nextends: [default]\n${r.stdout}`);
  const after = cli(['scan', 'trusted'], { cwd: dir });
  assert.equal(after.status, 0, after.stdout);
  assert.match(after.stdout, /pickle-guard\.yaml/);
});

test('policy suggest refuses dangerous names with a warning and exits 1', () => {
  const r = cli(['policy', 'suggest', 'evil.pkl', '--policy', 'preset:default'], { cwd: dir });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /warning: not suggesting os\.system: known dangerous/);
  assert.doesNotMatch(r.stdout, /os\.system/);
});

test('policy without a subcommand, and policy --help', () => {
  assert.equal(cli(['policy'], { cwd: dir }).status, 2);
  assert.equal(cli(['policy', 'frob'], { cwd: dir }).status, 2);
  const help = cli(['policy', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /pickle-guard policy suggest PATH\.\.\./);
});
