/**
 * Small helpers over symbolic values and names: plain data in, plain data out.
 */
import type { ImportRecord, Value } from './types.js';

export const NONE: Value = Object.freeze({ k: 'none' }) as Value;
export const TRUE: Value = Object.freeze({ k: 'bool', v: true }) as Value;
export const FALSE: Value = Object.freeze({ k: 'bool', v: false }) as Value;

/** Shared values for BININT1 (0-255): the commonest opcode in dense pickles allocates nothing. */
export const SMALL_INTS: readonly Value[] = Array.from({ length: 256 }, (_, v) => Object.freeze({ k: 'int', v }) as Value);

export function intValue(v: number | bigint): Value {
  if (typeof v === 'number' && v >= 0 && v < 256 && Number.isInteger(v)) return SMALL_INTS[v]!;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return intValue(Number(v));
  return { k: 'int', v };
}

export function unknown(why: string): Value {
  return { k: 'unknown', why };
}

/** `__x__`: a dunder segment. */
export function isDunderSegment(segment: string): boolean {
  return segment.length >= 4 && segment.startsWith('__') && segment.endsWith('__');
}

/** Some dot-separated segment of `text` is a dunder. */
export function hasDunder(text: string): boolean {
  if (!text.includes('__')) return false;
  return text.split('.').some(isDunderSegment);
}

/** A sequence value holding at most `max` items; the rest are counted in `omitted`. */
export function seqValue(k: 'tuple' | 'list' | 'set' | 'frozenset', items: Value[], max: number): Value {
  let omitted = 0;
  if (items.length > max) {
    omitted = items.length - max;
    items.length = max;
  }
  return { k, items, omitted };
}

/** About how many characters a shape description may take; past it, items show as `...`. */
export const MAX_SHAPE_CHARS = 240;

/** Longest module.name shown for a global inside a shape. */
const MAX_SHAPE_NAME = 120;

/**
 * A short description of a value's shape, for persistent ids and messages:
 * `('storage', <global torch.FloatStorage>, str, str, int)`. A tuple's first string is
 * shown literally (it is the id's tag); other strings by type. Bounded: containers nest
 * and share through the memo, so a 2 KB pickle can hold a tuple of 256^4 leaves. The
 * walk stops after about MAX_SHAPE_CHARS characters and says how many items it left out.
 */
export function describeShape(value: Value, imports: readonly ImportRecord[]): string {
  return shapeOf(value, imports, 0, { left: MAX_SHAPE_CHARS });
}


/** Each part charges the budget for its own characters (a container for its punctuation). */
function shapeOf(value: Value, imports: readonly ImportRecord[], depth: number, budget: { left: number }): string {
  switch (value.k) {
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset':
      return sequenceShape(value, imports, depth, budget);
    case 'call': {
      const fn = value.fn.k === 'global' ? shapeOf(value.fn, imports, depth + 1, budget) : 'call';
      budget.left -= 5;
      return `${fn}(...)`;
    }
    default: {
      const s = leafShape(value, imports);
      budget.left -= s.length;
      return s;
    }
  }
}

function sequenceShape(
  value: Extract<Value, { k: 'tuple' | 'list' | 'set' | 'frozenset' }>,
  imports: readonly ImportRecord[],
  depth: number,
  budget: { left: number },
): string {
  budget.left -= value.k.length;
  if (depth > 3) return value.k;
  const parts: string[] = [];
  const items = value.items;
  let left = value.omitted;
  for (let i = 0; i < items.length; i++) {
    if (budget.left <= 0) {
      left += items.length - i;
      break;
    }
    const item = items[i]!;
    if (i === 0 && value.k === 'tuple' && item.k === 'str' && item.v.length <= 32) {
      const tag = JSON.stringify(item.v).replace(/^"|"$/g, "'");
      budget.left -= tag.length;
      parts.push(tag);
    } else {
      parts.push(shapeOf(item, imports, depth + 1, budget));
    }
    budget.left -= 2;
  }
  if (left) parts.push(`... ${left} more`);
  const inner = parts.join(', ');
  if (value.k === 'tuple') return `(${inner}${items.length === 1 && !value.omitted ? ',' : ''})`;
  if (value.k === 'list') return `[${inner}]`;
  return `${value.k}({${inner}})`;
}

function leafShape(value: Value, imports: readonly ImportRecord[]): string {
  switch (value.k) {
    case 'none':
      return 'None';
    case 'bool':
      return 'bool';
    case 'int':
      return 'int';
    case 'float':
      return 'float';
    case 'str':
      return 'str';
    case 'bytes':
      return value.mutable ? 'bytearray' : 'bytes';
    case 'global': {
      const imp = imports[value.imp];
      if (!imp) return '<global>';
      const name = `${imp.module}.${imp.name}`;
      return `<global ${name.length > MAX_SHAPE_NAME ? `${name.slice(0, MAX_SHAPE_NAME)}...` : name}>`;
    }
    case 'dict':
      return 'dict';
    case 'persid':
      return value.loaded ? `persistent-id ${value.loaded}` : 'persistent-id';
    case 'buffer':
      return 'buffer';
    case 'unknown':
      return '?';
    default:
      return value.k;
  }
}
