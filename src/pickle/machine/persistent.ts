/**
 * Persistent ids (PERSID/BINPERSID): recorded with their shape, and resolved by the
 * format's `persistentLoad` hook when it can; otherwise an opaque `persid` value.
 */
import type { Value } from '../types.js';
import { describeShape } from '../values.js';
import type { Machine } from './context.js';
import { malformed } from './errors.js';
import { flag } from './findings.js';
import { MAX_PERSISTENT_ID_RECORDS } from './limits.js';
import { noteValue, recordEffect } from './uses.js';

/** The value the loader's persistent_load puts on the stack for `pid`. */
export function persistentId(m: Machine, pid: Value, opcode: 'PERSID' | 'BINPERSID'): Value {
  noteValue(m, pid);
  const first = (m.findingCounts.get('persistent-id') ?? 0) === 0;
  if (first || m.persistentIds.length < MAX_PERSISTENT_ID_RECORDS) {
    const shape = describeShape(pid, m.imports);
    if (m.persistentIds.length < MAX_PERSISTENT_ID_RECORDS) {
      m.persistentIds.push({ offset: m.opStart, opcode, pickleIndex: m.s.info.index, shape });
    }
    if (first) flag(m, 'persistent-id', `${opcode} at offset ${m.opStart} asks the loader's persistent_load for ${shape} (torch storages use this)`);
  }
  const loaded = loadPersistent(m, pid);
  if (loaded && m.effects) recordEffect(m, { k: 'persistent-load', pid, value: loaded, offset: m.opStart });
  return loaded ?? { k: 'persid', pid, offset: m.opStart };
}

/** The format's persistent_load answer, checked: a reader bug is a violation, never a pass. */
function loadPersistent(m: Machine, pid: Value): Value | undefined {
  const hook = m.options.persistentLoad;
  if (!hook) return undefined;
  let value: Value | undefined;
  try {
    value = hook({ pid, imports: m.imports, pickleIndex: m.s.info.index, offset: m.opStart });
  } catch (err) {
    throw malformed(`format reader failed in persistent_load: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (value?.k === 'global' && m.imports[value.imp] === undefined) {
    throw malformed(`format reader's persistent_load returned an unknown import #${value.imp}`);
  }
  return value;
}
