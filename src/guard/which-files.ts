/**
 * Which files the guard scans. The rule (docs/guard.md):
 *   1. the policy's artifact globs match the absolute path, or
 *   2. they match its real path (symlinks resolved), or
 *   3. the first 16 bytes look like a model container or pickle (`looksLikeModel`).
 * Rules 1-2 cost one lstat for most names (the basename shortcut, name-shortcut.ts), else
 * the policy's glob matches plus a realpath, once per path; rule 3 costs nothing when the
 * bytes are already in hand and one 16-byte pread for descriptors.
 */
import { lstatSync, readSync, realpathSync } from 'node:fs';
import { sep } from 'node:path';
import type { Policy } from '../policy/types.js';
import { basenameOf, basenameTest, type BasenameTest } from './name-shortcut.js';
import { asGuard } from './state.js';
import { mayStartModel, sniffHead } from './sniff.js';

const NAME_CACHE_LIMIT = 10_000;

/** What the guard knows about one policy's artifact names. */
interface PolicyNames {
  /** Absolute path -> decision, for paths that were a file (not a symlink) when decided. */
  decided: Map<string, Known>;
  /** The basename shortcut (name-shortcut.ts); undefined when the policy's globs do not allow it. */
  basename: BasenameTest | undefined;
}

const byPolicy = new WeakMap<Policy, PolicyNames>();
/**
 * The include globs behind a policy's `isArtifactPath`, declared by install() for the
 * policies it builds. Only a declaration is trusted: a policy's `data` need not describe
 * its `isArtifactPath` (install()'s inline lists carry empty globs and match the defaults),
 * so a policy without one gets no shortcut.
 */
const declaredGlobs = new WeakMap<Policy, readonly string[]>();

/**
 * Tells the guard exactly which include globs `policy.isArtifactPath` matches (with
 * `{ dot: true }`). The basename test is compiled now, at install, not in the first read.
 */
export function declareArtifactGlobs(policy: Policy, include: readonly string[]): void {
  declaredGlobs.set(policy, include);
  byPolicy.delete(policy);
  if (lastPolicy === policy) lastNames = undefined;
  namesOf(policy);
}

let lastPolicy: Policy | undefined;
let lastNames: PolicyNames | undefined;

function namesOf(policy: Policy): PolicyNames {
  if (policy === lastPolicy && lastNames) return lastNames;
  let names = byPolicy.get(policy);
  if (!names) {
    const include = declaredGlobs.get(policy);
    // The shortcut reads POSIX paths (name-shortcut.ts): elsewhere every first look runs the full test.
    names = { decided: new Map(), basename: include && sep === '/' ? basenameTest(include) : undefined };
    byPolicy.set(policy, names);
  }
  lastPolicy = policy;
  lastNames = names;
  return names;
}

/** A remembered decision and the file it was made about (from lstat: the path itself, not a symlink). */
interface Known {
  named: boolean;
  dev: number;
  ino: number;
}

/** A decision; `file` is set when it may be remembered (the path was not a symlink). */
type Decision = { named: boolean; file?: { dev: number; ino: number } };

const NOT_REMEMBERED: Decision = { named: false };

type Look = { kind: 'link' | 'missing' | 'error' } | { kind: 'other'; dev: number; ino: number };

/** What the path's last component is, without following it. */
function look(absPath: string): Look {
  try {
    const st = lstatSync(absPath, { throwIfNoEntry: false });
    if (st === undefined) return { kind: 'missing' };
    return st.isSymbolicLink() ? { kind: 'link' } : { kind: 'other', dev: st.dev, ino: st.ino };
  } catch {
    return { kind: 'error' }; // e.g. a file where a folder should be: the read fails too
  }
}

/** The basename of the path's real path, or undefined when it has none (dangling, a loop). */
function realBasename(absPath: string): string | undefined {
  try {
    return basenameOf(realpathSync.native(absPath));
  } catch {
    return undefined;
  }
}

/**
 * Rules 1-2 for a path not decided before, costing one lstat plus:
 * - with the basename shortcut, when no include glob's last segment matches the basename:
 *   nothing for a file that is not a symlink, a realpath for a symlink;
 * - otherwise `Policy.isArtifactPath` (globs on every spelling plus a realpath).
 * Only decisions about paths whose last component is not a symlink are remembered: a
 * symlink is judged by its current target on every read (re-pointing it is seen), and a
 * missing path may appear later as a symlink to a model.
 */
function decide(policy: Policy, test: BasenameTest | undefined, absPath: string): Decision {
  // A Buffer path that is not UTF-8 reaches us with U+FFFD in place of its bytes: its real
  // name cannot be looked at, so it is treated as a model by name (scanned), never remembered.
  if (absPath.includes('\uFFFD')) return { named: true };
  const seen = look(absPath);
  const file = seen.kind === 'other' ? { dev: seen.dev, ino: seen.ino } : undefined;
  const name = test && basenameOf(absPath);
  if (test && name !== undefined && !test(name) && seen.kind !== 'error') {
    if (seen.kind !== 'link') return file ? { named: false, file } : NOT_REMEMBERED;
    const realName = realBasename(absPath);
    if (realName !== undefined && !test(realName)) return NOT_REMEMBERED;
  }
  const named = policy.isArtifactPath(absPath);
  return file ? { named, file } : { named };
}

/**
 * Rules 1-2: is this absolute path an artifact by name (the policy's globs on the path and
 * its real path)? Remembered per path for the installed policy, so ordinary reads pay one
 * Map lookup; see `decide` for what is not remembered. Callers holding a descriptor opened
 * through the path pass its (dev, ino): a remembered decision about another file (the
 * path was replaced since, e.g. by a symlink to a model) is made again.
 */
export function isArtifactByName(policy: Policy, absPath: string, opened?: { dev: bigint; ino: bigint }): boolean {
  const names = namesOf(policy);
  const known = names.decided.get(absPath);
  if (known !== undefined && (opened === undefined || (known.dev === Number(opened.dev) && known.ino === Number(opened.ino)))) {
    return known.named;
  }
  const decision = asGuard(() => decide(policy, names.basename, absPath));
  if (decision.file) {
    if (names.decided.size >= NAME_CACHE_LIMIT) names.decided.clear();
    names.decided.set(absPath, { named: decision.named, dev: decision.file.dev, ino: decision.file.ino });
  } else if (known !== undefined) {
    names.decided.delete(absPath);
  }
  return decision.named;
}

export function looksLikeModelBytes(bytes: Uint8Array): boolean {
  const first = bytes[0];
  // The first-byte test before making a view: this runs on every read of every file.
  return first !== undefined && mayStartModel(first) && sniffHead(bytes.subarray(0, 16));
}

/** Reads the first 16 bytes through the descriptor without moving its position. */
export function looksLikeModelFd(fd: number, pread: typeof readSync = readSync): boolean {
  const head = Buffer.alloc(16);
  let got = 0;
  try {
    got = pread(fd, head, 0, 16, 0);
  } catch {
    return false; // not readable by position (a pipe, say): nothing we can sniff
  }
  return looksLikeModelBytes(head.subarray(0, got));
}
