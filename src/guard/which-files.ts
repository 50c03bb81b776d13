/**
 * Which files the guard scans. The rule (docs/guard.md):
 *   1. the policy's artifact globs match the absolute path, or
 *   2. they match its real path (symlinks resolved), or
 *   3. the first 16 bytes look like a model container or pickle (`looksLikeModel`).
 * Rules 1-2 cost the policy's glob matches plus a realpath; rule 3 costs nothing when the
 * bytes are already in hand and one 16-byte pread for descriptors.
 */
import { readSync } from 'node:fs';
import type { Policy } from '../policy/types.js';
import { asGuard } from './state.js';
import { mayStartModel, sniffHead } from './sniff.js';

const NAME_CACHE_LIMIT = 10_000;
const nameCache = new WeakMap<Policy, Map<string, boolean>>();

/**
 * Rules 1-2: the policy matches the path and its real path itself (`Policy.isArtifactPath`,
 * tens of microseconds: globs plus a realpath). The answer is remembered per absolute path
 * for as long as the policy is installed, so ordinary reads pay one Map lookup; a symlink
 * re-pointed after its first read is judged by the content sniff (rule 3) from then on.
 */
let lastPolicy: Policy | undefined;
let lastCache: Map<string, boolean> | undefined;

export function isArtifactByName(policy: Policy, absPath: string): boolean {
  let cache = policy === lastPolicy ? lastCache : nameCache.get(policy);
  if (!cache) nameCache.set(policy, (cache = new Map()));
  lastPolicy = policy;
  lastCache = cache;
  let known = cache.get(absPath);
  if (known === undefined) {
    known = asGuard(() => policy.isArtifactPath(absPath));
    if (cache.size >= NAME_CACHE_LIMIT) cache.clear();
    cache.set(absPath, known);
  }
  return known;
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
