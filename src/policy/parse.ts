/**
 * One policy file's text -> validated plain data, or a `PolicyError` naming the file, line,
 * column and what to write instead. No `extends` is followed here (see resolve.ts).
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import { PolicyError } from '../errors.js';
import { checkMembersClass, classifyEntry, inMainNamespace, type Entry } from './entries.js';
import type { PolicyMode } from './types.js';
import picomatch from 'picomatch';

export const POLICY_VERSION = 1;

export interface Located<T> {
  value: T;
  line?: number;
  column?: number;
}

export interface RuleData {
  files: string[];
  extends: Located<string>[];
  allow: Entry[];
  deny: Entry[];
  line?: number;
  column?: number;
}

/** One file's own content (extends not followed). */
export interface PolicyFileData {
  /** Absolute path, or `preset:<name>`. */
  id: string;
  /** Folder relative paths are taken from. */
  dir: string;
  extends: Located<string>[];
  allow: Entry[];
  deny: Entry[];
  artifacts?: { include: string[]; exclude: string[] };
  rules: RuleData[];
  mode?: PolicyMode;
  pythonLaunchers: string[];
}

const TOP_KEYS = ['version', 'extends', 'allow', 'deny', 'artifacts', 'rules', 'mode', 'python'] as const;
const ARTIFACT_KEYS = ['include', 'exclude'] as const;
const RULE_KEYS = ['files', 'extends', 'allow', 'deny'] as const;
const PYTHON_KEYS = ['launchers'] as const;
const ENTRY_KEYS = ['name', 'members', 'why'] as const;

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function didYouMean(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of choices) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Reads nodes of one document, turning every problem into a located PolicyError. */
class Reader {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  at(node: Node | null | undefined): { line?: number; column?: number } {
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  fail(node: Node | null | undefined, message: string, hint?: string): never {
    throw new PolicyError(message, { file: this.file, ...this.at(node) }, hint);
  }

  map(node: Node | null | undefined, where: string, keys: readonly string[]): Map<string, { key: Node; value: Node | null }> {
    if (!isMap(node)) this.fail(node, `${where} must be a mapping`, `write ${keys.map((k) => `${k}: ...`).join(', ')} on separate lines`);
    const out = new Map<string, { key: Node; value: Node | null }>();
    for (const pair of (node as YAMLMap).items) {
      const key = pair.key as Node | null;
      if (!isScalar(key) || typeof key.value !== 'string') this.fail(key ?? node, `${where} has a key that is not a plain name`);
      const name = key.value as string;
      if (!keys.includes(name)) {
        const guess = didYouMean(name, keys);
        this.fail(key, `unknown key "${name}" in ${where}`, guess ? `did you mean "${guess}"?` : `allowed keys: ${keys.join(', ')}`);
      }
      out.set(name, { key, value: pair.value as Node | null });
    }
    return out;
  }

  string(node: Node | null | undefined, where: string, hint: string): string {
    if (isAlias(node)) this.fail(node, `${where}: YAML aliases are not supported in policy files`, 'write the value out');
    if (!isScalar(node) || typeof node.value !== 'string') this.fail(node, `${where} must be a string`, hint);
    return node.value as string;
  }

  /** A string or a list of strings. */
  strings(node: Node | null | undefined, where: string, hint: string): Located<string>[] {
    if (isScalar(node)) return [{ value: this.string(node, where, hint), ...this.at(node) }];
    if (!isSeq(node)) this.fail(node, `${where} must be a string or a list of strings`, hint);
    return node.items.map((item) => ({ value: this.string(item as Node, `${where} item`, hint), ...this.at(item as Node) }));
  }

