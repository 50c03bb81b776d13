/**
 * The error the guard raises (or, in `report` mode, emits as a warning) when a model
 * does not pass the policy. Plain data fields, so callers can log or act on them.
 */
import { PickleGuardError } from '../errors.js';
import { isViolation, type Finding, type FindingCode } from '../findings.js';
import type { ScanReport } from '../scan/report.js';

/** One offending import, with where it is written. */
export interface OffendingGlobal {
  module: string;
  name: string;
  /** Container member ('' for a bare pickle file). */
  member: string;
  offset: number;
  /** Why it was refused: the finding code (`global-not-allowed`, `global-denied` ...). */
  code: string;
}

export interface ViolationDetails {
  /** The file as the application named it (absolute). */
  path: string;
  /** What the guard was intercepting: `fs.readFileSync`, `child_process.spawn` ... */
  operation: string;
  report: ScanReport;
}

/** Prefix `src/scan/verdict.ts` puts before the allow-list line a user may add. */
const SUGGESTION_MARK = "If you trust this model, add to the policy's allow list: ";

function suggestionOf(finding: Finding): string | undefined {
  const at = finding.message.indexOf(SUGGESTION_MARK);
  return at < 0 ? undefined : finding.message.slice(at + SUGGESTION_MARK.length).trim();
}

function describeFinding(f: Finding): string {
  const where = `${f.member ? `${f.member} ` : ''}@${f.offset ?? '?'}`;
  const what = f.module !== undefined ? `${f.module}.${f.name ?? ''} ` : '';
  return `${where}: ${what}[${f.code}] ${f.message}`;
}

export class ViolationError extends PickleGuardError {
  readonly path: string;
  readonly operation: string;
  /** Member of the first violation ('' when the file is a bare pickle). */
  readonly member: string;
  /** Every offending import, in report order. */
  readonly globals: readonly OffendingGlobal[];
  /** Every violation finding (imports, malformed streams, limits, container problems). */
  readonly violations: readonly Finding[];
  /** The policy file (or `preset:` / inline source) that decided. */
  readonly policySource: string;
  /** Lines to add to the policy if the user trusts the model (empty when a denied/unsafe import is involved). */
  readonly suggestions: readonly string[];
  readonly report: ScanReport;

  constructor(details: ViolationDetails) {
    const { path, operation, report } = details;
    const violations = report.findings.filter((f) => isViolation(f.code as FindingCode));
    const globals = report.globals
      .filter((g) => !g.allowed)
      .map((g) => ({ module: g.module, name: g.name, member: g.member, offset: g.offset, code: g.decision }));
    const suggestions = [...new Set(violations.map(suggestionOf).filter((s): s is string => s !== undefined))];
    // A suggestion is only useful when every violation is one the user could allow.
    const allAllowable = violations.every((f) => suggestionOf(f) !== undefined);
    const shown = allAllowable ? suggestions : [];
    const lines = [
      `pickle-guard ${report.policy.mode === 'report' ? 'would block (report mode)' : 'blocked'} ${operation} of ${path}: ${violations.length} violation(s) under policy ${report.policy.source}`,
      ...violations.slice(0, 20).map((f) => `  ${describeFinding(f)}`),
      ...(violations.length > 20 ? [`  ... and ${violations.length - 20} more`] : []),
      ...(shown.length > 0 ? [`  If you trust this model, add to ${report.policy.source}:`, ...shown.map((s) => `    ${s}`)] : []),
    ];
    super('ERR_PICKLE_GUARD_VIOLATION', lines.join('\n'));
    this.path = path;
    this.operation = operation;
    this.member = violations[0]?.member ?? '';
    this.globals = globals;
    this.violations = violations;
    this.policySource = report.policy.source;
    this.suggestions = shown;
    this.report = report;
  }
}
