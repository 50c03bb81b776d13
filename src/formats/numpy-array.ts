/**
 * Refuses `numpy.ndarray` BUILD states that lie about how much data they hold.
 *
 * An array pickles as `numpy.core.multiarray._reconstruct(cls, (0,), b'b')` plus a BUILD state
 * `([version,] shape, dtype, is_fortran, rawdata)`, which NumPy's `array_setstate`
 * (numpy/core/src/multiarray/methods.c, 1.24) applies. For a dtype that pickles as a list
 * (object dtypes, structured dtypes holding objects) `rawdata` is a list of objects, and
 * NumPy reads prod(shape) items from it without checking its length: a shape larger than the
 * list reads object pointers past its end (a stray object or a segfault), with only
 * allow-listed globals. So every such BUILD is checked the way NumPy would need it checked:
 * the state's form, the shape, the dtype (through `dtypeLayout`), and the data's size.
 * Anything we cannot verify exactly is refused (an `{ error }`, a violation).
 */
import type { AfterBuildHook, ImportRecord, Value } from '../pickle/types.js';
import { construction, dtypeLayout, globalName, type DtypeLayout } from './numpy-dtype.js';

type CallValue = Extract<Value, { k: 'call' }>;

/** Functions that make an empty array whose BUILD goes to `ndarray.__setstate__`. */
const RECONSTRUCT = new Set([
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  // makes a MaskedArray; its __setstate__ hands (shape, dtype, is_fortran, rawdata) to ndarray's
  'numpy.ma.core._mareconstruct',
]);
/** ndarray classes whose `__new__` (NEWOBJ, copyreg.__newobj__) makes an array given a state later. */
const ARRAY_CLASSES = new Set([
  'numpy.ndarray',
  'numpy.core.multiarray.ndarray',
  'numpy._core.multiarray.ndarray',
  'numpy.matrix',
  'numpy.matrixlib.defmatrix.matrix',
  'numpy.recarray',
  'numpy.core.records.recarray',
  'numpy._core.records.recarray',
  'numpy.memmap',
  'numpy.ma.core.MaskedArray',
  'numpy.ma.MaskedArray',
]);

// NPY_LIST_PICKLE (ndarraytypes.h): the dtype's data pickles as a list of objects.
const LIST_PICKLE = 0x02;
const NPY_MAXDIMS = 32;
const NPY_MAX_INTP = 2n ** 63n - 1n;

/** True for a value NumPy will set up with `ndarray.__setstate__` when BUILD runs on it. */
export function isNdarrayCall(v: Value, imports: readonly ImportRecord[]): v is CallValue {
  if (v.k !== 'call') return false;
  const fn = globalName(v.fn, imports);
  if (fn !== undefined && RECONSTRUCT.has(fn)) return true;
  const made = construction(v, imports); // ndarray(shape, ...) itself, NEWOBJ or copyreg.__newobj__
  return made !== undefined && ARRAY_CLASSES.has(made.cls);
}

/** The class `_reconstruct` was given when it is not one of NumPy's own array classes. */
function foreignSubclass(v: CallValue, imports: readonly ImportRecord[]): string | undefined {
  if (v.args.k !== 'tuple') return undefined;
  const cls = globalName(v.args.items[0], imports);
  return cls !== undefined && !ARRAY_CLASSES.has(cls) ? cls : undefined;
}

/**
 * The `(shape, dtype, is_fortran, rawdata)` NumPy's setstate reads: the 4- and 5-item forms
 * of `ndarray.__reduce__`, or the 7-item `MaskedArray.__reduce__` one (whose first five it hands on).
 */
function arrayState(state: Value): Value[] | string {
  if (state.k !== 'tuple' || state.omitted !== 0) return `state is a ${state.k}, not the tuple NumPy writes`;
  const items = state.items;
  if (items.length === 4) return items;
  if (items.length === 5 || items.length === 7) {
    if (intOf(items[0]) === undefined) return 'state version is not an int';
    return items.slice(1, 5);
  }
  return `state has ${items.length} items, not 4, 5 or 7`;
}

function intOf(v: Value | undefined): bigint | undefined {
  if (v?.k === 'int') return BigInt(v.v);
  if (v?.k === 'bool') return v.v ? 1n : 0n;
  return undefined;
}

/** The number of items the shape has slots for, or why it is not a shape NumPy accepts. */
function shapeSize(shape: Value | undefined): bigint | string {
  if (shape?.k !== 'tuple' || shape.omitted !== 0) return 'shape is not a tuple';
  if (shape.items.length > NPY_MAXDIMS) return `shape has more than ${NPY_MAXDIMS} dimensions`;
  let size = 1n;
  for (const d of shape.items) {
    const n = intOf(d);
    if (n === undefined || n < 0n) return 'shape is not a tuple of non-negative ints';
    if (n > NPY_MAX_INTP) return 'a dimension is larger than NumPy addresses';
    size *= n;
  }
  if (size > NPY_MAX_INTP) return 'shape has more items than NumPy addresses';
  return size;
}

