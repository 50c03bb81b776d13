/** `pickle-guard scan` run as a child process on fixture trees built in a temp dir. */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { cli, osSystemPickle, plainDictPickle, stackGlobalPickle, tempDir } from './helpers.js';
import { errorsOf, reportValidator, sarifValidator } from './schemas.js';

let tree: string;

before(() => {
  tree = tempDir();
  writeFileSync(join(tree, 'evil.pkl'), osSystemPickle('touch /tmp/pickle-guard-never'));
  mkdirSync(join(tree, 'nested/deeper'), { recursive: true });
  writeFileSync(join(tree, 'nested/deeper/weights.bin'), stackGlobalPickle('subprocess', 'check_output', 'id'));
  writeFileSync(join(tree, 'nested/plain.data'), plainDictPickle()); // protocol 2: sniffed by content
  writeFileSync(join(tree, 'notes.txt'), 'not a model\n');
  writeFileSync(join(tree, 'nested/proto0.txt'), osSystemPickle('id', 0)); // protocol 0 has no magic
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

test('directories: content-sniffed files are scanned, others skipped, .git and linked directories not walked', () => {
  const { status, doc } = scanJson(['.']);
  assert.equal(status, 1);
  assert.deepEqual(
    doc.results.map((r) => r.path),
    ['evil.pkl', 'nested/deeper/weights.bin', 'nested/plain.data'],
  );
});

test('--include adds files by glob (protocol 0 has no magic), --exclude removes them', () => {
  const inc = scanJson(['.', '--include', '*.txt', '--exclude', 'notes.txt']);
  assert.deepEqual(
    inc.doc.results.map((r) => r.path),
    ['evil.pkl', 'nested/deeper/weights.bin', 'nested/plain.data', 'nested/proto0.txt'],
  );
  const exc = scanJson(['.', '--exclude', 'nested/**']);
  assert.deepEqual(exc.doc.results.map((r) => r.path), ['evil.pkl']);
});

test('JSON output validates against schema/report.schema.json', () => {
  const { doc } = scanJson(['.', 'missing.pkl']);
  const v = reportValidator();
  assert.equal(v(doc), true, errorsOf(v));
  assert.equal(doc.results.length, 4);
});

test('--jobs 2 (worker threads) gives the same results as --jobs 1', () => {
  const one = scanJson(['.', '--jobs', '1', '--include', '*.txt']);
  const two = scanJson(['.', '--jobs', '2', '--include', '*.txt']);
  assert.equal(two.status, one.status);
  assert.deepEqual(two.doc, one.doc);
  assert.equal(two.doc.results.length, 5);
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
