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
import { isLoadedPolicy } from '../policy/index.js';
import type { Policy } from '../policy/types.js';
import { basenameOf, basenameTest, type BasenameTest } from './name-shortcut.js';
import { asGuard } from './state.js';
import { mayStartModel, sniffHead } from './sniff.js';

const NAME_CACHE_LIMIT = 10_000;

/** What the guard knows about one policy's artifact names. */
interface PolicyNames {
  /** Absolute path -> decision, for decisions that hold while the path stays what it was. */
  decided: Map<string, boolean>;
  /** The basename shortcut (name-shortcut.ts); undefined when the policy's globs do not allow it. */
  basename: BasenameTest | undefined;
}

const byPolicy = new WeakMap<Policy, PolicyNames>();
/** Include globs of policies that are not loaded from a file (install()'s inline lists). */
const declaredGlobs = new WeakMap<Policy, readonly string[]>();

/** Tells the guard which include globs a policy's `isArtifactPath` matches (when it has no `data`). */
export function declareArtifactGlobs(policy: Policy, include: readonly string[]): void {
  declaredGlobs.set(policy, include);
}

/** The include globs behind `isArtifactPath` when known for certain; undefined turns the shortcut off. */
function includeGlobs(policy: Policy): readonly string[] | undefined {
  if (!isLoadedPolicy(policy)) return declaredGlobs.get(policy);
  const include = (policy.data as { artifacts?: { include?: unknown } }).artifacts?.include;
  return Array.isArray(include) && include.every((g) => typeof g === 'string') ? (include as string[]) : undefined;
}

let lastPolicy: Policy | undefined;
let lastNames: PolicyNames | undefined;

function namesOf(policy: Policy): PolicyNames {
  if (policy === lastPolicy && lastNames) return lastNames;
  let names = byPolicy.get(policy);
  if (!names) {
    const include = includeGlobs(policy);
    names = { decided: new Map(), basename: include ? basenameTest(include) : undefined };
    byPolicy.set(policy, names);
  }
  lastPolicy = policy;
  lastNames = names;
  return names;
}

/** A decision, and whether it may be remembered for the path. */
type Decision = { named: boolean; remember: boolean };

const PLAIN_FILE: Decision = { named: false, remember: true };
const NOT_THERE: Decision = { named: false, remember: false };

/**
 * Rules 1-2 for a path not decided before. With the basename shortcut, a file that is not
 * a symlink and whose basename no include glob's last segment matches costs one lstat.
 * A symlink is judged by its current target on every read (never remembered), so
 * re-pointing it is seen; a missing path is not remembered either (it may appear later
 * as a symlink). Everything else goes to `Policy.isArtifactPath` and is remembered.
 */
function decide(policy: Policy, test: BasenameTest | undefined, absPath: string): Decision {
  const name = test && basenameOf(absPath);
  if (!test || name === undefined || test(name)) return { named: policy.isArtifactPath(absPath), remember: true };
  let link: boolean;
  try {
    const st = lstatSync(absPath, { throwIfNoEntry: false });
    if (!st) return NOT_THERE;
    link = st.isSymbolicLink();
  } catch {
    return { named: policy.isArtifactPath(absPath), remember: false }; // e.g. a file in place of a folder: the read fails too
  }
  if (!link) return PLAIN_FILE;
  let real: string | undefined;
  try {
    real = realpathSync.native(absPath);
  } catch {
    real = undefined; // dangling or a loop: the full test below decides
  }
  const realName = real === undefined ? undefined : basenameOf(real);
  if (realName !== undefined && !test(realName)) return { named: false, remember: false };
  return { named: policy.isArtifactPath(absPath), remember: false };
}

/**
 * Rules 1-2: is this absolute path an artifact by name (the policy's globs on the path and
 * its real path)? Remembered per path for the installed policy, so ordinary reads pay one
 * Map lookup; see `decide` for what is not remembered.
 */
export function isArtifactByName(policy: Policy, absPath: string): boolean {
  const names = namesOf(policy);
  const known = names.decided.get(absPath);
  if (known !== undefined) return known;
  const decision = asGuard(() => decide(policy, names.basename, absPath));
  if (decision.remember) {
    if (names.decided.size >= NAME_CACHE_LIMIT) names.decided.clear();
    names.decided.set(absPath, decision.named);
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
