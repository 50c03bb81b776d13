/**
 * Shared set-up for the guard tests: every app runs in its own Node process against the
 * BUILT package (dist/), as users run it, so hooks never leak between tests.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanBytes } from '../../src/scan/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const REGISTER = join(ROOT, 'dist/guard/register.js');
export const GUARD_INDEX = join(ROOT, 'dist/guard/index.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function fresh(): boolean {
  return existsSync(REGISTER) && statSync(REGISTER).mtimeMs >= newestSource(join(ROOT, 'src'));
}

/**
 * Builds dist/ when it is older than src/ (tsc also emits when another area has type
 * errors). Test files run in parallel: one builds under a lock folder, the others wait, so
 * no app starts while dist/ is being rewritten.
 */
export function ensureBuilt(): void {
  const lock = join(ROOT, 'node_modules/.pickle-guard-test-build.lock');
  for (let waited = 0; !fresh(); waited++) {
    try {
      mkdirSync(lock);
    } catch {
      if (waited > 600) throw new Error(`stale build lock ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // another test file is building
      continue;
    }
    try {
      if (!fresh()) spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT });
      // tsc keeps the old mtime of unchanged outputs only for unchanged inputs: mark the build time.
      if (existsSync(REGISTER)) utimesSync(REGISTER, new Date(), new Date());
    } finally {
      rmdirSync(lock);
    }
    break;
  }
  if (!existsSync(REGISTER)) throw new Error('build did not produce dist/guard/register.js');
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** Protocol 2, no imports at all: `[1, 2]`. Allowed by any allow-list. */
export const BENIGN_PICKLE = Buffer.from('\x80\x02]q\x00(K\x01K\x02e.', 'latin1');

/** Protocol 2: `posix.system(cmd)` via GLOBAL + REDUCE, crafted byte by byte. */
export function evilPickle(cmd: string): Buffer {
  const text = Buffer.from(cmd, 'utf8');
  return Buffer.concat([
    Buffer.from('\x80\x02cposix\nsystem\nq\x00', 'latin1'),
    Buffer.from([0x58]), // BINUNICODE
    u32le(text.length),
    text,
    Buffer.from('\x85R.', 'latin1'), // TUPLE1 REDUCE STOP
  ]);
}

export interface Workspace {
  dir: string;
  policy: string;
  good: string;
  evil: string;
  /** The malicious pickle under a non-artifact name (caught by the content sniff). */
  evilRenamed: string;
  text: string;
  /** The file the malicious payload would create. */
  marker: string;
}

export function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'pg-guard-'));
  const marker = join(dir, 'PAYLOAD-RAN');
  const ws: Workspace = {
    dir,
    policy: join(dir, 'pickle-guard.yaml'),
    good: join(dir, 'good.pkl'),
    evil: join(dir, 'evil.pkl'),
    evilRenamed: join(dir, 'evil-notes.txt'),
    text: join(dir, 'notes.txt'),
    marker,
  };
  writeFileSync(ws.policy, 'version: 1\nallow:\n  - collections.OrderedDict\n');
  writeFileSync(ws.good, BENIGN_PICKLE);
  writeFileSync(ws.evil, evilPickle(`touch ${marker}`));
  writeFileSync(ws.evilRenamed, evilPickle(`touch ${marker}`));
  writeFileSync(ws.text, 'The quick brown fox\n'.repeat(50));
  return ws;
}

/**
 * True once the real pickle machine is in the build: until then the placeholder blocks
 * every pickle (fail closed), and tests about benign models are skipped with that reason.
 */
export function machineReady(): boolean {
  return scanBytes(BENIGN_PICKLE, { policy: [] }).verdict === 'allowed';
}
export const MACHINE_PENDING = 'the pickle machine is still the fail-closed placeholder: every model is blocked';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every stdout line that parses as JSON. */
  lines: Array<Record<string, unknown>>;
}

export function runNode(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const env = { ...process.env, ...options.env };
  delete env.NODE_OPTIONS; // the test runner's own loader options must not leak into the app
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const lines: Array<Record<string, unknown>> = [];
  for (const line of r.stdout.split('\n')) {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed && typeof parsed === 'object') lines.push(parsed as Record<string, unknown>);
    } catch {
      // not a result line
    }
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines };
}

/** Environment pointing the guard at the workspace policy. */
export function guardEnv(ws: Workspace, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PICKLE_GUARD_POLICY: ws.policy, PICKLE_GUARD_MODE: undefined, ...extra };
}
