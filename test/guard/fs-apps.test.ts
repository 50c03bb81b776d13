/**
 * Apps in their own Node processes read benign and malicious files through every wrapped
 * fs API, with the guard loaded by --require, --import and NODE_OPTIONS, as CJS and ESM.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, FIXTURES, ROOT, guardEnv, MACHINE_PENDING, machineReady, REGISTER, runNode, workspace, type Run, type Workspace } from './helpers.js';

let ws: Workspace;
before(() => {
  ensureBuilt();
  ws = workspace();
});

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const APPS = ['fs-app.cjs', 'fs-app.mjs'] as const;
const LOADERS = {
  '--require': (app: string) => ({ args: ['--require', REGISTER, join(FIXTURES, app)], env: {} }),
  '--import': (app: string) => ({ args: ['--import', REGISTER, join(FIXTURES, app)], env: {} }),
  NODE_OPTIONS: (app: string) => ({ args: [join(FIXTURES, app)], env: { NODE_OPTIONS: `--require ${REGISTER}` } }),
};

function run(loader: keyof typeof LOADERS, app: string, file: string, extra: NodeJS.ProcessEnv = {}): Run {
  const how = LOADERS[loader](app);
  const r = runNode([...how.args, file], { env: guardEnv(ws, { ...how.env, ...extra }), cwd: ws.dir });
  assert.ok(r.lines.length >= 12, `app printed too few results (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

function assertAllIntact(r: Run, file: string): void {
  const want = sha(file);
  for (const line of r.lines) assert.deepEqual({ api: line.api, ok: line.ok, sha: line.sha }, { api: line.api, ok: true, sha: want });
}

function assertAllBlocked(r: Run): void {
  for (const line of r.lines) {
    assert.equal(line.ok, false, `${String(line.api)} was not blocked`);
    assert.equal(line.code, 'ERR_PICKLE_GUARD_VIOLATION', `${String(line.api)}: ${JSON.stringify(line)}`);
    assert.equal(line.name, 'ViolationError');
    const globals = line.globals as Array<{ module: string; name: string; offset: number }>;
    assert.deepEqual(
      globals.map((g) => `${g.module}.${g.name}@${g.offset}`),
      ['posix.system@2'],
      `${String(line.api)} names the offending global and its offset`,
    );
  }
}

test('control: without the guard every API reads the malicious file', () => {
  for (const app of APPS) {
    const r = runNode([join(FIXTURES, app), ws.evil], { cwd: ws.dir });
    assertAllIntact(r, ws.evil);
  }
});

for (const loader of Object.keys(LOADERS) as Array<keyof typeof LOADERS>) {
  for (const app of APPS) {
    test(`${loader} ${app}: a plain text file comes back intact through every API`, () => {
      assertAllIntact(run(loader, app, ws.text), ws.text);
    });
    test(`${loader} ${app}: a malicious .pkl is refused by every API with ViolationError`, () => {
      assertAllBlocked(run(loader, app, ws.evil));
    });
    test(`${loader} ${app}: the same pickle renamed to .txt is caught by the content sniff`, () => {
      assertAllBlocked(run(loader, app, ws.evilRenamed));
    });
    test(`${loader} ${app}: a benign model comes back byte-identical`, (t) => {
      if (!machineReady()) return t.skip(MACHINE_PENDING);
      assertAllIntact(run(loader, app, ws.good), ws.good);
    });
  }
}

test('report mode: malicious reads proceed and each one emits the violation as a warning', () => {
  const r = run('--require', 'fs-app.cjs', ws.evil, { PICKLE_GUARD_MODE: 'report' });
  assertAllIntact(r, ws.evil);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('ViolationError: pickle-guard would block (report mode)'));
  assert.ok(warnings.length >= r.lines.length, `one warning per read expected:\n${r.stderr}`);
});

test('createReadStream with a virtual { fs }: scanned through that fs, refused when it cannot be read', (t) => {
  const r = runNode([join(FIXTURES, 'virtual-fs-app.mjs'), ws.good, ws.evil, ws.policy], { cwd: ws.dir });
  const seen = Object.fromEntries(r.lines.map((l) => [l.name as string, l.ok ? l.sha : l.code]));
  assert.equal(seen['malicious through memfs'], 'ERR_PICKLE_GUARD_VIOLATION', r.stderr);
  assert.equal(seen['malicious renamed through memfs (sniffed via its readSync)'], 'ERR_PICKLE_GUARD_VIOLATION');
  assert.equal(seen['artifact name through an fs the guard cannot read'], 'ERR_PICKLE_GUARD_USAGE');
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  assert.equal(seen['benign through memfs'], sha(ws.good));
});

test('a pipe under a model name: its bytes are scanned by readFile, and opening it is refused', () => {
  const fifo = join(ws.dir, 'pipe.pkl');
  // Protocol 0 (no PROTO byte): only the name can make the guard scan it.
  const p0 = join(ROOT, 'test/fixtures/models/malicious/pickle_posix_system_p0.pkl');
  const app = [
    "const fs = require('node:fs');",
    "const cp = require('node:child_process');",
    'const [fifo, evil] = process.argv.slice(1);',
    "cp.execFileSync('mkfifo', [fifo]);",
    "const writer = cp.spawn('sh', ['-c', 'cat \"$0\" > \"$1\"', evil, fifo]);",
    'const out = {};',
    "fs.readFile(fifo, (e) => {",
    "  out.readFile = e ? e.code : 'read';",
    "  try { fs.closeSync(fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)); out.openSync = 'opened'; } catch (e2) { out.openSync = e2.code; }",
    '  console.log(JSON.stringify(out));',
    '});',
  ].join('\n');
  const r = runNode(['--require', REGISTER, '-e', app, fifo, p0], { env: guardEnv(ws), cwd: ws.dir });
  assert.deepEqual(r.lines, [{ readFile: 'ERR_PICKLE_GUARD_VIOLATION', openSync: 'ERR_PICKLE_GUARD_IO' }], r.stderr);
});
