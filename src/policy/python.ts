/**
 * The policy in a plain JSON form the Python-side bootstrap enforces in `find_class`.
 * Versioned (`version`); the shape and the decision procedure are documented in
 * docs/policy.md and enforced by python/pickle_guard_boot/pickle_guard_child/policy.py.
 */
import { UsageError } from '../errors.js';
import { CompiledAllowList, type CompiledSets } from './allow-list.js';
import { DANGEROUS_EXACT, DANGEROUS_EXCEPTIONS, DANGEROUS_PREFIXES } from './dangerous.js';
import { IDENTIFIER, MAIN_NAMESPACES } from './entries.js';
import { isLoadedPolicy } from './policy.js';
import type { Policy, PolicyMode } from './types.js';

export const PYTHON_POLICY_VERSION = 1;

export interface PythonGlob {
  glob: string;
  /** Full-match regex over `module.name` with every `.` replaced by `/` (Python `re.fullmatch`, no flags). */
  regex: string;
}

export interface PythonSets {
  exact: string[];
  split: Array<[string, string]>;
  globs: PythonGlob[];
}

export interface PythonPolicy {
  format: 'pickle-guard/python-policy';
  version: typeof PYTHON_POLICY_VERSION;
  source: string;
  mode: PolicyMode;
  /** A segment globs may match (ASCII identifier). */
  identifier: string;
  /** First module segments no glob may allow (the script's namespace, `__main__`); added after version 1 shipped, so readers default to the same list when it is absent. */
  mainNamespaces: string[];
  allow: PythonSets & { members: string[] };
  deny: PythonSets;
  /** Flagged: exact, or equal to / under a prefix (prefixes ending in `_` match any continuation), or any dotted tail of the name is; `except` names are never flagged. */
  dangerous: { exact: string[]; prefixes: string[]; except: string[] };
}

function sets(s: CompiledSets): PythonSets {
  return {
    exact: [...s.exact.keys()].sort(),
    split: [...s.split.keys()].sort().map((k) => {
      const i = k.indexOf(':');
      return [k.slice(0, i), k.slice(i + 1)] as [string, string];
    }),
    globs: s.globs.map((g) => ({ glob: g.entry.text, regex: g.re.source })),
  };
}

/**
 * The allow-list that applies to `path` (path-scoped rules included), as JSON data.
 * Without a path (a child that may load any file), no rule's additions apply but every
 * rule's denies do: never weaker than the list of any path the child could load.
 */
export function compilePolicyForPython(policy: Policy, path?: string): PythonPolicy {
  if (!isLoadedPolicy(policy)) throw new UsageError('compilePolicyForPython needs a policy from loadPolicyFile/presetPolicy/resolvePolicy/policyFromList');
  const { data } = policy;
  const list =
    path === undefined && data.rules.length > 0
      ? new CompiledAllowList(data.allow, [...data.deny, ...data.rules.flatMap((r) => r.deny)], data.source)
      : (policy.forFile(path) as CompiledAllowList);
  return {
    format: 'pickle-guard/python-policy',
    version: PYTHON_POLICY_VERSION,
    source: policy.source,
    mode: policy.mode,
    identifier: IDENTIFIER.source,
    mainNamespaces: [...MAIN_NAMESPACES],
    allow: { ...sets(list.allow), members: [...list.allow.members.keys()].sort() },
    deny: sets(list.deny),
    dangerous: { exact: [...DANGEROUS_EXACT].sort(), prefixes: [...DANGEROUS_PREFIXES].sort(), except: [...DANGEROUS_EXCEPTIONS].sort() },
  };
}
