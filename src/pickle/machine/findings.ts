/**
 * Findings as the machine makes them: at most MAX_FINDINGS_PER_CODE per code and stream,
 * placed at the opcode being run; and the one finding a failed pickle ends with.
 */
import type { Finding, FindingCode } from '../../findings.js';
import { opcodeName } from '../opcodes.js';
import { PickleReadError } from '../reader.js';
import type { ImportRecord } from '../types.js';
import type { Machine } from './context.js';
import { MAX_FINDINGS_PER_CODE } from './limits.js';

export function addFinding(m: Machine, f: Finding): void {
  const n = (m.findingCounts.get(f.code) ?? 0) + 1;
  m.findingCounts.set(f.code, n);
  if (n > MAX_FINDINGS_PER_CODE) return;
  if (n === MAX_FINDINGS_PER_CODE) f.message += ` (further ${f.code} findings in this stream are not listed)`;
  m.findings.push(f);
}

/** A finding at the current opcode, naming the import it is about when there is one. */
export function flag(m: Machine, code: FindingCode, message: string, imp?: ImportRecord): void {
  const f: Finding = { code, message, offset: m.opStart, opcode: opcodeName(m.op) };
  if (imp) {
    f.module = imp.module;
    f.name = imp.name;
  }
  addFinding(m, f);
}

/**
 * What stopped the pickle, as a finding at the failing opcode: a bound (`limit`), a
 * failure before any import could run in either unpickler (`not-a-pickle`), else
 * `malformed`. An error that
 * is not a PickleReadError is our bug: still a `malformed` finding (fail closed).
 */
export function failureFinding(m: Machine, err: unknown): Finding {
  // op is -1 when the bytes ended where an opcode should start.
  const opcode = m.op >= 0 ? opcodeName(m.op) : undefined;
  const where = `at offset ${m.opStart}${opcode ? ` (${opcode})` : ''}`;
  const f: Finding = { code: 'malformed', offset: m.opStart, message: '' };
  if (opcode) f.opcode = opcode;
  if (!(err instanceof PickleReadError)) {
    f.message = `internal error while scanning ${where}: ${err instanceof Error ? err.message : String(err)}`;
  } else if (err.kind === 'limit') {
    f.code = 'limit';
    if (err.limit) f.limit = err.limit;
    f.message = `${err.message} ${where}`;
  } else if (!m.s.importRan && m.s.pureFrom < 0) {
    // Both unpicklers fail here: the C one by construction, and the pure-Python one has
    // not been more lenient so far (lenient.ts marks where it would be).
    f.code = 'not-a-pickle';
    f.message = `not a pickle: ${err.message} ${where}, before any import could run`;
  } else if (!m.s.importRan) {
    f.message = `${err.message} ${where}, read as the pure-Python unpickler reads past offset ${m.s.pureFrom}`;
  } else {
    f.message = `${err.message} ${where}`;
  }
  return f;
}
