/**
 * The report a Python child writes: one JSON object per line, appended by
 * python/pickle_guard_boot/pickle_guard_child/report.py. Parsed strictly: a line we
 * cannot read becomes a violation (`report-unreadable`), never silence.
 */
import type { ViolationCode } from '../../findings.js';
import type { PolicyMode } from '../../policy/types.js';

export type ChildViolationCode =
  | Extract<ViolationCode, 'global-not-allowed' | 'global-denied' | 'attribute-traversal' | 'extension-registry' | 'indirect-call' | 'dynamic-global'>
  /** The bootstrap could not install itself in the child. */
  | 'bootstrap-failed'
  /** A report line (or the report file) we could not read. */
  | 'report-unreadable';

const CODES: readonly ChildViolationCode[] = [
  'global-not-allowed',
  'global-denied',
  'attribute-traversal',
  'extension-registry',
  'indirect-call',
  'dynamic-global',
  'bootstrap-failed',
  'report-unreadable',
];

/** One import a Python child refused (enforce) or would have refused (report). */
export interface ChildViolation {
  code: ChildViolationCode;
  /** As find_class resolves it (Python-2 names mapped). */
  module: string;
  name: string;
  /** The file being unpickled, when the child knew it (`pickle.load(open(...))`). */
  file?: string;
  /** Why, in the Node side's words (src/policy/allow-list.ts). */
  reason: string;
  /** The finding message (reason plus the allow-list line to add, when there is one). */
  message: string;
  /** `enforce`: the child raised; `report`: it logged and loaded anyway. */
  mode: PolicyMode;
  pid?: number;
}

function unreadable(line: string, why: string, mode: PolicyMode): ChildViolation {
  return { code: 'report-unreadable', module: '', name: '', reason: `unreadable report line (${why}): ${line.slice(0, 200)}`, message: '', mode };
}

function str(value: unknown): value is string {
  return typeof value === 'string';
}

function parseLine(line: string, mode: PolicyMode): ChildViolation {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return unreadable(line, 'not JSON', mode);
  }
  if (typeof data !== 'object' || data === null) return unreadable(line, 'not an object', mode);
  const r = data as Record<string, unknown>;
  if (r.kind !== 'violation') return unreadable(line, 'unknown kind', mode);
  if (!CODES.includes(r.code as ChildViolationCode)) return unreadable(line, 'unknown code', mode);
  if (!str(r.module) || !str(r.name) || !str(r.reason)) return unreadable(line, 'missing fields', mode);
  if (r.mode !== 'enforce' && r.mode !== 'report') return unreadable(line, 'bad mode', mode);
  return {
    code: r.code as ChildViolationCode,
    module: r.module,
    name: r.name,
    ...(str(r.file) ? { file: r.file } : {}),
    reason: r.reason,
    message: str(r.message) ? r.message : r.reason,
    mode: r.mode,
    ...(typeof r.pid === 'number' ? { pid: r.pid } : {}),
  };
}

/** Parses a whole report. `mode` is the launch's mode, used for lines that cannot be read. */
export function parseChildReport(text: string, mode: PolicyMode): ChildViolation[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => parseLine(line, mode));
}
