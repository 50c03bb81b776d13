/** One line of the CLI's result list: a report, or why the file could not be scanned. */
import type { ScanReport } from '../scan/report.js';

export type FileResult =
  | { path: string; report: ScanReport }
  | { path: string; error: { code: string; message: string } };

export interface Summary {
  files: number;
  allowed: number;
  blocked: number;
  errors: number;
}

export function summarize(results: readonly FileResult[]): Summary {
  const s: Summary = { files: results.length, allowed: 0, blocked: 0, errors: 0 };
  for (const r of results) {
    if ('error' in r) s.errors++;
    else if (r.report.verdict === 'allowed') s.allowed++;
    else s.blocked++;
  }
  return s;
}

/** 2 when anything could not be scanned, else 1 when anything is blocked, else 0. */
export function exitCodeFor(summary: Summary): 0 | 1 | 2 {
  if (summary.errors > 0) return 2;
  return summary.blocked > 0 ? 1 : 0;
}
