/**
 * The vocabulary every layer reports in. A finding is plain data with a stable code;
 * codes never change meaning once released (they are SARIF rule ids and JSON API).
 */

/** Findings that block a file (any one of them makes the verdict `blocked`). */
export type ViolationCode =
  // policy verdicts on resolved imports
  | 'global-not-allowed' // not on the allow-list
  | 'global-denied' // matched a deny entry or the known-dangerous list
  | 'attribute-traversal' // dotted name (`os.system` in module `pathlib`) or dunder segment not allowed by an exact entry
  // what the pickle machine sees
  | 'dynamic-global' // STACK_GLOBAL/INST operands that are not constant strings
  | 'mutates-global' // BUILD / SETITEM(S) / APPEND(S) / ADDITEMS applied to a bare global
  | 'indirect-call' // a call whose callable is not a global reference (nor a constrained getattr)
  | 'extension-registry' // EXT1/EXT2/EXT4
  | 'frame-violation' // an opcode crossing a FRAME boundary
  | 'malformed' // truncated, unknown opcode, stack underflow, bad memo index, bad UTF-8 ...
  | 'limit' // a resource bound was hit; `limit` names which
  // what the container layer sees
  | 'container-malformed' // a container that cannot be read the way its loader reads it
  | 'container-ambiguous' // two loaders (or a loader and us) could read different bytes
  | 'unsupported-compression' // encrypted, or a method/codec we cannot decode
  | 'decompression-failed'; // a stream that does not decode

/** Findings that inform but never block. */
export type InfoCode =
  | 'not-a-pickle' // bytes that fail before any import could run: no code can run
  | 'persistent-id' // PERSID/BINPERSID seen (torch storages): recorded with the id's shape
  | 'no-pickle'; // a container with no pickle in it (plain numeric .npy, say)

export type FindingCode = ViolationCode | InfoCode;

export const VIOLATION_CODES: readonly ViolationCode[] = [
  'global-not-allowed',
  'global-denied',
  'attribute-traversal',
  'dynamic-global',
  'mutates-global',
  'indirect-call',
  'extension-registry',
  'frame-violation',
  'malformed',
  'limit',
  'container-malformed',
  'container-ambiguous',
  'unsupported-compression',
  'decompression-failed',
];

export function isViolation(code: FindingCode): code is ViolationCode {
  return (VIOLATION_CODES as readonly string[]).includes(code);
}

/** Names of every resource bound, each a named option (see `Limits`). */
export type LimitName =
  | 'maxOpcodes'
  | 'maxStackDepth'
  | 'maxMemoEntries'
  | 'maxPicklesPerStream'
  | 'maxDeclaredLength'
  | 'maxNestingDepth'
  | 'maxMembers'
  | 'maxDecompressedBytesPerMember'
  | 'maxDecompressedBytesTotal'
  | 'maxValueItems'
  | 'maxImports'
  | 'maxCallUses'
  | 'maxEffects';

export interface Finding {
  code: FindingCode;
  /** One or two sentences a person can act on. */
  message: string;
  /** Byte offset inside the member (or the file, when `member` is absent). */
  offset?: number;
  /** Opcode name (`STACK_GLOBAL`, `REDUCE` ...) where one is to blame. */
  opcode?: string;
  /** Container member path (`archive/data.pkl`, `arr_0.npy`), filled by the formats layer. */
  member?: string;
  /** Import as CPython resolves it, for findings about one import. */
  module?: string;
  name?: string;
  /** Which bound was hit, for code `limit`. */
  limit?: LimitName;
}
