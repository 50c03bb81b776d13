/**
 * What a guarded process passes on to the processes and workers it starts: the register
 * preload in NODE_OPTIONS (for Node children), and the policy and mode in force. The policy
 * and mode always replace what the child's env says (an app's own PICKLE_GUARD_POLICY may
 * name a weaker policy than the one installed in code); see policy-handoff.ts.
 */
import { policyForChildren } from './policy-handoff.js';
import type { GuardConfig } from './state.js';

function quoted(path: string): string {
  return /[\s"\\]/.test(path) ? `"${path.replace(/(["\\])/g, '\\$1')}"` : path;
}

/**
 * A copy of `env` that makes child Node processes load the guard with the same policy.
 * Throws UsageError when the installed policy cannot be passed on (policy-handoff.ts).
 */
export function childEnv(env: NodeJS.ProcessEnv, config: GuardConfig): NodeJS.ProcessEnv {
  if (!config.children) return env;
  const out: NodeJS.ProcessEnv = { ...env };
  if (config.registerPath) {
    const current = out.NODE_OPTIONS ?? '';
    if (!current.includes(config.registerPath)) {
      out.NODE_OPTIONS = `${current ? `${current} ` : ''}--require ${quoted(config.registerPath)}`;
    }
  }
  out.PICKLE_GUARD_POLICY = policyForChildren(config.policy);
  out.PICKLE_GUARD_MODE = config.policy.mode;
  return out;
}
