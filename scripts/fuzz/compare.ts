/**
 * The differential rule: a file the scanner `allowed` is a bypass when a real loader
 * imported a name the report does not list. Pure: report + harness rows in, verdict out.
 */
import { isViolation } from '../../src/findings.js';
import type { ScanReport } from '../../src/scan/index.js';

/** One JSON line of scripts/fuzz/loader_diff.py. */
export interface LoaderRow {
  file: string;
  loader: string;
  imports: Array<[string, string]>;
  /** The same names after CPython's Python-2 mapping (module/name as find_class resolves them for protocol < 3). */
  mapped: Array<[string, string]>;
  error: string | null;
  status: 'ok' | 'error' | 'timeout' | 'crash';
}

export interface Disagreement {
  loader: string;
  /** `module.name` the loader imported that the report does not list. */
  unlisted: string[];
}

/** Every spelling a report global can be matched by: as resolved, as written, torch's tensor alias. */
export function listedNames(report: ScanReport): Set<string> {
  const out = new Set<string>();
  for (const g of report.globals) {
    out.add(`${g.module}.${g.name}`);
    if (g.written) out.add(`${g.written.module}.${g.written.name}`);
  }
  // torch.load maps module torch.tensor to torch._tensor before importing
  for (const n of [...out]) if (n.startsWith('torch.tensor.')) out.add(`torch._tensor.${n.slice('torch.tensor.'.length)}`);
  return out;
}

/** The loaders whose imports the report misses (only meaningful when the verdict is `allowed`). */
export function disagreements(report: ScanReport, rows: readonly LoaderRow[]): Disagreement[] {
  const listed = listedNames(report);
  const out: Disagreement[] = [];
  for (const row of rows) {
    const unlisted: string[] = [];
    row.imports.forEach(([m, n], i) => {
      const [mm, mn] = row.mapped[i] ?? [m, n];
      if (!listed.has(`${m}.${n}`) && !listed.has(`${mm}.${mn}`)) unlisted.push(`${m}.${n}`);
    });
    if (unlisted.length > 0) out.push({ loader: row.loader, unlisted: [...new Set(unlisted)] });
  }
  return out;
}

/** The scanner's own invariant: `allowed` never comes with a malformed/limit (or any violation) finding. */
export function selfInconsistent(report: ScanReport): boolean {
  return report.verdict === 'allowed' && report.findings.some((f) => isViolation(f.code));
}
