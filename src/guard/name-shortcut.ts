/**
 * A cheap, conservative "this name cannot be an artifact" test, so the first read of an
 * ordinary file does not pay `Policy.isArtifactPath` (globs on up to four spellings plus a
 * realpath: ~20 µs, three times a small file's read).
 *
 * Why it is sound: a glob matches a path only if the glob's last segment matches the path's
 * last segment. Every spelling `isArtifactPath` tries (absolute, relative to the policy's
 * folder, and the same for the real path) ends in the path's own basename, except the real
 * path when the LAST component is a symlink (symlinked folders change only the folders).
 * So if no include glob's last segment matches the basename, and the file itself is not a
 * symlink, no spelling can match. In every other case the full test decides.
 *
 * Only globs whose last segment can be read off the text with certainty take part: plain
 * name characters, `*`, `?` and `{a,b}` lists (which then hold no `/`). Any other glob
 * (character classes, extglobs, escapes, negations, `**` in the last segment) turns the
 * shortcut off for the whole policy.
 */
import picomatch from 'picomatch';

/** Does a basename match the last segment of some include glob? */
export type BasenameTest = (basename: string) => boolean;

const PLAIN_SEGMENT = /^[A-Za-z0-9._\-+@#%~ *?{},]+$/;

/** The glob's last segment when it can be told from the text, else undefined. */
export function lastSegment(glob: string): string | undefined {
  if (glob.startsWith('!')) return undefined;
  const segment = glob.slice(glob.lastIndexOf('/') + 1);
  if (!PLAIN_SEGMENT.test(segment) || segment.includes('**')) return undefined;
  // Braces must close inside the segment: an opener before the last '/' means a list that holds a '/'.
  let depth = 0;
  for (const ch of segment) {
    if (ch === '{') depth++;
    else if (ch === '}' && --depth < 0) return undefined;
  }
  return depth === 0 ? segment : undefined;
}

/**
 * The basename test for these include globs (matched with the same `{ dot: true }` the
 * policy uses), or undefined when some glob's last segment cannot be read with certainty.
 */
export function basenameTest(include: readonly string[]): BasenameTest | undefined {
  if (include.length === 0) return () => false;
  const segments: string[] = [];
  for (const glob of include) {
    const segment = lastSegment(glob);
    if (segment === undefined) return undefined;
    segments.push(segment);
  }
  const match = picomatch(segments, { dot: true });
  return (basename) => match(basename);
}

/** The last component of a normalised absolute POSIX path; undefined when there is none to trust. */
export function basenameOf(absPath: string): string | undefined {
  const name = absPath.slice(absPath.lastIndexOf('/') + 1);
  return name === '' || name === '.' || name === '..' ? undefined : name;
}
