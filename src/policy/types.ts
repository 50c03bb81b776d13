/**
 * The contract between the policy layer and the scanner: a policy answers, for one file
 * path, whether each resolved import is allowed.
 */
import type { ImportRecord } from '../pickle/types.js';
import type { ViolationCode } from '../findings.js';

export type PolicyMode = 'enforce' | 'report';

export type ImportDecision =
  | { allowed: true; /** the entry that allowed it, e.g. `torch._utils._rebuild_tensor_v2` */ entry: string }
  | {
      allowed: false;
      code: Extract<ViolationCode, 'global-not-allowed' | 'global-denied' | 'attribute-traversal'>;
      reason: string;
      /** The YAML line to add to `suggestionFile` if the user trusts the model; absent when denied/dangerous. */
      suggestion?: string;
    };

/** The allow-list in force for one file (after `extends` and path-scoped rules). */
export interface AllowList {
  check(imp: Pick<ImportRecord, 'module' | 'name' | 'origin' | 'traversal' | 'dunder'>): ImportDecision;
}

/** A loaded, validated policy. */
export interface Policy {
  /** The file that decided (absolute path), or `preset:<name>` when a preset was used directly. */
  readonly source: string;
  readonly mode: PolicyMode;
  /** The allow-list for one file; path-scoped rules apply here. */
  forFile(path: string | undefined): AllowList;
  /** Does the guard treat this path as a model artifact by name (the artifacts globs)? */
  isArtifactPath(path: string): boolean;
  /** Extra Python launcher names from the policy (guard). */
  readonly pythonLaunchers: readonly string[];
}
