/**
 * For what the hooks cannot see (native addons, paths sent over IPC to a long-lived Python
 * process): scan a file explicitly, with the installed policy (or the discovered one),
 * and throw the same ViolationError the hooks throw.
 */
import { resolve } from 'node:path';
import { resolvePolicy } from '../policy/index.js';
import type { Policy } from '../policy/types.js';
import { scanFile, type Limits } from '../scan/index.js';
import type { ScanReport } from '../scan/report.js';
import { asGuard, guardState } from './state.js';
import { ViolationError } from './violation-error.js';

export interface AssertOptions {
  /** Default: the installed guard's policy, else `resolvePolicy()`. */
  policy?: Policy;
  limits?: Partial<Limits>;
}

/**
 * Scans `path` (always: no artifact-name test, no cache) and returns the report when it is
 * allowed. Throws `ViolationError` when blocked, even in report mode: an explicit assert
 * is a question whose answer the caller wants.
 */
export function assertSafeModel(path: string, options: AssertOptions = {}): ScanReport {
  const abs = resolve(path);
  const config = guardState().config;
  const policy = options.policy ?? config?.policy ?? resolvePolicy();
  const limits = options.limits ?? config?.limits;
  const report = asGuard(() => scanFile(abs, { policy, path: abs, ...(limits ? { limits } : {}) }));
  if (report.verdict !== 'allowed') throw new ViolationError({ path: abs, operation: 'assertSafeModel', report });
  return report;
}
