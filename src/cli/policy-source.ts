/**
 * How the CLI obtains its policy. One function, so the main thread and scan workers
 * (which cannot receive a Policy object: it holds functions) resolve it the same way.
 *
 * PLACEHOLDER until the policy layer's `resolvePolicy` lands: an empty allow-list,
 * which blocks every import (fail closed), and no policy files.
 */
import { UsageError } from '../errors.js';
import { policyFromList } from '../policy/exact-list.js';
import type { Policy } from '../policy/types.js';

/** Plain data (it crosses into worker threads). */
export interface PolicyRequest {
  explicit?: string;
  cwd: string;
  env: Record<string, string | undefined>;
}

export function loadPolicy(request: PolicyRequest): Policy {
  if (request.explicit !== undefined) {
    throw new UsageError('--policy: policy files are not supported by this build yet');
  }
  return policyFromList([], 'empty allow-list (policy layer not available in this build)');
}
