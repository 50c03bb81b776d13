/**
 * One pickle's state: the stack with its marks, and the memo. The operations follow the
 * C Unpickler's `Pdata` helpers, fence included (a MARK hides what is below it).
 */
import type { PickleInfo, Value } from '../types.js';
import { PickleReadError } from '../reader.js';
import { limitHit, malformed } from './errors.js';
import { MEMO_ARRAY_KEYS } from './limits.js';

/** Per-pickle state: a fresh one for each pickle of the stream, as `pickle.load` makes. */
export interface PickleState {
  stack: Value[];
  /** Stack lengths at each open MARK; `fence` is the top one (0 when none). */
  marks: number[];
  fence: number;
  /** Memo: dense keys in an array, others in a Map; `memoCount` counts distinct keys. */
  memoArr: Array<Value | undefined>;
  memoMap: Map<number, Value>;
  memoCount: number;
  /** The last PROTO seen (Python-2 name mapping applies below 3). */
  proto: number;
  /** An import (or EXT) opcode has started: a failure from here on is no longer "not a pickle". */
  importRan: boolean;
  /**
   * Offset where the C unpickler stopped and the pure-Python one went on (`lenient.ts`),
   * or -1: from there on a failure is never "not a pickle" (the pickle is read as the
   * pure-Python unpickler reads it, which joblib.load uses).
   */
  pureFrom: number;
  /** PUT indices past any C memo (pure-Python dict keys), by decimal text. */
  memoHuge: Map<string, Value> | undefined;
  info: PickleInfo;
}

export function freshState(index: number, start: number): PickleState {
  return {
    stack: [],
    marks: [],
    fence: 0,
    memoArr: [],
    memoMap: new Map(),
    memoCount: 0,
    proto: 0,
    importRan: false,
    pureFrom: -1,
    memoHuge: undefined,
    info: { index, start, end: start, protocol: 0, opcodes: 0, complete: false },
  };
}

// ---------------------------------------------------------------- stack and marks

export function underflow(s: PickleState): PickleReadError {
  return malformed(s.marks.length ? 'unexpected MARK found' : 'unpickling stack underflow');
}

export function pop(s: PickleState): Value {
  if (s.stack.length <= s.fence) throw underflow(s);
  return s.stack.pop()!;
}

export function top(s: PickleState): Value {
  if (s.stack.length <= s.fence) throw underflow(s);
  return s.stack[s.stack.length - 1]!;
}

export function pushMark(s: PickleState): void {
  s.marks.push(s.stack.length);
  s.fence = s.stack.length;
}

/** Pops the top mark (C `marker()`), returning the stack length it marked. */
export function marker(s: PickleState): number {
  const mark = s.marks.pop();
  if (mark === undefined) throw malformed('could not find MARK');
  s.fence = s.marks.length ? s.marks[s.marks.length - 1]! : 0;
  return mark;
}

/** Items above the top mark, popped (C `Pdata_poplist`). */
export function popMark(s: PickleState): Value[] {
  const mark = marker(s);
  return s.stack.splice(mark);
}

/** The last `n` items (TUPLE1-3), respecting the fence. */
export function popN(s: PickleState, n: number): Value[] {
  const start = s.stack.length - n;
  if (start < s.fence) throw underflow(s);
  return s.stack.splice(start);
}

/** POP: drops a mark that sits on top, else the top item (C `load_pop`). Discarded: not a use. */
export function popItemOrMark(s: PickleState): void {
  const len = s.stack.length;
  if (s.marks.length > 0 && s.marks[s.marks.length - 1] === len) marker(s);
  else pop(s);
}

// ---------------------------------------------------------------- memo

export function memoPut(s: PickleState, index: number, maxMemoEntries: number): void {
  const v = top(s);
  if (index < MEMO_ARRAY_KEYS) {
    if (s.memoArr[index] === undefined) s.memoCount++;
    s.memoArr[index] = v;
  } else {
    if (!s.memoMap.has(index)) s.memoCount++;
    s.memoMap.set(index, v);
  }
  if (s.memoCount > maxMemoEntries) {
    throw limitHit('maxMemoEntries', `more than ${maxMemoEntries} memo entries (maxMemoEntries)`);
  }
}

export function memoGet(s: PickleState, index: number): Value {
  const v = index >= 0 && index < MEMO_ARRAY_KEYS ? s.memoArr[index] : s.memoMap.get(index);
  if (v === undefined) throw malformed(`Memo value not found at index ${index}`);
  return v;
}
