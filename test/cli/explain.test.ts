/** `pickle-guard explain` run as a child process on crafted and real fixture files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { cli, osSystemPickle, ROOT, stackGlobalPickle, tempDir } from './helpers.js';

let dir: string;

before(() => {
  dir = tempDir();
  writeFileSync(join(dir, 'evil.pkl'), osSystemPickle('echo pwned > /tmp/pg-explain-marker'));
  writeFileSync(join(dir, 'memo.pkl'), stackGlobalPickle('subprocess', 'check_output', 'id'));
  // Protocol 2: d = {}; d['k'] = (1, b'hi'); then BUILD on the global os.path (mutates a module).
  writeFileSync(join(dir, 'state.pkl'), Buffer.from("\x80\x02}q\x00U\x01kq\x01K\x01C\x02hi\x86s.", 'latin1'));
});

test('explain shows the call a malicious pickle would make, marks it, and exits 1', () => {
  const r = cli(['explain', 'evil.pkl'], { cwd: dir });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.split('\n');
  const imp = lines.find((l) => l.includes('from os import system'));
  const call = lines.find((l) => l.includes("system('echo pwned > /tmp/pg-explain-marker')"));
  assert.ok(imp?.startsWith('!'), `import line marked: ${imp}`);
  assert.ok(call?.startsWith('!'), `call line marked: ${call}`);
  assert.match(r.stdout, /\^ BLOCKED global-denied: os\.system/);
  assert.match(r.stdout, /\^ BLOCKED calls os\.system: global-denied/);
  assert.match(r.stdout, /^\s+\| result = _v0$/m);
});

test('names that go through STACK_GLOBAL and the memo are resolved in the rendering', () => {
  const r = cli(['explain', 'memo.pkl'], { cwd: dir });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /from subprocess import check_output/);
  assert.match(r.stdout, /_v0 = check_output\('id'\)/);
});

test('a benign pickle renders its values with no marks and exits 0', () => {
  // Protocol 2 with only builtin data: a dict holding a tuple with bytes.
  const r = cli(['explain', 'state.pkl'], { cwd: dir });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /result = \{'k': \(1, b'hi'\)\}/);
  assert.doesNotMatch(r.stdout, /^!/m);
});

test('--disasm lists opcodes with offsets like pickletools.dis, and marks the blocked one', () => {
  const r = cli(['explain', '--disasm', 'evil.pkl'], { cwd: dir });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^ .*\|\s+0: \\x80 PROTO\s+2$/m);
  assert.match(r.stdout, /^!.*\|\s+2: c\s+GLOBAL\s+'os system'$/m);
  assert.match(r.stdout, /\|\s+13: \(\s+MARK/);
  assert.match(r.stdout, /\|\s+14: S\s{8}STRING\s+'echo pwned > \/tmp\/pg-explain-marker'/, 'indented inside the MARK');
  assert.match(r.stdout, /\|\s+53: t\s+TUPLE\s+\(MARK at 13\)/);
  assert.match(r.stdout, /\|\s+55: \.\s+STOP/);
});

/** (offset, opcode name) pairs from the listing, for comparison with pickletools. */
function listed(stdout: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (const m of stdout.matchAll(/\|\s+(\d+): \S+\s+([A-Z_0-9]+)/g)) out.push([Number(m[1]), m[2]!]);
  return out;
}

test('--disasm lists the same opcodes at the same offsets as CPython pickletools.genops', () => {
  const files = [join(dir, 'evil.pkl'), join(dir, 'memo.pkl'), join(dir, 'state.pkl'), ...['enum_member_p2', 'enum_member_p4', 'dataframe', 'scipy_csr', 'series'].map((p) => join(ROOT, `test/fixtures/models/pickle/${p}.pkl`))]
    .filter((f) => existsSync(f));
  assert.equal(files.length, 8);
  for (const file of files) {
    const py = spawnSync('python3', ['-c', 'import pickletools,sys\nfor op,arg,pos in pickletools.genops(open(sys.argv[1],"rb")): print(pos, op.name)', file], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const expected = py.stdout.trim().split('\n').map((l) => { const [pos, name] = l.split(' '); return [Number(pos), name!] as [number, string]; });
    const r = cli(['explain', '--disasm', file]);
    assert.deepEqual(listed(r.stdout), expected, file);
  }
});

test('containers: members are named; --member picks one; an unknown member is a usage error', () => {
  const model = join(ROOT, 'test/fixtures/models/malicious/torch_zip_os_system.pt');
  const r = cli(['explain', model]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /== torch_zip_os_system\/data\.pkl \[torch-zip\] ==/);
  assert.match(r.stdout, /^!.*from os import system/m);
  const one = cli(['explain', model, '--member', 'torch_zip_os_system/data.pkl']);
  assert.equal(one.status, 1);
  const none = cli(['explain', model, '--member', 'nope.pkl']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /no pickle stream in member "nope\.pkl"; streams: torch_zip_os_system\/data\.pkl/);
});

test('explain of a missing file exits 2', () => {
  const r = cli(['explain', 'missing.pkl'], { cwd: dir });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing\.pkl: cannot open \(ENOENT\)/);
});
