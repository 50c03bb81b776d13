/**
 * The parent-side error for what a Python child refused: the same code and fields style
 * as ViolationError (src/guard/violation-error.ts), built from the child's report.
 */
import { PickleGuardError } from '../../errors.js';
import type { ChildViolation } from './report.js';

/** Prefix src/scan/verdict.ts (and the Python side) put before the allow-list line to add. */
const SUGGESTION_MARK = "If you trust this model, add to the policy's allow list: ";

function suggestionOf(v: ChildViolation): string | undefined {
  const at = v.message.indexOf(SUGGESTION_MARK);
  return at < 0 ? undefined : v.message.slice(at + SUGGESTION_MARK.length).trim();
}

export class PythonChildViolationError extends PickleGuardError {
  /** What launched the child: `child_process.spawn` ... */
  readonly operation: string;
  readonly violations: readonly ChildViolation[];
  /** The first refusal's import (`qualname`, since `name` is the error's class name) and file. */
  readonly module: string;
  readonly qualname: string;
  readonly file: string | undefined;
  /** Allow-list lines to add if the user trusts the model (empty when any refusal cannot be allowed). */
  readonly suggestions: readonly string[];

  constructor(operation: string, violations: readonly ChildViolation[]) {
    const first = violations[0];
    const all = violations.map(suggestionOf);
    const suggestions = all.every((s) => s !== undefined) ? [...new Set(all as string[])] : [];
    const verb = violations.every((v) => v.mode === 'report') ? 'reported' : 'refused';
    const lines = [
      `pickle-guard: a Python child started by ${operation} ${verb} ${violations.length} import(s)`,
      ...violations.slice(0, 20).map((v) => `  ${v.module}.${v.name}${v.file ? ` in ${v.file}` : ''}: [${v.code}] ${v.message || v.reason}`),
      ...(violations.length > 20 ? [`  ... and ${violations.length - 20} more`] : []),
    ];
    super('ERR_PICKLE_GUARD_VIOLATION', lines.join('\n'));
    this.operation = operation;
    this.violations = violations;
    this.module = first?.module ?? '';
    this.qualname = first?.name ?? '';
    this.file = first?.file;
    this.suggestions = suggestions;
  }
}
