/**
 * The scanner's front door: bytes, a file or a descriptor in, a `ScanReport` out.
 * Synchronous, so the guard can answer inside `readFileSync`.
 */
import { fstatSync } from 'node:fs';
import { ScanIOError } from '../errors.js';
import { analyzeContainer } from '../formats/index.js';
import type { ContainerLimits } from '../formats/types.js';
import { bufferSource, fdSource, withFileSource, type ByteSource } from '../io/byte-source.js';
import type { PickleLimits } from '../pickle/types.js';
import { policyFromList } from '../policy/exact-list.js';
import type { Policy } from '../policy/types.js';
import type { ScanReport } from './report.js';
import { buildReport } from './verdict.js';

export type { ScanReport } from './report.js';
export { suggestAllowEntries, type Suggestions } from './suggest.js';

export type Limits = PickleLimits & ContainerLimits;

export interface ScanOptions {
  /** A loaded policy, or a plain list of exact `module.qualname` entries. */
  policy: Policy | readonly string[];
  /** The file's path: used by path-scoped policy rules and shown in the report. */
  path?: string;
  limits?: Partial<Limits>;
}

function toPolicy(policy: Policy | readonly string[]): Policy {
  return Array.isArray(policy) ? policyFromList(policy as readonly string[]) : (policy as Policy);
}

export function scanSource(source: ByteSource, options: ScanOptions): ScanReport {
  const policy = toPolicy(options.policy);
  const analysis = analyzeContainer(source, options.limits ? { limits: options.limits } : {});
  return buildReport(analysis, policy, options.path);
}

export function scanBytes(bytes: Uint8Array, options: ScanOptions): ScanReport {
  return scanSource(bufferSource(bytes), options);
}

/** Scans through an open descriptor with positioned reads (the descriptor's position is untouched). */
export function scanFd(fd: number, options: ScanOptions): ScanReport {
  return scanSource(fdSource(fd, { size: fstatSync(fd).size }), options);
}

/** Scans a file by path, reading only the windows the containers need. */
export function scanFile(path: string, options: ScanOptions): ScanReport {
  let opened = false;
  try {
    return withFileSource(path, (source) => {
      opened = true;
      return scanSource(source, { ...options, path: options.path ?? path });
    });
  } catch (err) {
    if (!opened) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ScanIOError(path, `cannot open for scanning${code ? ` (${code})` : ''}`, { cause: err });
    }
    throw err;
  }
}
