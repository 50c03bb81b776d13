/**
 * Shared helpers for the CLI tests: run the CLI as a child process, and craft pickles
 * byte by byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(ROOT, 'src/cli/main.ts');
/** tsx resolved from the repo, so the CLI can run with any working directory. */
export const TSX = import.meta.resolve('tsx');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
  delete env.PICKLE_GUARD_POLICY;
  if (options.env?.PICKLE_GUARD_POLICY) env.PICKLE_GUARD_POLICY = options.env.PICKLE_GUARD_POLICY;
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'pg-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** `os.system('<cmd>')` via GLOBAL + REDUCE; protocol 0 (no magic) or behind PROTO 2. */
export function osSystemPickle(cmd: string, protocol: 0 | 2 = 2): Buffer {
  return latin1(`${protocol === 2 ? '\x80\x02' : ''}cos\nsystem\n(S'${cmd}'\ntR.`);
}

/** Protocol 4: `__import__('subprocess').check_output` style call through STACK_GLOBAL + memo. */
export function stackGlobalPickle(module: string, name: string, arg: string): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([0x8c, Buffer.byteLength(s)]), Buffer.from(s)]);
  return Buffer.concat([
    Buffer.from([0x80, 0x04]),
    str(module),
    Buffer.from([0x94]), // MEMOIZE
    str(name),
    Buffer.from([0x94, 0x93, 0x94]), // MEMOIZE STACK_GLOBAL MEMOIZE
    str(arg),
    Buffer.from([0x94, 0x85, 0x94, 0x52, 0x94, 0x2e]), // MEMOIZE TUPLE1 MEMOIZE REDUCE MEMOIZE STOP
  ]);
}

/** Protocol 2: `{'a': 1}` (no imports at all). */
export function plainDictPickle(): Buffer {
  return Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71, 0x01, 0x4b, 0x01, 0x73, 0x2e]);
}
