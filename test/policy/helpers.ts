/** Shared helpers for the policy tests: temp folders with policy files, import records. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CheckedImport } from '../../src/policy/allow-list.js';

/** A fresh folder with the given files (path -> text). Returns its absolute path. */
export function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pg-policy-'));
  for (const [rel, text] of Object.entries(files)) {
    const full = join(root, rel);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
  return root;
}

/** An import as the pickle machine reports it (traversal = the name is dotted). */
export function imp(module: string, name: string, origin: 'import' | 'getattr' = 'import'): CheckedImport {
  return { module, name, origin, traversal: origin === 'import' && name.includes('.'), dunder: false };
}

/** `module.name` split at the last dot, as a GLOBAL opcode would carry it. */
export function parts(full: string): [string, string] {
  const i = full.lastIndexOf('.');
  return [full.slice(0, i), full.slice(i + 1)];
}
