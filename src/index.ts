/**
 * pickle-guard's public API.
 *
 * Layers, lowest first: byte sources -> containers -> pickle machine -> scan report and
 * policy verdict -> guard and CLI. Each layer's own entry is re-exported here.
 */

// Scanning: a file, a descriptor or bytes in, a report out.
export {
  scanBytes,
  scanFd,
  scanFile,
  scanSource,
  suggestAllowEntries,
  type Limits,
  type ScanOptions,
  type Suggestions,
} from './scan/index.js';
export type { ScanReport, ReportGlobal, ReportPickle, Verdict } from './scan/report.js';
export { REPORT_VERSION } from './scan/report.js';
export type { Finding, FindingCode, ViolationCode, InfoCode, LimitName } from './findings.js';
export { isViolation, VIOLATION_CODES } from './findings.js';

// Policy: YAML allow-lists, presets, discovery.
export {
  loadPolicyFile,
  presetPolicy,
  resolvePolicy,
  discoverPolicyFile,
  checkPolicy,
  compilePolicyForPython,
  presetNames,
  policyFromList,
  isLoadedPolicy,
  POLICY_VERSION,
  PYTHON_POLICY_VERSION,
  POLICY_FILE_NAMES,
  MAIN_NAMESPACES,
  type ResolveOptions,
  type PythonPolicy,
  type LoadedPolicy,
  type Policy,
  type AllowList,
  type ImportDecision,
  type PolicyMode,
} from './policy/index.js';

// The runtime guard.
export { install, uninstall, isInstalled, installedPolicy, assertSafeModel, ViolationError } from './guard/index.js';
export type { InstallOptions, AssertOptions, OffendingGlobal } from './guard/index.js';
export {
  preparePythonChild,
  pythonFlagsDefeatingGuard,
  parseChildReport,
  PythonChildViolationError,
  PYTHON_BOOT_DIR,
  PYTHON_ENV,
  type ChildViolation,
  type ChildViolationCode,
  type PreparePythonChildOptions,
  type PreparedPythonChild,
} from './guard/python/index.js';

// Lower layers, for tools built on the scanner.
export { analyzeContainer, looksLikeModel, sniff, type ContainerOptions } from './formats/index.js';
export type { ContainerAnalysis, ContainerFormat, Compression, ScannedStream, ContainerLimits } from './formats/types.js';
export { DEFAULT_CONTAINER_LIMITS } from './formats/types.js';
export { analyzePickleStream, readOpcodes, OPCODES, opcodeName } from './pickle/index.js';
export type { OpcodeRecord, OpcodeArg, PayloadRef, OpcodeInfo } from './pickle/index.js';
export type {
  PickleStreamAnalysis,
  ImportRecord,
  ImportUse,
  MachineOptions,
  PickleLimits,
  AfterBuildHook,
  PersistentLoadHook,
  Value,
  Effect,
  PersistentIdRecord,
  PickleInfo,
} from './pickle/types.js';
export { DEFAULT_PICKLE_LIMITS } from './pickle/types.js';
// Evidence: what a pickle would do, as Python-like code or a pickletools-style listing.
export { decompile, type DecompiledLine, type DecompileOptions } from './pickle/decompile.js';
export { disassemble, type DisasmLine, type DisasmOptions } from './pickle/disasm.js';
export { bufferSource, fdSource, sliceSource, type ByteSource } from './io/byte-source.js';

// Errors: one hierarchy, stable codes, `instanceof` across package copies.
export {
  PickleGuardError,
  PolicyError,
  UsageError,
  ScanIOError,
  InternalError,
  isPickleGuardError,
  type PickleGuardErrorCode,
} from './errors.js';
