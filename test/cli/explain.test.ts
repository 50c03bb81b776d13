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
  // The listing lines are pickletools.dis's own layout, behind a one-character marker column.
  const body = r.stdout.split('\n').filter((l) => /^[ !] +\d+: /.test(l));
  assert.deepEqual(body, [
    '      0: \\x80 PROTO      2',
    "!     2: c    GLOBAL     'os system'",
    '     13: (    MARK',
    "     14: S        STRING     'echo pwned > /tmp/pg-explain-marker'",
    '     53: t        TUPLE      (MARK at 13)',
    '     54: R    REDUCE',
    '     55: .    STOP',
  ]);
  assert.match(r.stdout, /^ {9}\^ BLOCKED global-denied: os\.system/m);
});

/** The listing lines (and the protocol line) without the two-character marker column. */
function listing(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => /^[ !] +\d+: /.test(l) || /\| highest protocol|^ {2}highest protocol/.test(l))
    .map((l) => l.replace(/^.*\| /, '').slice(/^[ !] /.test(l) ? 2 : 0));
}

test('--disasm prints exactly what CPython pickletools.dis prints, line for line', () => {
  const files = [
    join(dir, 'evil.pkl'),
    join(dir, 'memo.pkl'),
    join(dir, 'state.pkl'),
    join(ROOT, 'examples/models/malicious.pkl'),
    ...['enum_member_p2', 'enum_member_p4', 'dataframe', 'scipy_csr', 'series'].map((p) => join(ROOT, `test/fixtures/models/pickle/${p}.pkl`)),
  ];
  for (const file of files) {
    assert.ok(existsSync(file), file);
    const py = spawnSync('python3', ['-c', 'import pickletools,sys\npickletools.dis(open(sys.argv[1],"rb"))', file], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const r = cli(['explain', '--disasm', file]);
    assert.deepEqual(listing(r.stdout), py.stdout.trimEnd().split('\n'), file);
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

test('BUILD on a module renders as an attribute overwrite, marked mutates-global', () => {
  // os.path.__setstate__-less BUILD: {'join': builtins.print} applied to the module os.path.
  writeFileSync(join(dir, 'mutate.pkl'), Buffer.from('\x80\x02cos\npath\n}U\x04joincbuiltins\nprint\nsb.', 'latin1'));
  const r = cli(['explain', 'mutate.pkl'], { cwd: dir });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^!\s+35 \| path\.join = print\n\s+\|\s+\^ BLOCKED mutates-global/m);
});

test('a real torch state dict (torch 1.13 fixture) is explained member by member and allowed', () => {
  const r = cli(['explain', join(ROOT, 'test/fixtures/models/torch/state_dict.pt')]);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /== state_dict\/data\.pkl \[torch-zip\] ==/);
  assert.match(r.stdout, /from torch\._utils import _rebuild_tensor_v2/);
  assert.match(r.stdout, /_v2 = _rebuild_tensor_v2\(persistent_load\(\('storage', FloatStorage, '0', 'cpu', 18\)\), 0, \(2, 1, 3, 3\), \(9, 9, 3, 1\), False, _v1\)/);
  assert.match(r.stdout, /_v0\['seq\.0\.weight'\] = _v2/);
  assert.doesNotMatch(r.stdout, /^!/m);
});

test('protocol 0 INST: the call is shown once, its reason on the import line; getattr results keep their variable', () => {
  writeFileSync(join(dir, 'inst.pkl'), Buffer.from("(S'id'\nios\nsystem\n.", 'latin1'));
  const inst = cli(['explain', 'inst.pkl'], { cwd: dir });
  assert.equal(inst.status, 1);
  assert.match(inst.stdout, /^!\s+7 \| from os import system\n\s+\|\s+\^ BLOCKED global-denied/m);
  assert.match(inst.stdout, /^!\s+7 \| _v0 = system\('id'\)\n\s+\|\s+\^ BLOCKED calls os\.system: global-denied\n\s+\| result = _v0$/m);
  // builtins.getattr(os.system, 'name'), protocol 4 with STACK_GLOBAL
  const ga = Buffer.concat([
    Buffer.from([0x80, 0x04, 0x8c, 0x08]), Buffer.from('builtins'), Buffer.from([0x8c, 0x07]), Buffer.from('getattr'), Buffer.from([0x93]),
    Buffer.from([0x8c, 0x02]), Buffer.from('os'), Buffer.from([0x8c, 0x06]), Buffer.from('system'), Buffer.from([0x93]),
    Buffer.from([0x8c, 0x04]), Buffer.from('name'), Buffer.from([0x86, 0x52, 0x2e]),
  ]);
  writeFileSync(join(dir, 'getattr.pkl'), ga);
  const r = cli(['explain', 'getattr.pkl'], { cwd: dir });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /_v0 = getattr\(system, 'name'\)/);
  assert.match(r.stdout, /\| result = _v0$/m);
});

test('explain of a missing file exits 2', () => {
  const r = cli(['explain', 'missing.pkl'], { cwd: dir });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing\.pkl: cannot open \(ENOENT\)/);
});

