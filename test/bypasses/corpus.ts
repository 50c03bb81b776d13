/**
 * Reads the bypass corpus manifest written by `scripts/fixtures/bypasses.py` and matches
 * a scan report against a case's expectations.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Finding } from '../../src/findings.js';
import type { ScanReport } from '../../src/scan/index.js';

export const CORPUS_DIR = fileURLToPath(new URL('../fixtures/bypasses/', import.meta.url));

/** One expected finding; `code` may list acceptable alternatives. */
export interface ExpectedFinding {
  code: string | string[];
  module?: string;
  name?: string;
  member?: string;
  offset?: number;
  opcode?: string;
}

export interface BypassCase {
  id: string;
  group: string;
  file: string;
  source: string[];
  trick: string;
  verdict: 'blocked' | 'allowed';
  expect: ExpectedFinding[];
  /** What the recording C unpickler asked for; null when no stdlib loader reads the file. */
  proof: null | { start: number; count: number | null; find_class: string[][]; called: string[][]; pickles: number; error: string | null };
  reaches: [string, string] | null;
  /** Allow entries of a user policy to scan with, instead of the default preset. */
  policy?: string[];
}

export function loadCorpus(): BypassCase[] {
  const manifest = JSON.parse(readFileSync(`${CORPUS_DIR}manifest.json`, 'utf8')) as { cases: BypassCase[] };
  return manifest.cases;
}

function matches(f: Finding, e: ExpectedFinding): boolean {
  const codes = Array.isArray(e.code) ? e.code : [e.code];
  if (!codes.includes(f.code)) return false;
  for (const key of ['module', 'name', 'member', 'offset', 'opcode'] as const) {
    if (e[key] !== undefined && f[key] !== e[key]) return false;
  }
  return true;
}

/** Expectations no finding satisfies (empty when the report is as expected). */
export function unmet(report: ScanReport, expected: readonly ExpectedFinding[]): ExpectedFinding[] {
  return expected.filter((e) => !report.findings.some((f) => matches(f, e)));
}

/** A compact line per finding for assertion messages. */
export function describe(report: ScanReport): string {
  const lines = report.findings.map((f) =>
    [f.code, f.member, f.module !== undefined ? `${f.module}:${f.name}` : undefined, f.opcode, f.offset !== undefined ? `@${f.offset}` : undefined]
      .filter((x) => x !== undefined && x !== '')
      .join(' '),
  );
  return `format=${report.format} verdict=${report.verdict}\n  ${lines.join('\n  ')}`;
}
