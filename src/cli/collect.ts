/**
 * Turns the PATH arguments of `scan` into the list of files to scan. Files named on the
 * command line are always scanned; files found in directories only when they look like
 * a model, match the policy's artifact globs, or match an --include glob.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';

export interface CollectOptions {
  include: readonly string[];
  exclude: readonly string[];
  /** Content sniff on the file's path (reads a few bytes). */
  looksLikeModel: (path: string) => boolean;
  /** The policy's artifact globs (absolute path in). */
  isArtifactPath: (path: string) => boolean;
  cwd: string;
}

export interface CollectError {
  path: string;
  message: string;
}

export interface Collected {
  /** Paths as the user spelled them (directory walks join onto the argument). */
  files: string[];
  errors: CollectError[];
}

const SKIPPED_DIRS = new Set(['.git', '.hg', '.svn']);

type Matcher = (path: string) => boolean;

/**
 * A glob with a "/" matches the relative path; one without matches the file name at any
 * depth (picomatch's own `basename` option also rewrites patterns with slashes).
 */
function matcher(globs: readonly string[]): Matcher {
  const withSlash = globs.filter((g) => g.includes('/'));
  const bare = globs.filter((g) => !g.includes('/'));
  const full = withSlash.length > 0 ? picomatch(withSlash, { dot: true }) : () => false;
  const base = bare.length > 0 ? picomatch(bare, { dot: true }) : () => false;
  return (rel) => full(rel) || base(rel.slice(rel.lastIndexOf('/') + 1));
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function collectTargets(paths: readonly string[], options: CollectOptions): Collected {
  const include = matcher(options.include);
  const exclude = matcher(options.exclude);
  const files: string[] = [];
  const errors: CollectError[] = [];
  const seen = new Set<string>();
  const add = (p: string): void => {
    const abs = resolve(options.cwd, p);
    if (seen.has(abs)) return;
    seen.add(abs);
    files.push(p);
  };

  const walk = (root: string, dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(resolve(options.cwd, dir), { withFileTypes: true });
    } catch (err) {
      errors.push({ path: dir, message: `cannot read directory (${errorMessage(err)})` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const rel = toPosix(relative(root, full));
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(root, full);
        continue;
      }
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        // Follow links to files, never links to directories (no cycles, no escaping the tree).
        try {
          isFile = statSync(resolve(options.cwd, full)).isFile();
        } catch {
          continue; // a dangling link is not a model
        }
      }
      if (!isFile || exclude(rel)) continue;
      const abs = resolve(options.cwd, full);
      let wanted = include(rel) || options.isArtifactPath(abs);
      if (!wanted) {
        try {
          wanted = options.looksLikeModel(abs);
        } catch (err) {
          errors.push({ path: full, message: `cannot read (${errorMessage(err)})` });
          continue;
        }
      }
      if (wanted) add(full);
    }
  };

  for (const p of paths) {
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(resolve(options.cwd, p));
    } catch (err) {
      errors.push({ path: p, message: `cannot access (${errorMessage(err)})` });
      continue;
    }
    if (stats.isDirectory()) walk(p, p);
    else if (stats.isFile()) add(p);
    // A FIFO or device would block the open or never end: refuse it rather than hang.
    else errors.push({ path: p, message: 'not a regular file or directory' });
  }
  return { files, errors };
}