test('bytes literals are copies: a later window read of the file does not overwrite them', () => {
  // A stored zip: a.pkl holds b'AAAA...', then 3 MiB of stored padding (more than the file
  // source's 1 MiB window), then b.pkl holding b'BBBB...'. Reading b.pkl refills the
  // window that a.pkl's literal was a view of.
  const zip = join(dir, 'two.zip');
  const py = spawnSync('python3', ['-c', [
    'import pickle, sys, zipfile',
    'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:',
    '    z.writestr("a.pkl", pickle.dumps(b"A" * 64, protocol=4))',
    '    z.writestr("pad.bin", bytes(3 << 20))',
    '    z.writestr("b.pkl", pickle.dumps(b"B" * 64, protocol=4))',
  ].join('\n'), zip], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const r = cli(['explain', zip]);
  assert.notEqual(r.status, 2, r.stderr);
  const a = r.stdout.slice(r.stdout.indexOf('== a.pkl'), r.stdout.indexOf('== b.pkl'));
  const b = r.stdout.slice(r.stdout.indexOf('== b.pkl'));
  assert.match(a, /result = b'A{64}'/);
  assert.match(b, /result = b'B{64}'/);
});

test('a torch legacy class that comes from persistent_load is shown resolving (real whole_model.legacy.pt, torch 1.13)', () => {
  const r = cli(['explain', join(ROOT, 'test/fixtures/models/torch/whole_model.legacy.pt')]);
  assert.equal(r.status, 1, r.stderr);
  // The id names the class; the line says what persistent_load turns it into, then the call.
  assert.match(r.stdout, /^ +\d+ \| _pid0 = persistent_load\(\('module', TinyNet, '[^\n]*\)\)  # -> TinyNet$/m);
  assert.match(r.stdout, /^! +\d+ \| _v0 = TinyNet\.__new__\(TinyNet\)\n +\| +\^ BLOCKED calls mylab\.models\.TinyNet: global-not-allowed/m);
  // Storages stay opaque and inline: no _pid line for them.
  assert.doesNotMatch(r.stdout, /_pid\d+ = persistent_load\(\('storage'/);
  assert.match(r.stdout, /persistent_load\(\('storage', FloatStorage, '\d+', 'cpu', 18, None\)\)/);
});

test("a joblib-shaped pickle also shows plain pickle.load's reading when that one calls something joblib's does not", () => {
  // Bypass corpus case joblib-wrapper-in-plain-pickle: joblib skips the "array" bytes,
  // pickle.load runs them (posix.system('id')).
  const r = cli(['explain', join(ROOT, 'test/fixtures/bypasses/wrapper_plain.pkl')]);
  assert.equal(r.status, 1, r.stderr);
  const at = r.stdout.indexOf('# the same bytes read by plain pickle.load');
  assert.ok(at > 0, r.stdout);
  assert.doesNotMatch(r.stdout.slice(0, at), /system\('id'\)/);
  assert.match(r.stdout.slice(at), /^! +\d+ \| _v2 = system\('id'\)\n +\| +\^ BLOCKED calls posix\.system: global-denied/m);
});

test('a real joblib file (joblib 1.2) gets no second reading section: plain pickle.load does nothing more there', () => {
  const r = cli(['explain', join(ROOT, 'test/fixtures/models/joblib/bundle.joblib')]);
  assert.notEqual(r.status, 2, r.stderr);
  assert.match(r.stdout, /NumpyArrayWrapper/);
  assert.doesNotMatch(r.stdout, /read by plain pickle\.load/);
});
