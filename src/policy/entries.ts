/**
 * The syntax of one allow/deny entry, parsed into plain data. Four kinds:
 *   exact    `torch._utils._rebuild_tensor_v2`      module.qualname, no traversal
 *   split    `mylab.models:Outer.Inner`              module:qualname, for dotted names (traversal)
 *   glob     `torch.nn.modules.*`, `mylab.**`         picomatch over dotted segments
 *   members  `{ members: mylab.Color }`               every `Class.NAME` reached by the constrained getattr
 */
import picomatch from 'picomatch';

export type EntryKind = 'exact' | 'split' | 'glob' | 'members';

export interface Entry {
  kind: EntryKind;
  /** As written (for `members`, the class name). */
  text: string;
  /** Where it came from: a policy file path or `preset:<name>`. */
  from: string;
  why?: string;
}

/** A segment glob-matchable names are made of. ASCII only, so the Python side agrees exactly. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GLOB_CHARS = /[*?[\]{}]/;
/** Characters a glob may use besides identifier characters. Extglobs and negation are refused. */
const GLOB_SEGMENT = /^[A-Za-z0-9_*?[\]{},-]+$/;

/**
 * Modules whose attributes are whatever the running script defined or imported: the
 * loading script is `__main__` (`__mp_main__` in a multiprocessing spawn child,
 * `__parents_main__` in old Windows forks), so `from os import system` there makes
 * `__main__.system` os.system. No glob may allow names in them; only exact entries.
 * (`builtins` is not one: its names are fixed by the interpreter and the dangerous list
 * covers the harmful ones.)
 */
export const MAIN_NAMESPACES: readonly string[] = ['__main__', '__mp_main__', '__parents_main__'];

/** Is the first dotted segment of `dotted` a script namespace (MAIN_NAMESPACES)? */
export function inMainNamespace(dotted: string): boolean {
  const dot = dotted.indexOf('.');
  return MAIN_NAMESPACES.includes(dot < 0 ? dotted : dotted.slice(0, dot));
}

export function isDunder(segment: string): boolean {
  return segment.length > 4 && segment.startsWith('__') && segment.endsWith('__');
}

/** An error in one entry: what is wrong and what to write instead. */
export interface EntryProblem {
  message: string;
  hint: string;
}

function checkDotted(text: string, what: string): EntryProblem | undefined {
  if (text.length === 0) return { message: `empty ${what}`, hint: 'write module.qualname, e.g. mylab.models.TinyNet' };
  if (/\s/.test(text)) return { message: `${what} "${text}" contains whitespace`, hint: 'names never contain spaces' };
  if (text.split('.').some((s) => s.length === 0)) {
    return { message: `${what} "${text}" has an empty dotted segment`, hint: 'write segments separated by single dots, e.g. mylab.models.TinyNet' };
  }
  return undefined;
}

function checkGlob(text: string): EntryProblem | undefined {
  const bad = checkDotted(text, 'glob');
  if (bad) return bad;
  const segments = text.split('.');
  if (GLOB_CHARS.test(segments[0] ?? '')) {
    return { message: `glob "${text}" starts with a wildcard`, hint: 'start with a literal module name, e.g. mylab.** or mylab.types.*' };
  }
  for (const [i, seg] of segments.entries()) {
    if (!GLOB_SEGMENT.test(seg)) {
      return {
        message: `glob "${text}" uses characters outside the supported glob syntax in "${seg}"`,
        hint: 'use identifiers with *, **, ?, [abc] and {a,b}; negation, extglobs, slashes and colons are not supported',
      };
    }
    if (seg.includes('**') && seg !== '**') {
      return { message: `glob "${text}": ** must be a whole segment`, hint: `write "${text.replace(/\*\*+/g, '*')}" (one segment) or put ** between dots` };
    }
    if (i > 0 && isDunder(seg)) return { message: `glob "${text}" has a dunder segment`, hint: 'dunder names can only be allowed by exact entries' };
  }
  if (!balanced(text)) return { message: `glob "${text}" has unbalanced brackets or braces`, hint: 'close every [ with ] and every { with }' };
  try {
    picomatch.makeRe(toSlashes(text), GLOB_OPTIONS);
  } catch (err) {
    return { message: `glob "${text}" does not compile: ${(err as Error).message}`, hint: 'simplify the pattern' };
  }
  return undefined;
}

function balanced(text: string): boolean {
  let square = 0;
  let curly = 0;
  for (const ch of text) {
    if (ch === '[') square++;
    else if (ch === ']') square--;
    else if (ch === '{') curly++;
    else if (ch === '}') curly--;
    if (square < 0 || curly < 0 || square > 1) return false;
  }
  return square === 0 && curly === 0;
}

/** picomatch options for name globs: no negation, no extglobs (refused at parse time anyway). */
export const GLOB_OPTIONS = { nonegate: true, noextglob: true, dot: false } as const;

export function toSlashes(dotted: string): string {
  return dotted.replaceAll('.', '/');
}

/** Compiles a validated glob entry to the regex that decides it (over the name with dots as `/`). */
export function globRegex(glob: string): RegExp {
  return picomatch.makeRe(toSlashes(glob), GLOB_OPTIONS);
}

/** Parses one entry string. Returns the entry kind or a problem. */
export function classifyEntry(text: string): { kind: Exclude<EntryKind, 'members'> } | { problem: EntryProblem } {
  if (text.includes(':')) {
    const [module, qual, ...rest] = text.split(':');
    if (rest.length > 0 || !module || !qual) {
      return { problem: { message: `entry "${text}" is not module:qualname`, hint: 'use one colon between the module and a dotted qualname, e.g. mylab.models:Outer.Inner' } };
    }
    if (GLOB_CHARS.test(text)) {
      return { problem: { message: `entry "${text}" mixes the module:qualname form with a glob`, hint: 'module:qualname entries are exact; list each name' } };
    }
    const bad = checkDotted(module, 'module') ?? checkDotted(qual, 'qualname');
    return bad ? { problem: bad } : { kind: 'split' };
  }
  if (GLOB_CHARS.test(text)) {
    const bad = checkGlob(text);
    return bad ? { problem: bad } : { kind: 'glob' };
  }
  const bad = checkDotted(text, 'entry');
  if (bad) return { problem: bad };
  if (/[!()|+@/\\'"`,]/.test(text)) {
    return {
      problem: {
        message: `entry "${text}" has characters no Python name has, and they are not part of the supported glob syntax`,
        hint: 'exact names are module.qualname; globs use *, **, ?, [abc] and {a,b} (no negation or extglobs)',
      },
    };
  }
  if (!text.includes('.')) {
    return { problem: { message: `entry "${text}" has no module`, hint: `write module.qualname, e.g. builtins.${text}` } };
  }
  return { kind: 'exact' };
}

/** Checks a `members:` class name. */
export function checkMembersClass(text: string): EntryProblem | undefined {
  const bad = checkDotted(text, 'members class');
  if (bad) return bad;
  if (GLOB_CHARS.test(text) || text.includes(':')) {
    return { message: `members class "${text}" must be an exact module.Class name`, hint: 'e.g. members: mylab.types.Color' };
  }
  if (!text.includes('.')) return { message: `members class "${text}" has no module`, hint: 'e.g. members: mylab.types.Color' };
  return undefined;
}

/** The YAML text of an allow entry for a resolved import, quoted when YAML needs it. */
export function yamlScalar(text: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.:]*$/.test(text) ? text : JSON.stringify(text);
}
