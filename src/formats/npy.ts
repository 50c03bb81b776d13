/**
 * NumPy `.npy`: magic, version (1,0)/(2,0)/(3,0), a little-endian header length
 * (uint16 for 1.0, uint32 after), then a Python dict literal header. When the dtype
 * holds Python objects, `np.load` unpickles what follows the header: that pickle is
 * scanned. Numeric arrays hold no code, so their data is never read.
 */
import type { ByteSource } from '../io/byte-source.js';
import { report, scanPickle, type Place, type ScanContext } from './context.js';
import { parsePyLiteral, PyLiteralError, type PyLiteral } from './py-literal.js';
import { isNpyMagic } from './sniff.js';
import type { ContainerFormat } from './types.js';
import { copyOf } from './bytes.js';

/** Does a dtype hold Python objects? `unknown` means we cannot tell, and the data is scanned. */
export type ObjectVerdict = 'yes' | 'no' | 'unknown';

export interface NpyHeader {
  version: 1 | 2 | 3;
  /** Offset of the array data (or the pickle) from the start of the `.npy`. */
  dataStart: number;
  descr: PyLiteral;
  shape: bigint[];
  fortranOrder: boolean;
  objects: ObjectVerdict;
}

/** Headers larger than this are refused before parsing (numpy's own default cap is 10 000 characters). */
export const MAX_NPY_HEADER = 1 << 20;

const OBJECT_DTYPE = /^[<>|=]?O\d*$/;
const PLAIN_DTYPE = /^[<>|=]?(?:[?bBhHiIlLqQpPnNefdgFDGSaUVc]|[biufcSUVa]\d+|[mM]8?(?:\[\d*[A-Za-z]+\])?)$/;
const PLAIN_NAMES = new Set([
  'bool', 'bool_', 'bool8', 'int', 'int8', 'int16', 'int32', 'int64', 'uint', 'uint8', 'uint16', 'uint32', 'uint64',
  'float', 'float16', 'float32', 'float64', 'float96', 'float128', 'half', 'single', 'double', 'longdouble',
  'complex', 'complex64', 'complex128', 'complex192', 'complex256', 'csingle', 'cdouble', 'clongdouble',
  'byte', 'ubyte', 'short', 'ushort', 'intc', 'uintc', 'intp', 'uintp', 'longlong', 'ulonglong',
  'str', 'str_', 'unicode', 'unicode_', 'bytes', 'bytes_', 'string_', 'void', 'datetime64', 'timedelta64',
]);

function worst(a: ObjectVerdict, b: ObjectVerdict): ObjectVerdict {
  if (a === 'yes' || b === 'yes') return 'yes';
  if (a === 'unknown' || b === 'unknown') return 'unknown';
  return 'no';
}

function classifyDtypeString(s: string): ObjectVerdict {
  if (s.includes(',')) return s.split(',').map((p) => classifyDtypeString(p.trim())).reduce(worst, 'no');
  if (OBJECT_DTYPE.test(s) || s === 'object' || s === 'object_') return 'yes';
  if (PLAIN_DTYPE.test(s) || PLAIN_NAMES.has(s)) return 'no';
  return 'unknown';
}

function isShape(v: PyLiteral): boolean {
  return v.k === 'int' || (v.k === 'tuple' && v.items.every((i) => i.k === 'int'));
}

/** Mirrors numpy's descr_to_dtype: a string, a (base, shape) tuple, or a list of fields. */
export function dtypeHoldsObjects(descr: PyLiteral, depth = 0): ObjectVerdict {
  if (depth > 32) return 'unknown';
  if (descr.k === 'str') return classifyDtypeString(descr.v);
  if (descr.k === 'tuple') {
    const [base, second] = descr.items;
    if (descr.items.length !== 2 || !base || !second) return 'unknown';
    return worst(dtypeHoldsObjects(base, depth + 1), isShape(second) ? 'no' : dtypeHoldsObjects(second, depth + 1));
  }
  if (descr.k === 'list') {
    let verdict: ObjectVerdict = 'no';
    for (const field of descr.items) {
      if ((field.k !== 'tuple' && field.k !== 'list') || field.items.length < 2 || field.items.length > 3) return 'unknown';
      verdict = worst(verdict, dtypeHoldsObjects(field.items[1] as PyLiteral, depth + 1));
    }
    return verdict;
  }
  return 'unknown';
}

