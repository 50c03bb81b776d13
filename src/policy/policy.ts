/**
 * A resolved policy as the `Policy` contract: allow-lists per file (path-scoped rules
 * applied) and the artifact test. Paths are matched relative to the folder of the file
 * that wrote the glob, absolute, and through their real path (symlinks).
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { CompiledAllowList } from './allow-list.js';
import type { ResolvedPolicyData } from './resolve.js';
import type { AllowList, Policy, PolicyMode } from './types.js';

type Matcher = (path: string) => boolean;

const PATH_GLOB = { dot: true } as const;

function matcher(globs: readonly string[]): Matcher {
  if (globs.length === 0) return () => false;
  const m = picomatch([...globs], PATH_GLOB);
  return (p) => m(p);
}

function posix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/** The spellings of a path a glob may be written against: relative to `base`, absolute, and the same for its real path. */
function candidates(path: string, base: string): string[] {
  const abs = resolve(path);
  const out = [abs];
  try {
    const real = realpathSync(abs);
    if (real !== abs) out.push(real);
  } catch {
    // Not there (yet): the name alone decides.
  }
  const all: string[] = [];
  for (const p of out) {
    all.push(posix(p));
    const rel = relative(base, p);
    if (rel && !isAbsolute(rel)) all.push(posix(rel));
  }
  return all;
}

/** A loaded policy plus the data it was built from (for `policy check` and the Python export). */
export interface LoadedPolicy extends Policy {
  readonly data: ResolvedPolicyData;
}

export function buildPolicy(data: ResolvedPolicyData, modeOverride?: PolicyMode): LoadedPolicy {
  const base = new CompiledAllowList(data.allow, data.deny, data.source);
  const rules = data.rules.map((r) => ({ rule: r, match: matcher(r.files) }));
  const include = matcher(data.artifacts.include);
  const exclude = matcher(data.artifacts.exclude);
  const perRuleSet = new Map<string, CompiledAllowList>();

  function forFile(path: string | undefined): AllowList {
    if (path === undefined || rules.length === 0) return base;
    const hits: number[] = [];
    rules.forEach(({ rule, match }, i) => {
      if (candidates(path, rule.base).some(match)) hits.push(i);
    });
    if (hits.length === 0) return base;
    const key = hits.join(',');
    let list = perRuleSet.get(key);
    if (!list) {
      const chosen = hits.map((i) => data.rules[i]!);
      list = new CompiledAllowList([...data.allow, ...chosen.flatMap((r) => r.allow)], [...data.deny, ...chosen.flatMap((r) => r.deny)], data.source);
      perRuleSet.set(key, list);
    }
    return list;
  }

  return {
    source: data.source,
    mode: modeOverride ?? data.mode,
    data: modeOverride ? { ...data, mode: modeOverride } : data,
    forFile,
    // An artifact when some spelling is included and that same spelling is not excluded:
    // a symlink from an excluded folder to a model elsewhere is still a model.
    isArtifactPath: (path) => candidates(path, data.artifacts.base).some((c) => include(c) && !exclude(c)),
    pythonLaunchers: data.pythonLaunchers,
  };
}

export function isLoadedPolicy(policy: Policy): policy is LoadedPolicy {
  return typeof (policy as Partial<LoadedPolicy>).data === 'object';
}
