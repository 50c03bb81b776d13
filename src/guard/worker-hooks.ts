/**
 * Worker threads get their own builtins, so the guard has to be loaded in each: the Worker
 * constructor is replaced by a subclass that prepends `--require <register>` to the
 * worker's execArgv (and passes the policy in its env).
 */
import workerThreads from 'node:worker_threads';
import { childEnv } from './env.js';
import { replaceProperty, type AnyFunction } from './patch.js';
import { activeConfig } from './state.js';

type WorkerOptions = { execArgv?: string[]; env?: unknown } & Record<string, unknown>;

export function guardedWorkerOptions(options: WorkerOptions | undefined): WorkerOptions | undefined {
  const config = activeConfig();
  if (!config || !config.children || !config.registerPath) return options;
  const execArgv = options?.execArgv ?? process.execArgv;
  const out: WorkerOptions = { ...options };
  if (!execArgv.includes(config.registerPath)) out.execArgv = ['--require', config.registerPath, ...execArgv];
  // SHARE_ENV (a symbol) shares the parent's env, which already has what it needs.
  if (options?.env === undefined || (typeof options.env === 'object' && options.env !== null)) {
    out.env = childEnv((options?.env as NodeJS.ProcessEnv | undefined) ?? process.env, config);
  }
  return out;
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
