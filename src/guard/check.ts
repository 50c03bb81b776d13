/**
 * The guard's decisions: given what an intercepted call is about to hand out (bytes, a
 * descriptor, a path for a child process), decide whether to scan, scan (or reuse a
 * cached verdict for the same file version), and enforce.
 *
 * All of it is synchronous and runs with the hooks in pass-through (`asGuard`), because the
 * scanner opens and reads files through the same fs functions we wrap.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, type BigIntStats, type PathLike } from 'node:fs';
import { ScanIOError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { scanBytes, scanFd, scanSource, type ScanOptions } from '../scan/index.js';
import type { ScanReport } from '../scan/report.js';
import { asGuard, guardState, type GuardConfig } from './state.js';
import { sameIdentity, type FileIdentity } from './verdict-cache.js';
import { ViolationError } from './violation-error.js';
import { isArtifactByName, looksLikeModelBytes, looksLikeModelFd } from './which-files.js';

export function identityOf(st: BigIntStats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/**
 * Reads a whole regular file through one descriptor, noting its identity before and after:
 * what `readFileSync` does internally (open, fstat, read, close) plus one fstat.
 * Falls back to the plain read (no identity) for anything that is not a regular file.
 */
export function readWithIdentity(path: PathLike, flag: string): { bytes: Buffer; versions?: ReadVersions } {
  return asGuard(() => {
    const fd = openSync(path, flag);
    try {
      const st = fstatSync(fd, { bigint: true });
      const size = Number(st.size);
      if (!st.isFile() || size === 0) return { bytes: readFileSync(fd) };
      const bytes = Buffer.allocUnsafe(size);
      let done = 0;
      while (done < size) {
        const n = readSync(fd, bytes, done, size - done, null);
        if (n === 0) break;
        done += n;
      }
      const after = identityOf(fstatSync(fd, { bigint: true }));
      return { bytes: done === size ? bytes : bytes.subarray(0, done), versions: { before: identityOf(st), after } };
    } finally {
      closeSync(fd);
    }
  });
}

/** Identity of the file at `path` now, or undefined when it is not a regular file. */
export function statIdentity(path: string): FileIdentity | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st && st.isFile() ? identityOf(st) : undefined;
}

function scanOptions(config: GuardConfig, path: string): ScanOptions {
  return { policy: config.policy, path, ...(config.limits ? { limits: config.limits } : {}) };
}

/** Throws the violation (enforce) or emits it as a warning and returns (report mode). */
export function enforce(config: GuardConfig, operation: string, path: string, report: ScanReport): void {
  if (report.verdict === 'allowed') return;
  const error = new ViolationError({ path, operation, report });
  if (config.policy.mode === 'report') {
    process.emitWarning(error);
    return;
  }
  throw error;
}

/** A scanner failure that is not a verdict (I/O error ...) still stops the call: fail closed. */
function failClosed(config: GuardConfig, error: unknown): void {
  if (config.policy.mode === 'report') {
    process.emitWarning(error instanceof Error ? error : new Error(String(error)));
    return;
  }
  throw error;
}

/** The file's identity before and (when the caller has it) after the bytes were read. */
export interface ReadVersions {
  before: FileIdentity;
  after?: FileIdentity;
}

/**
 * For `readFile*`: the bytes about to be returned. `named` says the name already marked the
 * file as an artifact (scanned whatever its bytes look like). `versions` is the identity of
 * a regular file around the read: the cache is used only if it was the same before and
 * after, so the cached verdict is about these very bytes.
 */
export function checkReturnedBytes(
  config: GuardConfig,
  operation: string,
  path: string,
  bytes: Uint8Array,
  named: boolean,
  versions?: ReadVersions,
): void {
  if (!named && !looksLikeModelBytes(bytes)) return;
  const before = versions?.before;
  let report: ScanReport;
  try {
    report = asGuard(() => {
      const cache = guardState().cache;
      const after = before ? (versions?.after ?? statIdentity(path)) : undefined;
      const stable = before && after && sameIdentity(before, after) && after.size === BigInt(bytes.length);
      const cached = stable ? cache.get(after, path) : undefined;
      if (cached) return cached;
      const fresh = scanBytes(bytes, scanOptions(config, path));
      if (stable) cache.set(after, path, fresh);
      return fresh;
    });
  } catch (error) {
    return failClosed(config, error);
  }
  enforce(config, operation, path, report);
}

/** How to reach a descriptor: the real fs, or the `{ fs }` given to createReadStream. */
export interface FdAccess {
  fstatSync(fd: number, options: { bigint: true }): BigIntStats;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
}

const realFs: FdAccess = { fstatSync: (fd, o) => fstatSync(fd, o), readSync: (fd, b, o, l, p) => readSync(fd, b, o, l, p) };

/** A byte source over someone else's descriptor API (positioned reads, no caching needed for our access pattern). */
function accessSource(access: FdAccess, fd: number, size: number): ByteSource {
  return {
    size,
    read(offset, length) {
      const want = Math.max(0, Math.min(length, size - offset));
      const out = Buffer.alloc(want);
      let done = 0;
      while (done < want) {
        const n = access.readSync(fd, out, done, want - done, offset + done);
        if (n <= 0) break;
        done += n;
      }
      return out.subarray(0, done);
    },
  };
}

/**
 * For opens and streams: scan through the descriptor the caller will read from, so what is
 * checked is what is used. `byName` may be passed when already known.
 */
export function checkFd(
  config: GuardConfig,
  operation: string,
  path: string,
  fd: number,
  access: FdAccess = realFs,
  byName?: boolean,
): void {
  let report: ScanReport | undefined;
  try {
    report = asGuard(() => {
      const st = access.fstatSync(fd, { bigint: true });
      // The descriptor's file is passed: a name decided about another file is decided again.
      const named = byName ?? isArtifactByName(config.policy, path, st);
      if (!st.isFile()) {
        // A pipe or device under a model's name cannot be scanned without consuming what
        // the caller will read: refuse it. Directories and unnamed streams pass.
        if (named && !st.isDirectory()) throw new ScanIOError(path, 'is a model by name but not a regular file: it cannot be scanned before use');
        return undefined;
      }
      if (!named && !looksLikeModelFd(fd, access.readSync as typeof readSync)) return undefined;
      const cache = guardState().cache;
      const identity = identityOf(st);
      const cached = cache.get(identity, path);
      if (cached) return cached;
      const options = scanOptions(config, path);
      const fresh = access === realFs ? scanFd(fd, options) : scanSource(accessSource(access, fd, Number(st.size)), options);
      const after = identityOf(access.fstatSync(fd, { bigint: true }));
      if (sameIdentity(identity, after)) cache.set(identity, path, fresh);
      return fresh;
    });
  } catch (error) {
    return failClosed(config, error);
  }
  if (report) enforce(config, operation, path, report);
}

/**
 * For paths handed to something we cannot follow (a child process, a Blob read later):
 * open the file ourselves, check through that descriptor, close it.
 * Returns false when the path is not an existing regular file.
 */
export function checkPath(config: GuardConfig, operation: string, path: string, byName?: boolean): boolean {
  let fd: number;
  try {
    fd = asGuard(() => openSync(path, 'r'));
  } catch {
    return false; // missing or unreadable: the real call fails (or the child cannot read it either)
  }
  try {
    checkFd(config, operation, path, fd, realFs, byName);
    return true;
  } finally {
    asGuard(() => closeSync(fd));
  }
}
