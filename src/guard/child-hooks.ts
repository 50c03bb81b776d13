/**
 * The child_process wrappers. `ChildProcess.prototype.spawn` is the one place every async
 * launch passes (spawn, exec, execFile, fork and cluster.fork; `shell: true` arrives there
 * already as `/bin/sh -c ...`); spawnSync, execSync and execFileSync each go straight to
 * the binding, so each is wrapped.
 *
 * On a violation no process is created and the launch call THROWS synchronously, for every
 * API (like Node's own argument errors). Why not an 'error' event: a half-built
 * ChildProcess without stdio breaks callers that touch `child.stdout` right after spawn.
 * exec/execFile's promisified forms (their `util.promisify.custom`, which Node defines
 * non-configurable) call the original exec, so they reach the prototype hook too.
 */
import childProcess, { ChildProcess } from 'node:child_process';
import { opendirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { isLoadedPolicy } from '../policy/index.js';
import { checkPath } from './check.js';
import { childEnv } from './env.js';
import { commandsOf, isPythonInterpreter, pathCandidates, type Command } from './launchers.js';
import { findProgram, shebangOf } from './shebang.js';
import { replaceProperty, type AnyFunction } from './patch.js';
import { preparePythonChild, pythonFlagsDefeatingGuard, PYTHON_ENV, type ChildViolation } from './python/index.js';
import { activeConfig, asGuard, type GuardConfig } from './state.js';
import { isArtifactByName } from './which-files.js';

/** Scans every existing artifact file a Python launch names. Throws the violation. */
export function checkLaunch(
  config: GuardConfig,
  operation: string,
  argv: readonly string[],
  cwd: unknown,
  env: NodeJS.ProcessEnv,
): { python: boolean } {
  const pathEnv = env.PATH;
  const extra = config.policy.pythonLaunchers;
  const base = typeof cwd === 'string' ? resolve(cwd) : cwd instanceof URL ? fileURLToPath(cwd) : process.cwd();
  const commands = commandsOf(argv, extra).flatMap((c) => (c.python ? [c] : [c, ...throughShebang(c, base, pathEnv, extra)]));
  const python = commands.some((c) => c.python);
  if (!python) return { python };
  refuseDefeatingFlags(config, operation, commands, env);
  // In a pipeline with Python in it, every command's arguments count (`cat m.pkl | python load.py`).
  const seen = new Set<string>();
  for (const command of commands) {
    for (const candidate of pathCandidates(command.args)) {
      const abs = resolve(base, candidate);
      if (seen.has(abs)) continue;
      seen.add(abs);
      const st = asGuard(() => statSync(abs, { throwIfNoEntry: false }));
      if (st?.isFile()) checkPath(config, operation, abs);
      // Directories only as arguments of Python itself (`cd dir && python ...` is not a load).
      else if (command.python && st?.isDirectory()) for (const file of artifactsIn(config, abs)) checkPath(config, operation, file, true);
    }
  }
  return { python };
}

/**
 * `python -I`, `-E` or `-S` never loads the Python-side guard (PYTHONPATH ignored, site
 * skipped). With a policy the Python side could enforce, such a launch is refused (a
 * warning in report mode), unless the launch opted out with PICKLE_GUARD_PYTHON=0.
 */
function refuseDefeatingFlags(config: GuardConfig, operation: string, commands: readonly Command[], env: NodeJS.ProcessEnv): void {
  if (!isLoadedPolicy(config.policy) || env[PYTHON_ENV.optOut] === '0') return;
  for (const c of commands) {
    if (!c.python || !isPythonInterpreter(c.program)) continue;
    const flags = pythonFlagsDefeatingGuard(c.args);
    if (flags.length === 0) continue;
    const error = new UsageError(
      `pickle-guard refused ${operation} of ${c.program} ${flags.join(' ')}: ${flags.join(', ')} stop the Python-side guard ` +
        `from loading (PYTHONPATH ignored or site skipped). Drop the flag, or opt this launch out with ${PYTHON_ENV.optOut}=0 in its env.`,
    );
    if (config.policy.mode === 'report') process.emitWarning(error);
    else throw error;
  }
}

const DIR_ENTRIES_LOOKED_AT = 256;

/**
 * A directory argument (`from_pretrained('/models/bert')`, `--ckpt-dir=...`): the artifact-named
 * files directly in it, from its first 256 entries. Deeper or further files are left to
 * the Python-side guard.
 */
function artifactsIn(config: GuardConfig, dir: string): string[] {
  return asGuard(() => {
    const found: string[] = [];
    let handle;
    try {
      handle = opendirSync(dir);
      for (let i = 0; i < DIR_ENTRIES_LOOKED_AT; i++) {
        const entry = handle.readSync();
        if (!entry) break;
        const path = join(dir, entry.name);
        if ((entry.isFile() || entry.isSymbolicLink()) && isArtifactByName(config.policy, path)) found.push(path);
      }
    } catch {
      // unreadable: the child cannot list it either
    } finally {
      handle?.closeSync();
    }
    return found;
  });
}

/** A script run by name (`./train.py`, a console script on PATH) is read through its `#!` line. */
function throughShebang(command: Command, cwd: string, pathEnv: string | undefined, extra: readonly string[]): Command[] {
  const file = findProgram(command.program, cwd, pathEnv);
  const interpreter = file ? shebangOf(file) : undefined;
  if (!file || !interpreter) return [];
  return commandsOf([...interpreter, file, ...command.args], extra).filter((c) => c.python);
}

/** What the Python-side enforcement needs for one launch (src/guard/python). */
interface PythonSide {
  env: NodeJS.ProcessEnv;
  afterExit(): ChildViolation[];
}

/**
 * Prepares the Python-side enforcement (the child's unpicklers check the same policy).
 * Every child gets it, not only the ones recognised as Python: a shell script or a
 * Makefile that starts python3 passes the environment on (docs/guard.md).
 * Every loaded policy compiles for Python: files, presets and inline lists. A hand-made
 * `Policy` object does not: with `children: true` childEnv has already refused the launch
 * (policy-handoff.ts); with `children: false` the launch gets the argument scan only.
 */
function pythonSide(config: GuardConfig, env: NodeJS.ProcessEnv, cwd: unknown): PythonSide | undefined {
  if (!isLoadedPolicy(config.policy)) return undefined;
  return asGuard(() => preparePythonChild({ env, policy: config.policy, ...(typeof cwd === 'string' ? { cwd } : {}) }));
}

/** Refusals inside the Python child are reported back as a warning (the child itself raised them). */
function reportPythonChild(operation: string, side: PythonSide | undefined): void {
  const refused = side ? asGuard(() => side.afterExit()) : [];
  if (refused.length === 0) return;
  const verb = refused.every((v) => v.mode === 'report') ? 'reported' : 'refused';
  const lines = refused.map((v) => `  ${v.module}.${v.name}${v.file ? ` in ${v.file}` : ''}: ${v.message || v.reason}`);
  process.emitWarning(`pickle-guard: a Python child started by ${operation} ${verb} ${refused.length} import(s):\n${lines.join('\n')}`, {
    code: 'ERR_PICKLE_GUARD_VIOLATION',
  });
}

function envFromPairs(pairs: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=', 1);
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

function envOf(options: Record<string, unknown> | undefined): NodeJS.ProcessEnv {
  return (options?.env as NodeJS.ProcessEnv | undefined) ?? process.env;
}

function shellArgv(shell: unknown, command: string): string[] {
  return [typeof shell === 'string' ? shell : '/bin/sh', '-c', command];
}

interface SpawnInternals {
  file?: unknown;
  args?: unknown;
  cwd?: unknown;
  envPairs?: unknown;
}

function wrapPrototypeSpawn(original: AnyFunction): AnyFunction {
  return function spawn(this: unknown, options: SpawnInternals) {
    const config = activeConfig();
    if (!config || !options || typeof options !== 'object' || typeof options.file !== 'string') {
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as never);
    }
    const args = Array.isArray(options.args) ? (options.args as unknown[]).slice(1).map(String) : [];
    const pairs = Array.isArray(options.envPairs) ? envFromPairs(options.envPairs as string[]) : undefined;
    checkLaunch(config, 'child_process.spawn', [options.file, ...args], options.cwd, pairs ?? process.env);
    if (!pairs) return original.call(this, options);
    let env = childEnv(pairs, config);
    const side = pythonSide(config, env, options.cwd);
    if (side) env = side.env;
    const envPairs = Object.entries(env).map(([k, v]) => `${k}=${v ?? ''}`);
    try {
      const result = original.call(this, { ...options, envPairs });
      if (side) {
        // 'exit' normally; a launch that fails (ENOENT) only emits 'error'. afterExit runs once.
        let reported = false;
        const done = () => {
          if (reported) return;
          reported = true;
          reportPythonChild('child_process.spawn', side);
        };
        (this as ChildProcess).once('exit', done).once('error', done);
      }
      return result;
    } catch (error) {
      if (side) asGuard(() => side.afterExit());
      throw error;
    }
  };
}

/** (file, args?, options?) as spawnSync/execFileSync take them. */
function fileArgs(args: unknown, options: unknown): { args: string[]; options: Record<string, unknown> | undefined } {
  if (Array.isArray(args)) return { args: args.map(String), options: options as Record<string, unknown> | undefined };
  return { args: [], options: args && typeof args === 'object' ? (args as Record<string, unknown>) : undefined };
}

/** Options with the guarded env, plus the Python-side hook when Python is being started. */
function prepareSync(options: Record<string, unknown> | undefined, config: GuardConfig) {
  const env = childEnv((options?.env as NodeJS.ProcessEnv | undefined) ?? process.env, config);
  const side = pythonSide(config, env, options?.cwd);
  return { options: { ...options, env: side ? side.env : env }, side };
}

/** Runs a sync launch and collects the Python child's refusals after it returned. */
function runSync<T>(operation: string, side: PythonSide | undefined, run: () => T): T {
  try {
    return run();
  } finally {
    reportPythonChild(operation, side);
  }
}

function wrapFileSync(operation: string) {
  return (original: AnyFunction): AnyFunction =>
    function (this: unknown, file: unknown, maybeArgs?: unknown, maybeOptions?: unknown) {
      const config = activeConfig();
      if (!config || typeof file !== 'string') {
        // eslint-disable-next-line prefer-rest-params
        return original.apply(this, arguments as never);
      }
      const { args, options } = fileArgs(maybeArgs, maybeOptions);
      const shell = options?.shell;
      const argv = shell ? shellArgv(shell, [file, ...args].join(' ')) : [file, ...args];
      checkLaunch(config, operation, argv, options?.cwd, envOf(options));
      const prepared = prepareSync(options, config);
      return runSync(operation, prepared.side, () => original.call(this, file, args, prepared.options));
    };
}

function wrapExecSync(original: AnyFunction): AnyFunction {
  return function execSync(this: unknown, command: unknown, options?: unknown) {
    const config = activeConfig();
    if (!config || typeof command !== 'string') {
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as never);
    }
    const opts = options && typeof options === 'object' ? (options as Record<string, unknown>) : undefined;
    checkLaunch(config, 'child_process.execSync', shellArgv(opts?.shell, command), opts?.cwd, envOf(opts));
    const prepared = prepareSync(opts, config);
    return runSync('child_process.execSync', prepared.side, () => original.call(this, command, prepared.options));
  };
}

export function patchChildProcess(): Array<() => void> {
  return [
    replaceProperty(ChildProcess.prototype, 'spawn', wrapPrototypeSpawn),
    replaceProperty(childProcess, 'spawnSync', wrapFileSync('child_process.spawnSync')),
    replaceProperty(childProcess, 'execFileSync', wrapFileSync('child_process.execFileSync')),
    replaceProperty(childProcess, 'execSync', wrapExecSync),
  ];
}
