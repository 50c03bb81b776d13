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

/**
 * A short description of a value's shape, for persistent ids:
 * `('storage', <global torch.FloatStorage>, str, str, int)`. A tuple's first string is
 * shown literally (it is the id's tag); other strings by type.
 */
export function describeShape(value: Value, imports: readonly ImportRecord[], depth = 0): string {
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
      return imp ? `<global ${imp.module}.${imp.name}>` : '<global>';
    }
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset': {
      if (depth > 3) return value.k;
      const parts = value.items.map((item, i) =>
        i === 0 && value.k === 'tuple' && item.k === 'str' && item.v.length <= 32
          ? JSON.stringify(item.v).replace(/^"|"$/g, "'")
          : describeShape(item, imports, depth + 1),
      );
      if (value.omitted) parts.push(`... ${value.omitted} more`);
      const inner = parts.join(', ');
      if (value.k === 'tuple') return `(${inner}${value.items.length === 1 && !value.omitted ? ',' : ''})`;
      if (value.k === 'list') return `[${inner}]`;
      return `${value.k}({${inner}})`;
    }
    case 'dict':
      return 'dict';
    case 'call': {
      const fn = value.fn.k === 'global' ? describeShape(value.fn, imports, depth + 1) : 'call';
      return `${fn}(...)`;
    }
    case 'persid':
      return value.loaded ? `persistent-id ${value.loaded}` : 'persistent-id';
    case 'buffer':
      return 'buffer';
    case 'unknown':
      return '?';
  }
}
