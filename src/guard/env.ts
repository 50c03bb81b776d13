/**
 * What a guarded process passes on to the processes and workers it starts: the register
 * preload in NODE_OPTIONS (for Node children), and the policy and mode in force.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { GuardConfig } from './state.js';

function quoted(path: string): string {
  return /[\s"\\]/.test(path) ? `"${path.replace(/(["\\])/g, '\\$1')}"` : path;
}

/** A copy of `env` that makes child Node processes load the guard with the same policy. */
export function childEnv(env: NodeJS.ProcessEnv, config: GuardConfig): NodeJS.ProcessEnv {
  if (!config.children) return env;
  const out: NodeJS.ProcessEnv = { ...env };
  if (config.registerPath) {
    const current = out.NODE_OPTIONS ?? '';
    if (!current.includes(config.registerPath)) {
      out.NODE_OPTIONS = `${current ? `${current} ` : ''}--require ${quoted(config.registerPath)}`;
    }
  }
  const source = config.policy.source;
  if (out.PICKLE_GUARD_POLICY === undefined) {
    if (source.startsWith('preset:')) out.PICKLE_GUARD_POLICY = source;
    else if (isAbsolute(source) && existsSync(source)) out.PICKLE_GUARD_POLICY = source;
  }
  out.PICKLE_GUARD_MODE ??= config.policy.mode;
  return out;
}
