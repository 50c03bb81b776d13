/**
 * The allow-list in force for one file: allow and deny entries compiled for fast,
 * exact-by-default matching. Order of judgement:
 *   1. deny (any entry kind, any name form) wins;
 *   2. an exact or module:qualname entry allows;
 *   3. a known-dangerous name is denied (members entries and globs never allow it);
 *   4. a dunder or attribute-traversal name is refused (only exact entries allow those);
 *   5. a members entry allows a getattr-derived `Class.NAME`;
 *   6. a glob allows a plain name made of ASCII identifier segments, outside the script's
 *      namespace (`__main__`, see MAIN_NAMESPACES);
 *   7. otherwise not allowed, with the YAML line that would allow it.
 */
import type { ImportRecord } from '../pickle/types.js';
import { dangerReason } from './dangerous.js';
import { IDENTIFIER, MAIN_NAMESPACES, globRegex, isDunder, toSlashes, yamlScalar, type Entry } from './entries.js';
import type { AllowList, ImportDecision } from './types.js';

export type CheckedImport = Pick<ImportRecord, 'module' | 'name' | 'origin' | 'traversal' | 'dunder'>;

interface CompiledGlob {
  entry: Entry;
  re: RegExp;
}

/** Plain compiled form, shared with the Python export. */
export interface CompiledSets {
  exact: Map<string, Entry>;
  split: Map<string, Entry>;
  members: Map<string, Entry>;
  globs: CompiledGlob[];
}

function compile(entries: readonly Entry[]): CompiledSets {
  const sets: CompiledSets = { exact: new Map(), split: new Map(), members: new Map(), globs: [] };
  for (const e of entries) {
    if (e.kind === 'glob') sets.globs.push({ entry: e, re: globRegex(e.text) });
    else if (!sets[e.kind].has(e.text)) sets[e.kind].set(e.text, e);
  }
  return sets;
}

/** Everything about a name the decision needs, computed once. */
interface NameFacts {
  module: string;
  name: string;
  full: string;
  splitKey: string;
  getattr: boolean;
  traversal: boolean;
  dunder: boolean;
  globbable: boolean;
}

function factsOf(imp: CheckedImport): NameFacts {
  const full = `${imp.module}.${imp.name}`;
  const segments = full.split('.');
  const getattr = imp.origin === 'getattr';
  // A getattr-derived `Class.NAME` has a dot by construction; it is not a find_class walk.
  const traversal = !getattr && (imp.traversal || imp.name.includes('.'));
  // The first module segment is a module name CPython imports (`__main__`, TorchScript's
  // `__torch__`), not an attribute walk; every later dunder segment is. `imp.dunder` is
  // not used: it is computed from the same strings, with the first segment included.
  const dunder = segments.slice(1).some(isDunder);
  return {
    module: imp.module,
    name: imp.name,
    full,
    splitKey: `${imp.module}:${imp.name}`,
    getattr,
    traversal,
    dunder,
    // Names in the script's namespace (`__main__`) are whatever it imported: exact entries only.
    globbable: !traversal && !dunder && !MAIN_NAMESPACES.includes(segments[0]!) && segments.every((s) => IDENTIFIER.test(s)),
  };
}

export class CompiledAllowList implements AllowList {
  readonly allow: CompiledSets;
  readonly deny: CompiledSets;

  constructor(
    allow: readonly Entry[],
    deny: readonly Entry[],
    /** The policy that decides (named in every refusal). */
    readonly source: string,
  ) {
    this.allow = compile(allow);
    this.deny = compile(deny);
  }

  /** Decisions are pure functions of (origin, module, name); pickles repeat names a lot. */
  private readonly cache = new Map<string, ImportDecision>();

  check(imp: CheckedImport): ImportDecision {
    const key = `${imp.origin}\n${imp.traversal ? 1 : 0}\n${imp.module}\n${imp.name}`;
    let decision = this.cache.get(key);
    if (decision === undefined) {
      decision = this.decide(factsOf(imp));
      if (this.cache.size >= 4096) this.cache.clear();
      this.cache.set(key, decision);
    }
    return decision;
  }

  private decide(f: NameFacts): ImportDecision {
    const denied = this.denyingEntry(f);
    if (denied) {
      return { allowed: false, code: 'global-denied', reason: `${f.full} is denied by "${denied.text}" in ${denied.from}` };
    }
    const exact = this.exactEntry(f);
    if (exact) return { allowed: true, entry: exact.text };
    const danger = dangerReason(f.module, f.name);
    if (danger !== undefined) {
      return {
        allowed: false,
        code: 'global-denied',
        reason: `${f.full} is on pickle-guard's known-dangerous list (${danger}); it is never suggested and no glob allows it (policy ${this.source})`,
      };
    }
    if (f.dunder) {
      return {
        allowed: false,
        code: 'attribute-traversal',
        reason: `${f.module} + ${f.name} reaches a dunder name, which only an exact entry can allow; this is how pickle exploits escape allow-lists (policy ${this.source})`,
      };
    }
    if (f.traversal) {
      return {
        allowed: false,
        code: 'attribute-traversal',
        reason: `${f.module} + ${f.name} walks attributes from module ${f.module}, which only an exact module:qualname entry can allow (policy ${this.source})`,
        suggestion: `- ${yamlScalar(f.splitKey)}`,
      };
    }
    const members = this.membersEntry(f);
    if (members) return { allowed: true, entry: members.text };
    const glob = f.globbable ? this.globEntry(this.allow, f) : undefined;
    if (glob) return { allowed: true, entry: glob.text };
    return {
      allowed: false,
      code: 'global-not-allowed',
      reason: `${f.full} is not allowed by ${describeSource(this.source)}`,
      suggestion: `- ${yamlScalar(f.full)}`,
    };
  }

  private denyingEntry(f: NameFacts): Entry | undefined {
    return this.deny.exact.get(f.full) ?? this.deny.split.get(f.splitKey) ?? this.globEntry(this.deny, f, true);
  }

  private exactEntry(f: NameFacts): Entry | undefined {
    const split = this.allow.split.get(f.splitKey);
    if (split) return split;
    if (!f.traversal) {
      const exact = this.allow.exact.get(f.full);
      if (exact) return exact;
    }
    return undefined;
  }

  /** A `members:` entry covers `Class.NAME` from the constrained getattr, for plain member names. */
  private membersEntry(f: NameFacts): Entry | undefined {
    if (!f.getattr) return undefined;
    const dot = f.full.lastIndexOf('.');
    const member = f.full.slice(dot + 1);
    return IDENTIFIER.test(member) && !isDunder(member) ? this.allow.members.get(f.full.slice(0, dot)) : undefined;
  }

  private globEntry(sets: CompiledSets, f: NameFacts, anyName = false): Entry | undefined {
    if (!anyName && !f.globbable) return undefined;
    const subject = toSlashes(f.full);
    return sets.globs.find((g) => g.re.test(subject))?.entry;
  }
}

function describeSource(source: string): string {
  return source.startsWith('preset:')
    ? `the built-in ${source} policy (no pickle-guard.yaml was found; create one with "extends: [${source.slice(7)}]" and an allow list)`
    : `policy ${source}`;
}
