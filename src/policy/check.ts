/** `pickle-guard policy check [FILE]`: load and validate, and show the effective policy. */
import { effectiveYaml } from './effective.js';
import { loadPolicyFile, resolvePolicy } from './discover.js';
import type { LoadedPolicy } from './policy.js';

export function checkPolicy(path?: string): { policy: LoadedPolicy; effective: string } {
  const policy = path !== undefined ? resolvePolicy({ explicit: path }) : resolvePolicy();
  return { policy, effective: effectiveYaml(policy.data) };
}

export { loadPolicyFile };
