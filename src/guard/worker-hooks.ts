/**
 * Worker threads get their own builtins, so the guard has to be loaded in each: the Worker
 * constructor is replaced by a subclass that prepends `--require <register>` to the
 * worker's execArgv (and passes the policy in its env).
 */
import workerThreads from 'node:worker_threads';
import { childEnv } from './env.js';
import { policyForChildren } from './policy-handoff.js';
import { replaceProperty, type AnyFunction } from './patch.js';
import { activeConfig, type GuardConfig } from './state.js';

type WorkerOptions = { execArgv?: string[]; env?: unknown } & Record<string, unknown>;

export function guardedWorkerOptions(options: WorkerOptions | undefined): WorkerOptions | undefined {
  const config = activeConfig();
  if (!config || !config.children) return options;
  const execArgv = options?.execArgv ?? process.execArgv;
  const out: WorkerOptions = { ...options };
  if (config.registerPath && !execArgv.includes(config.registerPath)) out.execArgv = ['--require', config.registerPath, ...execArgv];
  // SHARE_ENV (a symbol) shares the parent's env: its own PICKLE_GUARD_POLICY is then what the
  // worker's register reads, so it is set (to the installed policy) in the shared env itself.
  if (options?.env === workerThreads.SHARE_ENV) Object.assign(process.env, handoff(config));
  else if (options?.env === undefined || (typeof options.env === 'object' && options.env !== null)) {
    out.env = childEnv((options?.env as NodeJS.ProcessEnv | undefined) ?? process.env, config);
  }
  return out;
}

function handoff(config: GuardConfig): NodeJS.ProcessEnv {
  return { PICKLE_GUARD_POLICY: policyForChildren(config.policy), PICKLE_GUARD_MODE: config.policy.mode };
}

function wrapWorker(Original: AnyFunction): AnyFunction {
  const Base = Original as unknown as new (filename: unknown, options?: WorkerOptions) => object;
  class Worker extends Base {
    constructor(filename: unknown, options?: WorkerOptions) {
      super(filename, guardedWorkerOptions(options));
    }
  }
  return Worker as unknown as AnyFunction;
}

export function patchWorkers(): Array<() => void> {
  return [replaceProperty(workerThreads, 'Worker', wrapWorker, false)];
}