function u16(b: Uint8Array, at: number): number {
  return (b[at] as number) | ((b[at + 1] as number) << 8);
}

/** Parses the header of the `.npy` in `source` (offsets relative to its start). */
export function readNpyHeader(source: ByteSource): NpyHeader | { error: string } {
  const pre = copyOf(source.read(0, 12));
  if (!isNpyMagic(pre)) return { error: 'not an .npy file (bad magic)' };
  const major = pre[6];
  const minor = pre[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) return { error: `unsupported .npy version ${major}.${minor}` };
  const lengthSize = major === 1 ? 2 : 4;
  if (pre.length < 8 + lengthSize) return { error: '.npy header length truncated' };
  const headerLength = major === 1 ? u16(pre, 8) : u16(pre, 8) + u16(pre, 10) * 0x10000;
  if (headerLength > MAX_NPY_HEADER) return { error: `.npy header of ${headerLength} bytes is larger than ${MAX_NPY_HEADER}` };
  const headerStart = 8 + lengthSize;
  const raw = copyOf(source.read(headerStart, headerLength));
  if (raw.length !== headerLength) return { error: '.npy header truncated' };
  let text: string;
  try {
    text = major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(raw) : String.fromCharCode(...raw);
  } catch {
    return { error: '.npy version 3 header is not valid UTF-8' };
  }
  let dict: PyLiteral;
  try {
    dict = parsePyLiteral(text, { allowLongSuffix: major <= 2 });
  } catch (err) {
    if (err instanceof PyLiteralError) return { error: `.npy header is not a plain Python literal: ${err.message}` };
    throw err;
  }
  return checkHeaderDict(dict, major, headerStart + headerLength);
}

function checkHeaderDict(dict: PyLiteral, version: 1 | 2 | 3, dataStart: number): NpyHeader | { error: string } {
  if (dict.k !== 'dict') return { error: '.npy header is not a dict' };
  const byKey = new Map<string, PyLiteral>();
  for (const [k, v] of dict.entries) {
    if (k.k !== 'str') return { error: '.npy header has a non-string key' };
    byKey.set(k.v, v); // a repeated key: the last one wins, as in Python
  }
  const keys = [...byKey.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') return { error: `.npy header keys are ${keys || 'none'}, not descr/fortran_order/shape` };
  const shape = byKey.get('shape') as PyLiteral;
  const order = byKey.get('fortran_order') as PyLiteral;
  const descr = byKey.get('descr') as PyLiteral;
  if (shape.k !== 'tuple' || !shape.items.every((i) => i.k === 'int')) return { error: '.npy shape is not a tuple of ints' };
  if (order.k !== 'bool') return { error: '.npy fortran_order is not a bool' };
  return {
    version,
    dataStart,
    descr,
    shape: shape.items.map((i) => (i as { v: bigint }).v),
    fortranOrder: order.v,
    objects: dtypeHoldsObjects(descr),
  };
}

/**
 * Reads an `.npy` and scans the pickle after its header when the dtype holds objects
 * (or when the dtype cannot be classified: fail closed). Offsets stay relative to `source`.
 */
export function analyzeNpy(ctx: ScanContext, place: Place, source: ByteSource, format: ContainerFormat = 'npy'): void {
  const header = readNpyHeader(source);
  if ('error' in header) {
    report(ctx, place, { code: 'container-malformed', message: header.error });
    return;
  }
  if (header.objects === 'no') {
    report(ctx, place, { code: 'no-pickle', message: 'numeric .npy array: no pickle, data not read' });
    return;
  }
  scanPickle(ctx, place, format, source, { start: header.dataStart });
}
