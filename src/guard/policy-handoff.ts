/**
 * How workers and child processes get the exact policy this process installed, as the value
 * of PICKLE_GUARD_POLICY (which their `register` reads):
 * - a policy loaded from a file that still loads to the same policy, or a preset: its file
 *   path / `preset:NAME` (so errors name the user's file);
 * - any other loaded policy (an inline list, a policy object built in code): its effective
 *   YAML, written once to a private temp file (folder 0700, file 0600, removed at exit).
 * A policy object that is not a loaded policy (a hand-made `Policy`) has no data to write:
 * starting a worker or child is refused with a UsageError rather than letting it fall back
 * to discovery, which may find a weaker policy.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { UsageError } from '../errors.js';
import { effectiveYaml } from '../policy/effective.js';
import type { Entry } from '../policy/entries.js';
import type { ResolvedPolicyData } from '../policy/resolve.js';
import { isLoadedPolicy, resolvePolicy, type LoadedPolicy } from '../policy/index.js';
import type { Policy } from '../policy/types.js';
import { asGuard } from './state.js';

/** Policy object -> the temp file holding its YAML (one per installed policy object). */
const written = new WeakMap<Policy, string>();
let folder: string | undefined;
let count = 0;

function privateFolder(): string {
  if (folder && existsSync(folder)) return folder;
  // mkdtemp creates the folder 0700.
  const made = mkdtempSync(join(tmpdir(), 'pickle-guard-policy-'));
  folder = made;
  process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  return made;
}

function writePolicyFile(policy: LoadedPolicy): string {
  const known = written.get(policy);
  if (known && existsSync(known)) return known;
  try {
    const path = join(privateFolder(), `policy-${++count}.yaml`);
    writeFileSync(path, effectiveYaml(policy.data), { mode: 0o600, flag: 'wx' });
    written.set(policy, path);
    return path;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(
      `pickle-guard could not write the installed policy to a temp file for workers and child processes (${code} in ${tmpdir()}): ` +
        'they are not started rather than left to find a possibly weaker policy. Point TMPDIR at a writable folder, or install a policy file.',
      { cause: error },
    );
  }
}

/**
 * True when `source` (a file still on disk, or `preset:NAME`) loads to this very policy (same
 * fingerprint). A file edited since it was loaded, or a policy built in code under a file's
 * name, is written out instead. Decided again when the file's size or times change.
 */
function loadableAsIs(policy: LoadedPolicy): boolean {
  const { source } = policy;
  if (policy.data.source !== source) return false;
  if (source.startsWith('preset:')) return sameAsLoaded(policy, 'preset');
  if (!isAbsolute(source)) return false;
  const st = statSync(source, { throwIfNoEntry: false });
  return st?.isFile() === true && sameAsLoaded(policy, `${st.size}:${st.mtimeMs}:${st.ctimeMs}`);
}

const checked = new WeakMap<Policy, { version: string; same: boolean }>();

/**
 * What decides (mode aside, it is passed on separately): entries in order, artifact globs,
 * rules, launchers. Stricter than needed (order, duplicates): a difference only costs a
 * temp file. JSON, not the effective YAML: ~40x cheaper on the default preset.
 */
function fingerprint(data: ResolvedPolicyData): string {
  const entries = (list: readonly Entry[]) => list.map((e) => `${e.kind}:${e.text}`);
  return JSON.stringify([
    entries(data.allow),
    entries(data.deny),
    data.artifacts,
    data.rules.map((r) => [r.files, r.base, entries(r.allow), entries(r.deny)]),
    data.pythonLaunchers,
  ]);
}

function sameAsLoaded(policy: LoadedPolicy, version: string): boolean {
  const known = checked.get(policy);
  if (known?.version === version) return known.same;
  let same = false;
  try {
    const fresh = resolvePolicy({ explicit: policy.source, env: {} });
    same = fingerprint(fresh.data) === fingerprint(policy.data);
  } catch {
    // unreadable or broken now: the data we hold is written out instead
  }
  checked.set(policy, { version, same });
  return same;
}

/** The PICKLE_GUARD_POLICY value that makes a child load exactly `policy` (its mode is passed separately). */
export function policyForChildren(policy: Policy): string {
  if (!isLoadedPolicy(policy)) {
    throw new UsageError(
      `pickle-guard cannot pass the policy object given to install() (source "${policy.source}") on to workers and child processes: ` +
        'it is not a loaded policy, so there is nothing to write out, and letting them find their own policy could be weaker. ' +
        'Give install() a policy file, a preset, an inline list or a policy from loadPolicyFile/resolvePolicy/policyFromList, ' +
        'or install({ children: false }) and guard the children yourself (PICKLE_GUARD_POLICY).',
    );
  }
  return asGuard(() => (loadableAsIs(policy) ? policy.source : writePolicyFile(policy)));
}
