/**
 * Which policy applies: an explicit file (option, `--policy`, `PICKLE_GUARD_POLICY`) first;
 * else `pickle-guard.yaml` / `.pickle-guard.yaml` found walking up from the working
 * directory to the nearest `package.json` folder; else the `default` preset.
 * `PICKLE_GUARD_MODE` overrides the mode. Errors never fall back to a weaker policy.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PolicyError } from '../errors.js';
import { buildPolicy, type LoadedPolicy } from './policy.js';
import { presetData, readPolicyFile, resolveData } from './resolve.js';
import type { PolicyMode } from './types.js';

export const POLICY_FILE_NAMES = ['pickle-guard.yaml', '.pickle-guard.yaml'] as const;

export function loadPolicyFile(path: string, modeOverride?: PolicyMode): LoadedPolicy {
  return buildPolicy(resolveData(readPolicyFile(resolve(path))), modeOverride);
}

export function presetPolicy(name: string, modeOverride?: PolicyMode): LoadedPolicy {
  return buildPolicy(resolveData(presetData(name)), modeOverride);
}

/** `preset:NAME` names a preset; anything else is a file path. */
function loadNamed(ref: string, cwd: string, mode?: PolicyMode): LoadedPolicy {
  return ref.startsWith('preset:') ? presetPolicy(ref.slice('preset:'.length), mode) : loadPolicyFile(resolve(cwd, ref), mode);
}

/** The policy file found by walking up from `cwd`, or undefined. Two candidates in one folder are an error. */
export function discoverPolicyFile(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const found = POLICY_FILE_NAMES.map((n) => join(dir, n)).filter((p) => existsSync(p));
    if (found.length > 1) {
      throw new PolicyError(`two policy files in one folder: ${found.join(' and ')}`, { file: found[0]! }, 'keep one of them');
    }
    if (found[0]) return found[0];
    if (existsSync(join(dir, 'package.json'))) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function modeFromEnv(env: NodeJS.ProcessEnv): PolicyMode | undefined {
  const raw = env.PICKLE_GUARD_MODE;
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'enforce' || raw === 'report') return raw;
  throw new PolicyError(`PICKLE_GUARD_MODE="${raw}" is not enforce or report`, { file: 'PICKLE_GUARD_MODE' }, 'set PICKLE_GUARD_MODE=enforce or PICKLE_GUARD_MODE=report, or unset it');
}

export interface ResolveOptions {
  /** A policy file (or `preset:NAME`) given by the caller or `--policy`. */
  explicit?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function resolvePolicy(opts: ResolveOptions = {}): LoadedPolicy {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const mode = modeFromEnv(env);
  const explicit = opts.explicit || env.PICKLE_GUARD_POLICY;
  if (explicit) return loadNamed(explicit, cwd, mode);
  const found = discoverPolicyFile(cwd);
  return found ? loadPolicyFile(found, mode) : presetPolicy('default', mode);
}
