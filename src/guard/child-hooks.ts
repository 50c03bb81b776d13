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
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkPath } from './check.js';
import { childEnv, childEnvPairs } from './env.js';
import { commandsOf, pathCandidates } from './launchers.js';
import { replaceProperty, type AnyFunction } from './patch.js';
import { activeConfig, asGuard, type GuardConfig } from './state.js';

/** Scans every existing artifact file a Python launch names. Throws the violation. */
export function checkLaunch(config: GuardConfig, operation: string, argv: readonly string[], cwd: unknown): { python: boolean } {
  const commands = commandsOf(argv, config.policy.pythonLaunchers);
  const python = commands.some((c) => c.python);
  if (!python) return { python };
  // In a pipeline with Python in it, every command's arguments count (`cat m.pkl | python load.py`).
  const base = typeof cwd === 'string' ? resolve(cwd) : cwd instanceof URL ? new URL(cwd).pathname : process.cwd();
  const seen = new Set<string>();
  for (const command of commands) {
    for (const candidate of pathCandidates(command.args)) {
      const abs = resolve(base, candidate);
      if (seen.has(abs)) continue;
      seen.add(abs);
      const isFile = asGuard(() => statSync(abs, { throwIfNoEntry: false })?.isFile() ?? false);
      if (isFile) checkPath(config, operation, abs);
    }
  }
  return { python };
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
    checkLaunch(config, 'child_process.spawn', [options.file, ...args], options.cwd);
    const envPairs = Array.isArray(options.envPairs) ? childEnvPairs(options.envPairs as string[], config) : options.envPairs;
    return original.call(this, { ...options, envPairs });
  };
}

/** (file, args?, options?) as spawnSync/execFileSync take them. */
function fileArgs(args: unknown, options: unknown): { args: string[]; options: Record<string, unknown> | undefined } {
  if (Array.isArray(args)) return { args: args.map(String), options: options as Record<string, unknown> | undefined };
  return { args: [], options: args && typeof args === 'object' ? (args as Record<string, unknown>) : undefined };
}

function withChildEnv(options: Record<string, unknown> | undefined, config: GuardConfig): Record<string, unknown> {
  const env = (options?.env as NodeJS.ProcessEnv | undefined) ?? process.env;
  return { ...options, env: childEnv(env, config) };
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
      checkLaunch(config, operation, argv, options?.cwd);
      return original.call(this, file, args, withChildEnv(options, config));
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
    checkLaunch(config, 'child_process.execSync', shellArgv(opts?.shell, command), opts?.cwd);
    return original.call(this, command, withChildEnv(opts, config));
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