/** Bytes NumPy gets from a non-list rawdata, or why we cannot tell exactly. */
function rawLength(raw: Value | undefined, imports: readonly ImportRecord[]): bigint | string {
  if (raw?.k === 'bytes') return raw.mutable ? 'data is a bytearray, not bytes' : BigInt(raw.length);
  if (raw?.k === 'str') return latin1Length(raw.v); // Python 2 pickles: NumPy encodes it as latin-1
  if (raw?.k === 'call' && raw.via === 'REDUCE' && raw.kwargs === undefined && globalName(raw.fn, imports) === '_codecs.encode') {
    // protocol 0-2 bytes: _codecs.encode(text, 'latin1')
    const args = raw.args;
    if (args.k === 'tuple' && args.omitted === 0 && args.items.length === 2) {
      const [text, enc] = args.items;
      if (text?.k === 'str' && enc?.k === 'str' && ['latin1', 'latin-1', 'iso-8859-1'].includes(enc.v.toLowerCase())) {
        return latin1Length(text.v);
      }
    }
    return 'data is a _codecs.encode call we cannot size';
  }
  if (raw?.k === 'call' && raw.via === 'REDUCE' && raw.kwargs === undefined && globalName(raw.fn, imports) === 'builtins.bytes') {
    // protocol 0-2 empty bytes: bytes()
    if (raw.args.k === 'tuple' && raw.args.omitted === 0 && raw.args.items.length === 0) return 0n;
    return 'data is a bytes(...) call we cannot size';
  }
  return `data is a ${raw?.k === 'call' ? `value made by ${globalName(raw.fn, imports) ?? 'a computed callable'}` : (raw?.k ?? 'nothing')}, not bytes`;
}

function latin1Length(text: string): bigint | string {
  let n = 0n;
  for (const ch of text) {
    if (ch.codePointAt(0)! > 0xff) return 'data text does not encode as latin-1';
    n++;
  }
  return n;
}

/** Checks one array state; undefined when NumPy would read exactly what is there. */
export function checkArrayState(state: Value, imports: readonly ImportRecord[], describe = dtypeLayout): string | undefined {
  const parts = arrayState(state);
  if (typeof parts === 'string') return parts;
  const [shape, dtype, fortran, raw] = parts;
  const size = shapeSize(shape);
  if (typeof size === 'string') return size;
  const layout: DtypeLayout | string = describe(dtype, imports);
  if (typeof layout === 'string') return `dtype: ${layout}`;
  if (intOf(fortran) === undefined) return 'is_fortran is not an int';
  const asList = (layout.flags & LIST_PICKLE) !== 0;
  if (layout.hasObject && !asList) return 'dtype holds objects but does not pickle as a list';
  if (asList) {
    if (raw?.k !== 'list') return `data of an object dtype is a ${raw?.k ?? 'nothing'}, not a list`;
    const count = BigInt(raw.items.length + raw.omitted);
    if (count !== size) return `the shape has ${size} slots but the object list holds ${count} items (NumPy would read past it)`;
    return undefined;
  }
  const bytes = rawLength(raw, imports);
  if (typeof bytes === 'string') return bytes;
  const want = size * BigInt(layout.itemsize);
  if (want > NPY_MAX_INTP) return 'array has more bytes than NumPy addresses';
  if (bytes !== want) return `data is ${bytes} bytes but the shape and dtype need ${want}`;
  return undefined;
}

/** A fresh BUILD hook for one stream; dtype layouts are cached per (dtype, state). */
export function numpyArrayValidator(): AfterBuildHook {
  const cache = new Map<object, { state: Value | undefined; layout: DtypeLayout | string }>();
  const describe = (v: Value | undefined, imports: readonly ImportRecord[]): DtypeLayout | string => {
    if (v === undefined) return dtypeLayout(v, imports);
    const hit = cache.get(v);
    if (hit && v.k === 'call' && hit.state === v.state) return hit.layout;
    const layout = dtypeLayout(v, imports);
    cache.set(v, { state: v.k === 'call' ? v.state : undefined, layout });
    return layout;
  };
  return (ctx) => {
    if (!isNdarrayCall(ctx.target, ctx.imports)) return undefined;
    const why = checkArrayState(ctx.state, ctx.imports, describe);
    if (why === undefined) return undefined;
    const cls = foreignSubclass(ctx.target, ctx.imports);
    const whose = cls === undefined ? '' : ` (an array of ${cls}, whose __setstate__ may read its own state form: only NumPy's forms are checked)`;
    return { error: `numpy array built at offset ${ctx.offset - 1}: ${why}${whose}` };
  };
}
