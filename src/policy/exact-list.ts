/**
 * The simplest policy: a plain list of exact `module.qualname` entries. Used when the
 * API is handed an array instead of a loaded policy file.
 */
import type { AllowList, ImportDecision, Policy } from './types.js';

export function exactAllowList(names: readonly string[]): AllowList {
  const allowed = new Set(names);
  return {
    check(imp): ImportDecision {
      const full = `${imp.module}.${imp.name}`;
      if (allowed.has(full)) return { allowed: true, entry: full };
      if (imp.traversal || imp.dunder) {
        return {
          allowed: false,
          code: 'attribute-traversal',
          reason: `${imp.module} + ${imp.name} walks attributes${imp.dunder ? ' through a dunder name' : ''}; only an exact entry can allow it`,
        };
      }
      return {
        allowed: false,
        code: 'global-not-allowed',
        reason: `${full} is not on the allow-list`,
        suggestion: `- ${full}`,
      };
    },
  };
}

export function policyFromList(names: readonly string[], source = 'inline allow-list'): Policy {
  const list = exactAllowList(names);
  return {
    source,
    mode: 'enforce',
    forFile: () => list,
    isArtifactPath: () => false,
    pythonLaunchers: [],
  };
}
