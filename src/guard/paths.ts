/**
 * Turning the many shapes of an fs path argument into one absolute string, and telling
 * read opens from write opens.
 */
import { constants } from 'node:fs';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An absolute POSIX path with nothing for resolve() to normalise (the common case: skip its cost). */
function isPlainAbsolute(path: string): boolean {
  return (
    sep === '/' &&
    path.charCodeAt(0) === 47 &&
    !path.includes('/./') &&
    !path.includes('/../') &&
    !path.includes('//') &&
    !path.endsWith('/') &&
    !path.endsWith('/.') &&
    !path.endsWith('/..') &&
    !path.includes('\0')
  );
}

const ABS_CACHE_LIMIT = 10_000;
const absCache = new Map<string, string>();

/** resolve() costs more than the rest of a wrapper: absolute inputs (cwd-independent) are remembered. */
function absoluteOf(path: string): string {
  if (path.charCodeAt(0) !== 47) return resolve(path);
  let abs = absCache.get(path);
  if (abs === undefined) {
    abs = isPlainAbsolute(path) ? path : resolve(path);
    if (absCache.size >= ABS_CACHE_LIMIT) absCache.clear();
    absCache.set(path, abs);
  }
  return abs;
}

/** Absolute path for a string, Buffer or `file:` URL argument; undefined for descriptors and anything else. */
export function pathArg(value: unknown): string | undefined {
  try {
    if (typeof value === 'string') return absoluteOf(value);
    if (Buffer.isBuffer(value)) return resolve(value.toString());
    if (value instanceof URL) return value.protocol === 'file:' ? fileURLToPath(value) : undefined;
  } catch {
    // An invalid path: the real API reports it in its own way.
  }
  return undefined;
}

const READ_STRING_FLAGS = new Set(['r', 'rs', 'sr', 'r+', 'rs+', 'sr+', 'a+', 'ax+', 'xa+', 'as+', 'sa+']);

/**
 * Does opening with these flags give access to bytes already in the file? Write-only and
 * truncating opens do not, so they are not checked (a model being written is not a model
 * being loaded).
 */
export function isReadOpen(flags: unknown): boolean {
  if (flags === undefined || flags === null) return true;
  if (typeof flags === 'string') return READ_STRING_FLAGS.has(flags);
  if (typeof flags === 'number') {
    const access = flags & 3;
    if (access === constants.O_WRONLY) return false;
    return (flags & constants.O_TRUNC) === 0;
  }
  return true; // unknown shape: the real API will reject it; checking costs nothing
}
