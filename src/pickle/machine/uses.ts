/**
 * What happened to each import (`ImportRecord.uses`): called (the first MAX_CALL_USES
 * calls), or passed on as data (once); and the effects explain records. Both bounded.
 */
import type { CallOpcode, Effect, ImportRecord, Value } from '../types.js';
import type { Machine } from './context.js';
import { limitHit } from './errors.js';
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

/**
 * A call of an import: listed for its first MAX_CALL_USES calls (later ones add nothing:
 * the import is already "called"), and at most `maxCallUses` listed over the stream.
 */
export function noteCall(m: Machine, imp: ImportRecord, via: CallOpcode): void {
  const calls = m.callCounts[imp.index] ?? 0;
  m.callCounts[imp.index] = calls + 1;
  if (calls >= MAX_CALL_USES) return;
  const max = m.limits.maxCallUses;
  if (m.callUsesListed >= max) {
    throw limitHit('maxCallUses', `more than ${max} call uses listed in one stream (maxCallUses)`);
  }
  m.callUsesListed++;
  imp.uses.push({ kind: 'call', via, offset: m.opStart });
}

/**
 * Records an effect (callers check `m.effects` first, so a plain scan builds nothing),
 * at most `maxEffects` per stream.
 */
export function recordEffect(m: Machine, e: Effect): void {
  const effects = m.effects!;
  const max = m.limits.maxEffects;
  if (effects.length >= max) {
    throw limitHit('maxEffects', `more than ${max} effects recorded for explain in one stream (maxEffects); a scan without explain does not record them`);
  }
  effects.push(e);
}
