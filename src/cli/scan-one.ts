/** Scans one file for the CLI. Never throws: a file that cannot be scanned is an error result. */
import { isPickleGuardError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { scanFile } from '../scan/index.js';
import type { FileResult } from './results.js';

export function scanOne(path: string, policy: Policy, cwd: string): FileResult {
  const abs = resolveFrom(cwd, path);
  try {
    const report = scanFile(abs, { policy, path });
    return { path, report };
  } catch (err) {
    const code = isPickleGuardError(err) ? err.code : 'ERR_PICKLE_GUARD_INTERNAL';
    const text = err instanceof Error ? err.message : String(err);
    // The result already names the path; ScanIOError messages start with it too.
    const prefix = [`${abs}: `, `${path}: `].find((x) => text.startsWith(x));
    const message = prefix ? text.slice(prefix.length) : text;
    return { path, error: { code, message } };
  }
}

function resolveFrom(cwd: string, path: string): string {
  return path.startsWith('/') ? path : `${cwd}/${path}`;
}
