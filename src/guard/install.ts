/**
 * install() / uninstall() / isInstalled(). The hooks are placed once per process (shared
 * state under a Symbol.for key, so a second copy of the package reuses them) and read the
 * active config on every call; uninstall() puts back the exact original functions.
 */
import { existsSync, realpathSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import picomatch from 'picomatch';
import { DEFAULT_ARTIFACTS, isLoadedPolicy, policyFromList, resolvePolicy, type LoadedPolicy } from '../policy/index.js';
import type { Policy, PolicyMode } from '../policy/types.js';
import type { Limits } from '../scan/index.js';
import { patchChildProcess } from './child-hooks.js';
import { patchFs } from './fs-hooks.js';
import { guardState, type GuardConfig } from './state.js';
import { patchWorkers } from './worker-hooks.js';
import { declareArtifactGlobs } from './which-files.js';

export interface InstallOptions {
  /**
   * A loaded policy, a list of exact `module.qualname` entries (judged with the default
   * artifact globs), or a policy file path / `preset:NAME`. Default: `PICKLE_GUARD_POLICY`,
   * else the `pickle-guard.yaml` found from `cwd` upwards, else `preset:default`.
   */
  policy?: Policy | readonly string[] | string;
  /** Overrides the policy's mode (and `PICKLE_GUARD_MODE`). */
  mode?: PolicyMode;
  /** Where policy discovery starts. Default: process.cwd(). */
  cwd?: string;
  /** Environment read for PICKLE_GUARD_POLICY / PICKLE_GUARD_MODE. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  limits?: Partial<Limits>;
  /**
   * Also guard worker threads and child processes with this very policy (needs the built
   * register.js). Default true. With a hand-made `Policy` object (nothing to pass on) starting
   * a worker or child then throws UsageError; `false` opts out (docs/guard.md).
   */
  children?: boolean;
}

function withMode(policy: Policy, mode: PolicyMode | undefined): Policy {
  if (!mode || mode === policy.mode) return policy;
  // A loaded policy keeps its data (the Python side compiles it), with the mode replaced.
  if (isLoadedPolicy(policy)) return { ...policy, mode, data: { ...policy.data, mode } } as LoadedPolicy;
  return {
    source: policy.source,
    mode,
    forFile: (path) => policy.forFile(path),
    isArtifactPath: (path) => policy.isArtifactPath(path),
    pythonLaunchers: policy.pythonLaunchers,
  };
}

/** The default artifact globs, for policies given as a plain list (matched on the absolute and the real path, dot files included). */
function defaultArtifactMatcher(): (path: string) => boolean {
  const match = picomatch([...DEFAULT_ARTIFACTS.include], { dot: true });
  return (path) => {
    if (match(path)) return true;
    try {
      const real = realpathSync.native(path);
      return real !== path && match(real);
    } catch {
      return false; // not there: nothing will be read
    }
  };
}

function toPolicy(options: InstallOptions): Policy {
  const { policy } = options;
  if (policy === undefined || typeof policy === 'string') {
    const env = options.env ?? process.env;
    const loaded = resolvePolicy({ ...(policy ? { explicit: policy } : {}), ...(options.cwd ? { cwd: options.cwd } : {}), env });
    const chosen = withMode(loaded, options.mode);
    // Built by buildPolicy from these very globs: the name shortcut may use them (which-files.ts).
    declareArtifactGlobs(chosen, loaded.data.artifacts.include);
    return chosen;
  }
  if (Array.isArray(policy)) {
    const list = policyFromList(policy as readonly string[]);
    // The data says what the guard does (default artifact globs), so the policy written out
    // for workers and children (policy-handoff.ts) judges the same files.
    const artifacts = { include: [...DEFAULT_ARTIFACTS.include], exclude: [], base: list.data.artifacts.base };
    const inline = withMode({ ...list, data: { ...list.data, artifacts }, isArtifactPath: defaultArtifactMatcher() } as LoadedPolicy, options.mode);
    declareArtifactGlobs(inline, DEFAULT_ARTIFACTS.include);
    return inline;
  }
  const given = policy as Policy;
  if (typeof given.forFile !== 'function' || typeof given.isArtifactPath !== 'function') {
    throw new UsageError('install({ policy }) needs a Policy, a list of allowed globals, or a policy file path');
  }
  return withMode(given, options.mode);
}

/** The built register.js next to this module, when there is one (not when running from .ts sources). */
export function registerPath(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  if (extname(here) !== '.js') return undefined;
  const path = join(dirname(here), 'register.js');
  return existsSync(path) ? path : undefined;
}

/** Installs (or reconfigures) the guard. Returns the policy in force. */
export function install(options: InstallOptions = {}): Policy {
  const policy = toPolicy(options);
  const state = guardState();
  const reg = registerPath();
  const config: GuardConfig = {
    policy,
    children: options.children ?? true,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(reg ? { registerPath: reg } : {}),
  };
  if (state.restore.length === 0) {
    state.restore = [...patchFs(), ...patchChildProcess(), ...patchWorkers()];
    // ESM `import { readFileSync } from 'node:fs'` reads a snapshot: refresh it.
    syncBuiltinESMExports();
  }
  state.config = config;
  state.cache.clear();
  return policy;
}

/** Removes every hook, restoring the original functions. Safe to call when not installed. */
export function uninstall(): void {
  const state = guardState();
  state.config = undefined;
  const steps = state.restore.splice(0).reverse();
  for (const step of steps) step();
  state.cache.clear();
  if (steps.length > 0) syncBuiltinESMExports();
}

export function isInstalled(): boolean {
  return guardState().config !== undefined;
}

/** The policy the installed guard uses, if any. */
export function installedPolicy(): Policy | undefined {
  return guardState().config?.policy;
}