  list(node: Node | null | undefined, where: string, hint: string): Node[] {
    if (!isSeq(node)) this.fail(node, `${where} must be a list`, hint);
    return node.items as Node[];
  }
}

function parseEntry(r: Reader, node: Node, where: string, allowMembers: boolean): Entry {
  const from = r.file;
  const example = where === 'deny' ? '- "torch.hub.**"' : '- mylab.models.TinyNet';
  if (isMap(node)) {
    const m = r.map(node, `${where} entry`, allowMembers ? ENTRY_KEYS : ['name', 'why']);
    const why = m.has('why') ? r.string(m.get('why')!.value, 'why', 'a one-line reason') : undefined;
    const name = m.get('name');
    const members = m.get('members');
    if ((name === undefined) === (members === undefined)) {
      r.fail(node, `${where} entry needs exactly one of "name"${allowMembers ? ' or "members"' : ''}`, `e.g. { name: mylab.models.TinyNet, why: our model }`);
    }
    if (members) {
      const cls = r.string(members.value, 'members', 'the exact module.Class whose members may be allowed');
      const bad = checkMembersClass(cls);
      if (bad) r.fail(members.value, bad.message, bad.hint);
      return { kind: 'members', text: cls, from, ...(why !== undefined ? { why } : {}) };
    }
    return withWhy(parseEntryText(r, name!.value, where, example), why);
  }
  return parseEntryText(r, node, where, example);
}

function withWhy(entry: Entry, why: string | undefined): Entry {
  return why === undefined ? entry : { ...entry, why };
}

function parseEntryText(r: Reader, node: Node | null, where: string, example: string): Entry {
  const text = r.string(node, `${where} entry`, `write a dotted name, e.g. ${example}`);
  const kind = classifyEntry(text);
  if ('problem' in kind) r.fail(node, kind.problem.message, kind.problem.hint);
  if (where === 'allow' && kind.kind === 'glob' && inMainNamespace(text)) {
    r.fail(node, `glob "${text}" ranges over ${text.split('.')[0]}, whose names are whatever the loading script imported (from os import system makes __main__.system)`, `list each class defined in the script exactly, e.g. - ${text.split('.')[0]}.TinyNet`);
  }
  const comment = isScalar(node) ? (node.comment ?? '').trim() : '';
  return { kind: kind.kind, text, from: r.file, ...(comment ? { why: comment } : {}) };
}

function parseEntries(r: Reader, node: Node | null, where: 'allow' | 'deny'): Entry[] {
  const hint = where === 'allow' ? 'e.g.\nallow:\n  - mylab.models.TinyNet' : 'e.g.\ndeny:\n  - "torch.hub.**"';
  return r.list(node, where, hint).map((item) => parseEntry(r, item, where, where === 'allow'));
}

function parseGlobs(r: Reader, node: Node | null, where: string): string[] {
  return r.strings(node, where, 'picomatch globs, e.g. "**/*.pt"').map((g) => {
    try {
      picomatch.makeRe(g.value, { dot: true });
    } catch (err) {
      throw new PolicyError(`bad glob "${g.value}" in ${where}: ${(err as Error).message}`, { file: r.file, line: g.line, column: g.column }, 'e.g. "**/*.{pt,pkl}"');
    }
    if (g.value.trim() === '') throw new PolicyError(`empty glob in ${where}`, { file: r.file, line: g.line, column: g.column }, 'e.g. "models/**"');
    return g.value;
  });
}

function parseRule(r: Reader, node: Node): RuleData {
  const m = r.map(node, 'rule', RULE_KEYS);
  const files = m.get('files');
  if (!files) r.fail(node, 'rule needs "files"', 'e.g.\n  - files: "models/sklearn/**"\n    extends: [sklearn]');
  const rule: RuleData = {
    files: parseGlobs(r, files.value, 'rule files'),
    extends: m.has('extends') ? r.strings(m.get('extends')!.value, 'extends', 'preset names or relative paths, e.g. [sklearn]') : [],
    allow: m.has('allow') ? parseEntries(r, m.get('allow')!.value, 'allow') : [],
    deny: m.has('deny') ? parseEntries(r, m.get('deny')!.value, 'deny') : [],
    ...r.at(node),
  };
  if (rule.extends.length + rule.allow.length + rule.deny.length === 0) {
    r.fail(node, 'rule adds nothing', 'give it extends, allow or deny');
  }
  return rule;
}

function parseMode(r: Reader, node: Node | null): PolicyMode {
  const mode = r.string(node, 'mode', 'mode: enforce   # or: report');
  if (mode !== 'enforce' && mode !== 'report') {
    r.fail(node, `mode "${mode}" is not enforce or report`, `mode: ${didYouMean(mode, ['enforce', 'report']) ?? 'enforce'}`);
  }
  return mode;
}

/** Parses one policy file's text. `id` is its absolute path (or `preset:<name>`). */
export function parsePolicyText(text: string, id: string, dir: string): PolicyFileData {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const r: Reader = new Reader(id, lines);
  const err = doc.errors[0];
  if (err) {
    const pos = lines.linePos(err.pos[0]);
    throw new PolicyError(`invalid YAML: ${err.message.split('\n')[0]}`, { file: id, line: pos.line, column: pos.col }, 'check indentation, quotes and brackets near this position');
  }
  const root = doc.contents as Node | null;
  if (root === null) r.fail(null, 'the policy file is empty', 'start with:\nversion: 1\nextends: [default]');
  const top = r.map(root, 'the policy', TOP_KEYS);
  const version = top.get('version');
  if (!version) r.fail(root, 'missing "version"', 'add "version: 1" as the first line');
  if (!isScalar(version.value) || version.value.value !== POLICY_VERSION) {
    r.fail(version.value ?? version.key, `unsupported version ${JSON.stringify(isScalar(version.value) ? version.value.value : null)}`, 'write "version: 1"');
  }
  const data: PolicyFileData = { id, dir, extends: [], allow: [], deny: [], rules: [], pythonLaunchers: [] };
  const get = (k: string): Node | null | undefined => (top.has(k) ? top.get(k)!.value : undefined);
  if (top.has('extends')) data.extends = r.strings(get('extends'), 'extends', 'preset names or relative paths, e.g. [default, ./team.yaml]');
  if (top.has('allow')) data.allow = parseEntries(r, get('allow')!, 'allow');
  if (top.has('deny')) data.deny = parseEntries(r, get('deny')!, 'deny');
  if (top.has('mode')) data.mode = parseMode(r, get('mode')!);
  if (top.has('artifacts')) {
    const a = r.map(get('artifacts'), 'artifacts', ARTIFACT_KEYS);
    data.artifacts = {
      include: a.has('include') ? parseGlobs(r, a.get('include')!.value, 'artifacts.include') : [],
      exclude: a.has('exclude') ? parseGlobs(r, a.get('exclude')!.value, 'artifacts.exclude') : [],
    };
  }
  if (top.has('rules')) data.rules = r.list(get('rules'), 'rules', 'e.g.\nrules:\n  - files: "models/sklearn/**"\n    extends: [sklearn]').map((n) => parseRule(r, n));
  if (top.has('python')) {
    const p = r.map(get('python'), 'python', PYTHON_KEYS);
    if (p.has('launchers')) {
      data.pythonLaunchers = r.strings(p.get('launchers')!.value, 'python.launchers', 'executable names, e.g. [python3.12, uv]').map((l) => {
        if (!/^[A-Za-z0-9._+-]+$/.test(l.value)) {
          throw new PolicyError(`launcher "${l.value}" is not a plain executable name`, { file: id, line: l.line, column: l.column }, 'give the command name only, e.g. python3.12');
        }
        return l.value;
      });
    }
  }
  return data;
}
