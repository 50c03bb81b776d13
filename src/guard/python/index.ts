/**
 * The Node side of Python-child enforcement: prepares the environment of a Python
 * launch so the child enforces the same allow-list in `find_class` (python/pickle_guard_boot),
 * and reads back what the child refused.
 *
 * Per launch: a private temp folder holds the compiled policy (JSON) and the report file
 * (JSON lines the child appends). `afterExit()` reads the report and removes the folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicyForPython } from '../../policy/python.js';
import type { Policy, PolicyMode } from '../../policy/types.js';
import { parseChildReport, type ChildViolation } from './report.js';

export type { ChildViolation, ChildViolationCode } from './report.js';
export { parseChildReport } from './report.js';
export { PythonChildViolationError } from './error.js';
export { pythonFlagsDefeatingGuard } from './flags.js';

/** The folder put first on the child's PYTHONPATH (holds `sitecustomize.py`). Same relative place in src/ and dist/. */
export const PYTHON_BOOT_DIR = fileURLToPath(new URL('../../../python/pickle_guard_boot', import.meta.url));

/** Environment variables the bootstrap reads. */
export const PYTHON_ENV = {
  /** `0` turns Python-side enforcement off (global opt-out; also honoured by the bootstrap). */
  optOut: 'PICKLE_GUARD_PYTHON',
  /** Path to the compiled policy JSON (or the JSON itself). */
  policy: 'PICKLE_GUARD_PYTHON_POLICY',
  /** Path of the JSON-lines report file the child appends violations to. */
  report: 'PICKLE_GUARD_PYTHON_REPORT',
} as const;

export interface PreparePythonChildOptions {
  /** The environment the child would get (not modified). */
  env: NodeJS.ProcessEnv;
  policy: Policy;
  /** The child's working folder: relative `path` is resolved against it. */
  cwd?: string;
  /** The model path the launch is about, if known: path-scoped policy rules apply to it. */
  path?: string;
  /** `false` opts this launch out (the env is returned unchanged). */
  enforce?: boolean;
}

export interface PreparedPythonChild {
  env: NodeJS.ProcessEnv;
  /** What the child (and its Python children) refused. Reads the report once, then cleans up. */
  afterExit(): ChildViolation[];
  /** For long-lived children (bridges): the refusals written since the previous poll, child still running. */
  poll(): ChildViolation[];
}

function optedOut(options: PreparePythonChildOptions): boolean {
  return options.enforce === false || options.env[PYTHON_ENV.optOut] === '0';
}

function prependPath(existing: string | undefined, dir: string): string {
  return existing ? `${dir}${delimiter}${existing}` : dir;
}

/**
 * Returns the environment to launch a Python child with. Throws (`UsageError`) when the
 * policy cannot be compiled for Python: the launch must not go ahead unguarded.
 */
export function preparePythonChild(options: PreparePythonChildOptions): PreparedPythonChild {
  if (optedOut(options)) return { env: { ...options.env }, afterExit: () => [], poll: () => [] };
  const scoped = options.path !== undefined ? resolve(options.cwd ?? process.cwd(), options.path) : undefined;
  const compiled = compilePolicyForPython(options.policy, scoped);
  const dir = mkdtempSync(join(tmpdir(), 'pickle-guard-py-'));
  const policyFile = join(dir, 'policy.json');
  const reportFile = join(dir, 'report.jsonl');
  writeFileSync(policyFile, JSON.stringify(compiled), { mode: 0o600 });
  writeFileSync(reportFile, '', { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    PYTHONPATH: prependPath(options.env.PYTHONPATH, PYTHON_BOOT_DIR),
    [PYTHON_ENV.policy]: policyFile,
    [PYTHON_ENV.report]: reportFile,
  };
  delete env[PYTHON_ENV.optOut];
  let result: ChildViolation[] | undefined;
  let polled = 0; // bytes of complete lines already returned by poll()
  return {
    env,
    afterExit() {
      if (result === undefined) {
        result = readReport(reportFile, compiled.mode);
        rmSync(dir, { recursive: true, force: true });
      }
      return result;
    },
    poll() {
      if (result !== undefined) return [];
      let bytes: Buffer;
      try {
        bytes = readFileSync(reportFile);
      } catch {
        return []; // afterExit will report the missing file
      }
      // Only whole lines: the child may be writing the next one right now.
      const end = bytes.lastIndexOf(0x0a) + 1;
      if (end <= polled) return [];
      const text = bytes.subarray(polled, end).toString('utf8');
      polled = end;
      return parseChildReport(text, compiled.mode);
    },
  };
}

function readReport(file: string, mode: PolicyMode): ChildViolation[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // We created it; a missing report means something removed it. Fail closed.
    return [{ code: 'report-unreadable', module: '', name: '', reason: `the Python child's report ${file} could not be read: ${(err as Error).message}`, message: '', mode }];
  }
  return parseChildReport(text, mode);
}
