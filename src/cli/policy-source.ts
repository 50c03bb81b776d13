/**
 * How the CLI obtains its policy. One function, so the main thread and scan workers
 * (which cannot receive a Policy object: it holds functions) resolve it the same way:
 * --policy FILE, else $PICKLE_GUARD_POLICY, else a discovered project file, else the
 * `default` preset. An invalid policy throws PolicyError (exit 2), never a weaker policy.
 */
import { resolvePolicy, type LoadedPolicy } from '../policy/index.js';
import type { CliIO } from './io.js';

/** Plain data (it crosses into worker threads). */
export interface PolicyRequest {
  explicit?: string;
  cwd: string;
  env: Record<string, string | undefined>;
}

/** The request a command makes: its `--policy` value (if given), the CLI's cwd and env. */
export function policyRequest(io: Pick<CliIO, 'cwd' | 'env'>, explicit: string | undefined): PolicyRequest {
  return { cwd: io.cwd, env: { ...io.env }, ...(explicit !== undefined ? { explicit } : {}) };
}

export function loadPolicy(request: PolicyRequest): LoadedPolicy {
  return resolvePolicy({
    cwd: request.cwd,
    env: request.env,
    ...(request.explicit !== undefined ? { explicit: request.explicit } : {}),
  });
}
