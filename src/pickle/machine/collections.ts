/**
 * Symbolic containers under the item budget: at most `maxValueItems` items per container
 * and MAX_KEPT_ITEMS over the stream are kept; the rest are counted in `omitted`.
 */
import type { Value } from '../types.js';
import { seqValue } from '../values.js';
import type { Machine } from './context.js';
import { malformed } from './errors.js';
import { MAX_KEPT_ITEMS } from './limits.js';
import { popMark } from './state.js';
import { noteValues } from './uses.js';

export type DictValue = Extract<Value, { k: 'dict' }>;

/** How many of `wanted` more items a container holding `held` may keep (and books them). */
export function room(m: Machine, held: number, wanted: number): number {
  const n = Math.max(0, Math.min(wanted, m.limits.maxValueItems - held, MAX_KEPT_ITEMS - m.keptItems));
  m.keptItems += n;
  return n;
}

/** A new tuple/list/frozenset of `items` (their globals are passed on as data). */
export function collection(m: Machine, k: 'tuple' | 'list' | 'frozenset', items: Value[]): Value {
  noteValues(m, items);
  return seqValue(k, items, room(m, 0, items.length));
}

export function dictSet(m: Machine, d: DictValue, key: Value, value: Value): void {
  if (room(m, d.entries.length, 1) === 1) d.entries.push([key, value]);
  else d.omitted++;
}

/** DICT: key/value pairs above the top mark. */
export function dictFromMark(m: Machine): Value {
  const items = popMark(m.s);
  if (items.length % 2 !== 0) throw malformed('odd number of items for DICT');
  const d: DictValue = { k: 'dict', entries: [], omitted: 0 };
  noteValues(m, items);
  for (let i = 0; i < items.length; i += 2) dictSet(m, d, items[i]!, items[i + 1]!);
  return d;
}
