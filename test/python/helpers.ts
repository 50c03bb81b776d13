/** Shared helpers for the Python-child tests: policies, crafted pickles, running python3. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../src/policy/index.js';
import type { Policy } from '../../src/policy/types.js';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pg-python-test-'));
}

/** A policy loaded from YAML text, the way users write it. */
export function policyFromYaml(yaml: string): Policy {
  const file = join(tempDir(), 'pickle-guard.yaml');
  writeFileSync(file, yaml);
  return loadPolicyFile(file);
}

export const BASIC_POLICY = `version: 1
allow:
  - collections.OrderedDict
  - builtins.set
  - copyreg._reconstructor
  - builtins.object
  - mylab.**
`;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** `module.name(arg)` as a protocol-`proto` pickle (GLOBAL, BINUNICODE, TUPLE1, REDUCE, STOP). */
export function callPickle(module: string, name: string, arg: string, proto = 2): Buffer {
  const s = Buffer.from(arg, 'utf8');
  return Buffer.concat([
    Buffer.from([0x80, proto]),
    Buffer.from(`c${module}\n${name}\n`, 'latin1'),
    Buffer.from('X', 'latin1'),
    u32(s.length),
    s,
    Buffer.from([0x85, 0x52, 0x2e]),
  ]);
}

/** `module.name()` as a protocol-`proto` pickle (GLOBAL, EMPTY_TUPLE, REDUCE, STOP). */
export function emptyCallPickle(module: string, name: string, proto = 2): Buffer {
  return Buffer.concat([Buffer.from([0x80, proto]), Buffer.from(`c${module}\n${name}\n`, 'latin1'), Buffer.from([0x29, 0x52, 0x2e])]);
}

/** A pickle whose payload creates `marker` when it runs (os.system, denied as dangerous). */
export function touchPickle(marker: string, proto = 2): Buffer {
  return callPickle('os', 'system', `touch '${marker}'`, proto);
}

export interface ChildResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `python -c code args...` with env; stdin optional. */
export function runPython(code: string, args: string[], env: NodeJS.ProcessEnv, options: { python?: string; input?: string; cwd?: string } = {}): ChildResult {
  const r = spawnSync(options.python ?? 'python3', ['-c', code, ...args], {
    env,
    encoding: 'utf8',
    input: options.input ?? '',
    cwd: options.cwd,
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Python that loads argv[1] with `loader` and prints LOADED/BLOCKED/ERROR plus details. */
export function loaderScript(loader: string): string {
  return `
import sys, pickle
path = sys.argv[1]
try:
    obj = ${loader}
    print("LOADED", type(obj).__name__)
except pickle.UnpicklingError as e:
    print("BLOCKED", type(e).__name__, getattr(e, "code", ""), str(e))
except Exception as e:
    print("ERROR", type(e).__name__, str(e))
`;
}
