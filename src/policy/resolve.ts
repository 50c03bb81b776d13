/**
 * Follows `extends` (presets and relative files) and merges everything into one resolved
 * policy. Cycles, unknown presets and unreadable files are PolicyErrors located at the
 * `extends` item that named them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolicyError } from '../errors.js';
import type { Entry } from './entries.js';
import { didYouMean, parsePolicyText, type Located, type PolicyFileData } from './parse.js';
import type { PolicyMode } from './types.js';

/** Where the shipped presets live (the same relative place from src/ and dist/). */
export const PRESET_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));

export interface ResolvedRule {
  files: string[];
  /** Folder the `files` globs are relative to. */
  base: string;
  allow: Entry[];
  deny: Entry[];
  from: string;
}

export interface ResolvedPolicyData {
  source: string;
  mode: PolicyMode;
  allow: Entry[];
  deny: Entry[];
  artifacts: { include: string[]; exclude: string[]; base: string };
  rules: ResolvedRule[];
  pythonLaunchers: string[];
  /** Every file/preset read, in the order they were merged. */
  chain: string[];
}

/** What `artifacts` means when no policy in the chain sets it. */
export const DEFAULT_ARTIFACTS = {
  include: [
    '**/*.{pt,pth,bin,ckpt,pkl,pickle,joblib,jbl,npy,npz,sav,dat,model,mar,pt2}',
    '**/*.{pkl,pickle,joblib}.{gz,z,bz2,xz,lzma,lz4}',
  ],
  exclude: [] as string[],
};

export function presetNames(): string[] {
  return readdirSync(PRESET_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

const presetCache = new Map<string, PolicyFileData>();

function readPreset(name: string, at: { file: string; line?: number; column?: number }): PolicyFileData {
  const cached = presetCache.get(name);
  if (cached) return cached;
  const names = presetNames();
  if (!/^[a-z0-9-]+$/.test(name) || !names.includes(name)) {
    const guess = didYouMean(name, names);
    throw new PolicyError(`unknown preset "${name}"`, at, guess ? `did you mean "${guess}"? presets: ${names.join(', ')}` : `presets: ${names.join(', ')}; for a file write a relative path such as ./team.yaml`);
  }
  const data = parsePolicyText(readFileSync(`${PRESET_DIR}${name}.yaml`, 'utf8'), `preset:${name}`, process.cwd());
  presetCache.set(name, data);
  return data;
}

export function readPolicyFile(path: string, at?: { file: string; line?: number; column?: number }): PolicyFileData {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PolicyError(`cannot read policy file ${path} (${code})`, at ?? { file: path }, 'check the path; relative extends are taken from the folder of the file that names them', { cause: err });
  }
  return parsePolicyText(text, path, dirname(path));
}

function isPathRef(ref: string): boolean {
  return ref.startsWith('./') || ref.startsWith('../') || isAbsolute(ref) || /\.ya?ml$/.test(ref);
}

function readRef(ref: Located<string>, from: PolicyFileData): PolicyFileData {
  const at = { file: from.id, ...(ref.line !== undefined ? { line: ref.line } : {}), ...(ref.column !== undefined ? { column: ref.column } : {}) };
  if (!isPathRef(ref.value)) return readPreset(ref.value, at);
  if (from.id.startsWith('preset:')) throw new PolicyError(`presets may only extend other presets, not "${ref.value}"`, at);
  const path = resolve(from.dir, ref.value);
  if (!existsSync(path)) throw new PolicyError(`extends "${ref.value}": no such file ${path}`, at, 'relative paths are taken from the folder of this policy file');
  return readPolicyFile(path, at);
}

interface Merged {
  allow: Entry[];
  deny: Entry[];
  rules: ResolvedRule[];
  mode?: PolicyMode;
  artifacts?: ResolvedPolicyData['artifacts'];
  pythonLaunchers: string[];
  chain: string[];
}

function mergeFile(data: PolicyFileData, stack: string[]): Merged {
  const out: Merged = { allow: [], deny: [], rules: [], pythonLaunchers: [], chain: [] };
  for (const ref of data.extends) {
    const child = readRef(ref, data);
    const cycleAt = stack.indexOf(child.id);
    if (cycleAt >= 0 || child.id === data.id) {
      throw new PolicyError(
        `extends cycle: ${[...stack.slice(Math.max(cycleAt, 0)), data.id, child.id].join(' -> ')}`,
        { file: data.id, ...(ref.line !== undefined ? { line: ref.line, column: ref.column } : {}) },
        `remove "${ref.value}" from extends`,
      );
    }
    const sub = mergeFile(child, [...stack, data.id]);
    out.allow.push(...sub.allow);
    out.deny.push(...sub.deny);
    out.rules.push(...sub.rules);
    out.pythonLaunchers.push(...sub.pythonLaunchers);
    for (const c of sub.chain) if (!out.chain.includes(c)) out.chain.push(c);
    if (sub.mode) out.mode = sub.mode;
    if (sub.artifacts) out.artifacts = sub.artifacts;
  }
  out.allow.push(...data.allow);
  out.deny.push(...data.deny);
  for (const rule of data.rules) out.rules.push(resolveRule(rule, data, stack));
  out.pythonLaunchers.push(...data.pythonLaunchers);
  if (!out.chain.includes(data.id)) out.chain.push(data.id);
  if (data.mode) out.mode = data.mode;
  if (data.artifacts) out.artifacts = { ...data.artifacts, base: data.dir };
  return out;
}

function resolveRule(rule: PolicyFileData['rules'][number], data: PolicyFileData, stack: string[]): ResolvedRule {
  const allow: Entry[] = [];
  const deny: Entry[] = [];
  for (const ref of rule.extends) {
    const child = readRef(ref, data);
    if (stack.includes(child.id) || child.id === data.id) {
      throw new PolicyError(`extends cycle through a rule: ${[...stack, data.id, child.id].join(' -> ')}`, { file: data.id, line: ref.line, column: ref.column }, `remove "${ref.value}"`);
    }
    const sub = mergeFile(child, [...stack, data.id]);
    if (sub.rules.length > 0) {
      throw new PolicyError(`a rule extends "${ref.value}", which has rules of its own`, { file: data.id, line: ref.line, column: ref.column }, 'rules do not nest; extend a policy without rules');
    }
    allow.push(...sub.allow);
    deny.push(...sub.deny);
  }
  allow.push(...rule.allow);
  deny.push(...rule.deny);
  return { files: rule.files, base: data.dir, allow, deny, from: data.id };
}

/** Resolves a parsed file (and everything it extends) into one policy. */
export function resolveData(data: PolicyFileData): ResolvedPolicyData {
  const merged = mergeFile(data, []);
  return {
    source: data.id,
    mode: merged.mode ?? 'enforce',
    allow: merged.allow,
    deny: merged.deny,
    artifacts: merged.artifacts ?? { ...DEFAULT_ARTIFACTS, base: data.dir },
    rules: merged.rules,
    pythonLaunchers: [...new Set(merged.pythonLaunchers)],
    chain: merged.chain,
  };
}

export function presetData(name: string): PolicyFileData {
  return readPreset(name, { file: `preset:${name}` });
}
