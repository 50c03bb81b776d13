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
import { sniffHead } from './sniff.js';

/** Rules 1-2: the policy matches the path and its real path itself (`Policy.isArtifactPath`). */
export function isArtifactByName(policy: Policy, absPath: string): boolean {
  return policy.isArtifactPath(absPath);
}

export function looksLikeModelBytes(bytes: Uint8Array): boolean {
  return sniffHead(bytes.subarray(0, 16));
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
