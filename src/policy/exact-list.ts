/**
 * The plain-array policy (`scanFile(p, { policy: ['mylab.models.TinyNet'] })`): each string
 * is an allow entry judged by the same matcher as a policy file's, so the same rules hold:
 * `a.b.C` allows module `a.b` + name `C` only, `a:b.C` is the one way to allow an attribute
 * walk, known-dangerous names are `global-denied` and never suggested, dunders need an
 * exact entry. Only exact entries: a glob or `members:` needs a policy file.
 * The result is a loaded policy, so the guard also enforces it in Python children.
 */
import { PolicyError } from '../errors.js';
import { classifyEntry, type Entry } from './entries.js';
import { buildPolicy, type LoadedPolicy } from './policy.js';
import type { AllowList } from './types.js';

const SOURCE = 'inline allow-list';

function entryOf(text: unknown, index: number, source: string): Entry {
  const at = { file: source };
  if (typeof text !== 'string') {
    throw new PolicyError(`entry ${index} is ${text === null ? 'null' : typeof text}, not a string`, at, 'give names as strings, e.g. "mylab.models.TinyNet"');
  }
  const kind = classifyEntry(text);
  if ('problem' in kind) throw new PolicyError(`entry ${index}: ${kind.problem.message}`, at, kind.problem.hint);
  if (kind.kind === 'glob') {
    throw new PolicyError(
      `entry ${index} "${text}" is a glob; an inline allow-list takes exact names only`,
      at,
      'list each name (module.qualname, or module:qualname for a dotted qualname), or put the glob in a pickle-guard.yaml',
    );
  }
  return { kind: kind.kind, text, from: source };
}

/** A policy allowing exactly `names`. Throws `PolicyError` on an entry that is not an exact name. */
export function policyFromList(names: readonly string[], source = SOURCE): LoadedPolicy {
  const allow = names.map((n, i) => entryOf(n, i, source));
  return buildPolicy({
    source,
    mode: 'enforce',
    allow,
    deny: [],
    // No artifact globs: a list names globals, not files (the guard supplies its default).
    artifacts: { include: [], exclude: [], base: process.cwd() },
    rules: [],
    pythonLaunchers: [],
    chain: [source],
  });
}

/** The allow-list of `policyFromList(names)`. */
export function exactAllowList(names: readonly string[]): AllowList {
  return policyFromList(names).forFile(undefined);
}
