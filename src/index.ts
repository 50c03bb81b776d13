/**
 * pickle-guard's public API.
 */
export { scanBytes, scanFd, scanFile, scanSource, type Limits, type ScanOptions } from './scan/index.js';
export type { ScanReport, ReportGlobal, ReportPickle, Verdict } from './scan/report.js';
export { REPORT_VERSION } from './scan/report.js';
export type { Finding, FindingCode, ViolationCode, InfoCode, LimitName } from './findings.js';
export { isViolation } from './findings.js';
export type { Policy, AllowList, ImportDecision, PolicyMode } from './policy/types.js';
export { policyFromList } from './policy/exact-list.js';
export { bufferSource, fdSource, type ByteSource } from './io/byte-source.js';
export {
  PickleGuardError,
  PolicyError,
  UsageError,
  ScanIOError,
  InternalError,
  isPickleGuardError,
  type PickleGuardErrorCode,
} from './errors.js';
