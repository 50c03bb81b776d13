/**
 * What happened to each import (`ImportRecord.uses`): called (the first MAX_CALL_USES
 * calls), or passed on as data (once).
 */
import type { CallOpcode, ImportRecord, Value } from '../types.js';
import type { Machine } from './context.js';
import { MAX_CALL_USES } from './limits.js';

/** A global passed on as data (argument, item, state, result). */
export function noteValue(m: Machine, v: Value): void {
  if (v.k === 'global' && !m.valueUseNoted.has(v.imp)) {
    m.valueUseNoted.add(v.imp);
    m.imports[v.imp]!.uses.push({ kind: 'value' });
  }
}

export function noteValues(m: Machine, items: readonly Value[]): void {
  for (let i = 0; i < items.length; i++) if (items[i]!.k === 'global') noteValue(m, items[i]!);
}

export function noteCall(m: Machine, imp: ImportRecord, via: CallOpcode): void {
  const calls = m.callCounts[imp.index] ?? 0;
  m.callCounts[imp.index] = calls + 1;
  if (calls < MAX_CALL_USES) imp.uses.push({ kind: 'call', via, offset: m.opStart });
}
