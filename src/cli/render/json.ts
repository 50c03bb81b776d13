/**
 * The CLI's JSON document (`--json`), described by schema/report.schema.json.
 * `version` versions this document; each report keeps its own `version` (REPORT_VERSION).
 */
import type { FileResult, Summary } from '../results.js';

export const CLI_JSON_VERSION = 1;

export interface CliJsonDocument {
  tool: { name: 'pickle-guard'; version: string };
  version: typeof CLI_JSON_VERSION;
  summary: Summary;
  /** One per file, in output order: a scan report, or `verdict: 'error'` with the reason. */
  results: Array<Record<string, unknown>>;
}

export function jsonDocument(results: readonly FileResult[], summary: Summary, toolVersion: string): CliJsonDocument {
  return {
    tool: { name: 'pickle-guard', version: toolVersion },
    version: CLI_JSON_VERSION,
    summary,
    results: results.map((r) =>
      'error' in r ? { path: r.path, verdict: 'error', error: r.error } : { ...r.report, path: r.path },
    ),
  };
}

/** JSON.stringify that writes bigints as numbers when safe, else as strings. */
export function stringify(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v)) : v),
    2,
  );
}
