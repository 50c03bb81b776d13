/** `pickle-guard scan` run as a child process on fixture trees built in a temp dir. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { cli, osSystemPickle, plainDictPickle, ROOT, stackGlobalPickle, tempDir } from './helpers.js';
import { errorsOf, reportValidator, sarifValidator } from './schemas.js';

let tree: string;

before(() => {
  tree = tempDir();
  writeFileSync(join(tree, 'evil.pkl'), osSystemPickle('touch /tmp/pickle-guard-never'));
  mkdirSync(join(tree, 'nested/deeper'), { recursive: true });
  writeFileSync(join(tree, 'nested/deeper/weights.bin'), stackGlobalPickle('subprocess', 'check_output', 'id'));
  writeFileSync(join(tree, 'nested/plain.data'), plainDictPickle()); // protocol 2: sniffed by content
  writeFileSync(join(tree, 'notes.txt'), 'not a model\n');
  writeFileSync(join(tree, 'nested/proto0.txt'), osSystemPickle('id', 0)); // protocol 0: sniffed by its GLOBAL line
  writeFileSync(join(tree, 'nested/readme.md'), '# hello\n');
  mkdirSync(join(tree, '.git'));
  writeFileSync(join(tree, '.git/obj'), plainDictPickle());
  symlinkSync(join(tree, 'nested'), join(tree, 'loop')); // a link to a directory is not followed
});

interface Doc {
  summary: { files: number; allowed: number; blocked: number; errors: number };
  results: Array<{ path: string; verdict: string; findings: Array<{ code: string; module?: string; name?: string }>; error?: { code: string } }>;
}

function scanJson(args: string[]): { status: number | null; doc: Doc; stderr: string } {
  const r = cli(['scan', '--json', ...args], { cwd: tree });
  return { status: r.status, doc: JSON.parse(r.stdout) as Doc, stderr: r.stderr };
}

test('--help and --version print and exit 0; no command or a bad option exits 2', () => {
  const help = cli(['scan', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /SYNOPSIS\n {2}pickle-guard scan PATH\.\.\./);
  assert.match(help.stdout, /EXIT STATUS/);
  const version = cli(['--version']);
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(cli([]).status, 2);
  const bad = cli(['scan', '--frobnicate', '.']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Unknown option '--frobnicate'/);
  assert.equal(cli(['scan']).status, 2, 'scan without PATH');
  assert.equal(cli(['scan', '--format', 'xml', '.']).status, 2);
  assert.equal(cli(['scan', '--jobs', '0', '.']).status, 2);
  assert.equal(cli(['nonsense']).status, 2);
});

test('a malicious pickle is blocked with exit 1, and the text names the finding', () => {
  const r = cli(['scan', 'evil.pkl'], { cwd: tree });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^blocked {2}evil\.pkl/m);
  assert.match(r.stdout, /1 file scanned: 0 allowed, 1 blocked, 0 errors/);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no color when piped');
});

test('FORCE_COLOR colors the text output; NO_COLOR wins', () => {
  const colored = cli(['scan', 'evil.pkl'], { cwd: tree, env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.match(colored.stdout, /\x1b\[31mblocked/);
  const plain = cli(['scan', 'evil.pkl'], { cwd: tree, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
  assert.doesNotMatch(plain.stdout, /\x1b\[/);
});

test('a missing path exits 2 even when other files are blocked', () => {
  const { status, doc } = scanJson(['evil.pkl', 'missing.pkl']);
  assert.equal(status, 2);
  assert.deepEqual(doc.summary, { files: 2, allowed: 0, blocked: 1, errors: 1 });
  const missing = doc.results.find((r) => r.path === 'missing.pkl');
  assert.equal(missing?.verdict, 'error');
  assert.equal(missing?.error?.code, 'ERR_PICKLE_GUARD_IO');
});

const SNIFFED = ['evil.pkl', 'nested/deeper/weights.bin', 'nested/plain.data', 'nested/proto0.txt'];

test('a FIFO named on the command line is refused (exit 2), not opened; in a walk it is skipped', () => {
  const dir = tempDir();
  const mk = spawnSync('mkfifo', [join(dir, 'pipe.pkl')]);
  assert.equal(mk.status, 0, 'mkfifo');
  writeFileSync(join(dir, 'ok.pkl'), plainDictPickle());
  const r = cli(['scan', '--json', 'pipe.pkl', 'ok.pkl'], { cwd: dir });
  assert.equal(r.status, 2);
  const doc = JSON.parse(r.stdout) as Doc;
  assert.deepEqual(doc.results.map((x) => [x.path, x.verdict]), [['pipe.pkl', 'error'], ['ok.pkl', 'allowed']]);
  const walk = cli(['scan', '--json', '.'], { cwd: dir });
  assert.equal(walk.status, 0);
  assert.deepEqual((JSON.parse(walk.stdout) as Doc).results.map((x) => x.path), ['ok.pkl']);
});

test('directories: content-sniffed files are scanned whatever their name, text skipped, .git and linked directories not walked', () => {
  const { status, doc } = scanJson(['.']);
  assert.equal(status, 1);
  assert.deepEqual(doc.results.map((r) => r.path), SNIFFED);
  const proto0 = doc.results.find((r) => r.path === 'nested/proto0.txt');
  assert.equal(proto0?.verdict, 'blocked');
  assert.ok(proto0?.findings.some((f) => f.module === 'os' && f.name === 'system'));
});

test('--include adds files by glob, --exclude removes them (and wins)', () => {
  const inc = scanJson(['.', '--include', '*.{txt,md}', '--exclude', 'notes.txt']);
  assert.deepEqual(inc.doc.results.map((r) => r.path), [...SNIFFED.slice(0, 3), 'nested/proto0.txt', 'nested/readme.md']);
  const md = inc.doc.results.find((r) => r.path === 'nested/readme.md');
  assert.equal(md?.verdict, 'allowed', 'text that fails before any import can run is allowed (not-a-pickle)');
  assert.ok(md?.findings.every((f) => f.code === 'not-a-pickle' || f.code === 'no-pickle'));
  const exc = scanJson(['.', '--exclude', 'nested/**']);
  assert.deepEqual(exc.doc.results.map((r) => r.path), ['evil.pkl']);
});

test('a benign pickle is allowed with exit 0, and globals are reported as CPython resolves them', () => {
  const { status, doc } = scanJson(['nested/plain.data']);
  assert.equal(status, 0);
  assert.equal(doc.results[0]?.verdict, 'allowed');
  const sg = scanJson(['nested/deeper/weights.bin']);
  assert.equal(sg.status, 1);
  const g = (sg.doc.results[0] as unknown as { globals: Array<{ module: string; name: string; opcode: string; uses: string[] }> }).globals;
  assert.deepEqual(g.map((x) => [x.module, x.name, x.opcode, x.uses]), [['subprocess', 'check_output', 'STACK_GLOBAL', ['call:REDUCE']]]);
});

test('--policy: a project file allows what it lists; an invalid one exits 2 and names the line', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'ok.yaml'), 'version: 1\nextends: [default]\nallow:\n  - mylab.Net\n');
  writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nallow:\n  - mylab.Net\nbogus: 1\n');
  // NEWOBJ of mylab.Net with no arguments, protocol 2.
  writeFileSync(join(dir, 'net.pkl'), Buffer.from('\x80\x02cmylab\nNet\n)\x81.', 'latin1'));
  assert.equal(cli(['scan', 'net.pkl'], { cwd: dir }).status, 1, 'the default preset does not know mylab.Net');
  const ok = cli(['scan', '--policy', 'ok.yaml', 'net.pkl'], { cwd: dir });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /Policy: .*ok\.yaml/);
  const viaEnv = cli(['scan', 'net.pkl'], { cwd: dir, env: { PICKLE_GUARD_POLICY: join(dir, 'ok.yaml') } });
  assert.equal(viaEnv.status, 0);
  const bad = cli(['scan', '--policy', 'bad.yaml', 'net.pkl'], { cwd: dir });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad\.yaml:4/);
});

test('JSON output validates against schema/report.schema.json', () => {
  const { doc } = scanJson(['.', 'missing.pkl']);
  const v = reportValidator();
  assert.equal(v(doc), true, errorsOf(v));
  assert.equal(doc.results.length, SNIFFED.length + 1);
});

test('--jobs 2 (worker threads) gives the same results as --jobs 1', () => {
  const one = scanJson(['.', '--jobs', '1', '--include', '*.txt']);
  const two = scanJson(['.', '--jobs', '2', '--include', '*.txt']);
  assert.equal(two.status, one.status);
  assert.deepEqual(two.doc, one.doc);
  assert.equal(two.doc.results.length, SNIFFED.length + 1); // notes.txt via --include
  const textOne = cli(['scan', '.', '--jobs', '1', '--include', '*.txt', 'missing.pkl'], { cwd: tree });
  const textTwo = cli(['scan', '.', '--jobs', '2', '--include', '*.txt', 'missing.pkl'], { cwd: tree });
  assert.equal(textTwo.stdout, textOne.stdout, 'text results stream in input order whatever the scheduling');
  assert.match(textOne.stdout, /^error {4}missing\.pkl\n(.*\n)*blocked {2}evil\.pkl/);
});

test('SARIF output validates against the SARIF 2.1.0 schema, with rule ids, members and offsets', () => {
  const r = cli(['scan', '--format', 'sarif', '.', 'missing.pkl'], { cwd: tree });
  assert.equal(r.status, 2);
  const log = JSON.parse(r.stdout) as any;
  const v = sarifValidator();
  assert.equal(v(log), true, errorsOf(v));
  const run = log.runs[0];
  const ruleIds: string[] = run.tool.driver.rules.map((x: { id: string }) => x.id);
  assert.ok(run.results.length > 0);
  for (const res of run.results) {
    assert.equal(ruleIds[res.ruleIndex], res.ruleId);
    assert.equal(res.locations[0].physicalLocation.region.startLine, 1);
  }
  const evil = run.results.filter((x: any) => x.locations[0].physicalLocation.artifactLocation.uri === 'evil.pkl');
  assert.ok(evil.length > 0);
  assert.ok(evil.every((x: any) => typeof x.locations[0].physicalLocation.region.byteOffset === 'number'));
  assert.equal(run.invocations[0].executionSuccessful, false, 'the missing file is reported');
  assert.match(run.invocations[0].toolExecutionNotifications[0].message.text, /missing\.pkl/);
});

test('SARIF for a finding inside a container member: the member is a logical location, the offset is in properties', () => {
  const model = join(ROOT, 'test/fixtures/models/malicious/torch_zip_os_system.pt');
  const r = cli(['scan', '--format', 'sarif', model]);
  assert.equal(r.status, 1);
  const log = JSON.parse(r.stdout) as any;
  const v = sarifValidator();
  assert.equal(v(log), true, errorsOf(v));
  const res = log.runs[0].results.find((x: any) => x.ruleId === 'global-denied');
  assert.ok(res, 'a global-denied result');
  const loc = res.locations[0];
  assert.equal(loc.logicalLocations[0].name, 'torch_zip_os_system/data.pkl');
  assert.equal(loc.physicalLocation.region.byteOffset, undefined, 'a member offset is not a file offset');
  assert.equal(typeof res.properties.byteOffset, 'number');
  assert.equal(res.properties.member, 'torch_zip_os_system/data.pkl');
  assert.equal(res.properties.module, 'os');
  assert.match(loc.physicalLocation.artifactLocation.uri, /^test\/fixtures\/models\/malicious\/torch_zip_os_system\.pt$/);
});
