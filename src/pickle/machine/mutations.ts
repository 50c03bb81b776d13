/**
 * Opcodes that change an object already built: APPEND(S)/ADDITEMS, SETITEM(S), BUILD.
 * Applied to a bare global (a module, class or function) they overwrite live code:
 * `mutates-global`.
 */
import { OP } from '../opcodes.js';
import type { Value } from '../types.js';
import { dictSet, room } from './collections.js';
import type { Machine } from './context.js';
import { malformed } from './errors.js';
import { flag } from './findings.js';
import { underflow } from './state.js';
import { noteValue, noteValues, recordEffect } from './uses.js';

function mutatesGlobal(m: Machine, target: Value, what: string): void {
  if (target.k !== 'global') return;
  const imp = m.imports[target.imp]!;
  flag(m, 'mutates-global', `${what} on ${imp.module}.${imp.name} itself (a module, class or function, not an instance): it overwrites attributes of live code`, imp);
}

/** APPEND(S)/ADDITEMS onto stack[x - 1] (C `do_append`/`load_additems`). */
export function appends(m: Machine, x: number, additems = false): void {
  const s = m.s;
  const len = s.stack.length;
  if (x > len || x <= s.fence) throw underflow(s);
  if (len === x) return;
  const target = s.stack[x - 1]!;
  const items = s.stack.splice(x);
  noteValues(m, items);
  mutatesGlobal(m, target, additems ? 'ADDITEMS' : m.op === OP.APPEND ? 'APPEND' : 'APPENDS');
  if (target.k === 'list' || target.k === 'set') {
    const keep = room(m, target.items.length, items.length);
    for (let i = 0; i < keep; i++) target.items.push(items[i]!);
    target.omitted += items.length - keep;
  }
  if (m.effects) for (const value of items) recordEffect(m, { k: 'append', target, value, offset: m.opStart });
}

/** SETITEM(S) onto stack[x - 1] (C `do_setitems`). */
export function setitems(m: Machine, x: number): void {
  const s = m.s;
  const len = s.stack.length;
  if (x > len || x <= s.fence) throw underflow(s);
  if (len === x) return;
  if ((len - x) % 2 !== 0) throw malformed('odd number of items for SETITEMS');
  const target = s.stack[x - 1]!;
  const items = s.stack.splice(x);
  noteValues(m, items);
  mutatesGlobal(m, target, m.op === OP.SETITEM ? 'SETITEM' : 'SETITEMS');
  for (let i = 0; i < items.length; i += 2) {
    if (target.k === 'dict') dictSet(m, target, items[i]!, items[i + 1]!);
    if (m.effects) recordEffect(m, { k: 'setitem', target, key: items[i]!, value: items[i + 1]!, offset: m.opStart });
  }
}

/** BUILD: `state` applied to `target` (the caller popped one and peeked the other). */
export function build(m: Machine, target: Value, state: Value): void {
  noteValue(m, state);
  mutatesGlobal(m, target, 'BUILD');
  if (target.k === 'call') target.state = state;
  if (m.effects) recordEffect(m, { k: 'build', target, state, offset: m.opStart });
}
