/**
 * Refuses `numpy.dtype` objects whose pickled state lies.
 *
 * A dtype pickles as `numpy.dtype(typestr, align, copy)` plus a BUILD state
 * `(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])`.
 * NumPy's `arraydescr_setstate` (numpy/core/src/multiarray/descriptor.c, 1.24) takes that
 * state almost verbatim: the flags (hasobject among them), field offsets, the subarray and,
 * for the flexible kinds S/U/V, the item size. A state that disagrees with what the type
 * string and the fields imply makes NumPy treat attacker bytes as PyObject pointers or read
 * outside an item, with only allow-listed globals. So every dtype BUILD is checked against
 * what NumPy itself would have computed (flags, sizes and alignments of 64-bit NumPy 1.24),
 * and anything we cannot verify exactly is refused (an `{ error }`, a violation).
 *
 * State tied to its moment: NumPy mutates the dtype in place, so a dtype used (by an array,
 * a scalar, another dtype) before its state is set, or set twice, or whose fields dict is
 * changed after its BUILD, is refused too (see `checkWindow` and `finish`).
 */
import type { ByteSource } from '../io/byte-source.js';
import { OPCODE_BY_BYTE, type ArgKind } from '../pickle/opcodes.js';
import type { AfterBuildHook, ImportRecord, Value } from '../pickle/types.js';

type CallValue = Extract<Value, { k: 'call' }>;

/** What NumPy knows of a dtype once built: enough to check a parent dtype and to size arrays. */
export interface DtypeLayout {
  itemsize: number;
  alignment: number;
  /** The flags byte, unsigned (NumPy pickles it as a signed char). */
  flags: number;
  hasObject: boolean;
  /** Nesting depth (a dtype without sub-dtypes is 1). */
  depth: number;
}

/** The names `numpy.dtype` is reached by in pickles. */
export const NUMPY_DTYPE = new Set([
  'numpy.dtype',
  'numpy.core.multiarray.dtype',
  'numpy.core._multiarray_umath.dtype',
  'numpy._core.multiarray.dtype',
  'numpy._core._multiarray_umath.dtype',
]);
/** numpy >= 1.25 DType classes: instances are dtypes too, built differently: refused when given a state. */
const DTYPE_CLASS_MODULE = 'numpy.dtypes';

// NPY_ITEM_* flags (ndarraytypes.h).
const HASOBJECT = 0x01;
const NEEDS_INIT = 0x08;
const NEEDS_PYAPI = 0x10;
const ALIGNED_STRUCT = 0x80;
const OBJECT_FLAGS = 0x3f; // NPY_OBJECT_DTYPE_FLAGS
const FROM_FIELDS = 0x1b; // NPY_FROM_FIELDS: what a structured dtype inherits from its fields

/** Bound on dtype nesting (fields of fields, subarrays of subarrays): NumPy has none, we need one. */
export const MAX_DTYPE_DEPTH = 32;
const INT_MAX = 2 ** 31 - 1;

interface Base {
  size: number;
  align: number;
  flags: number;
}
/** Non-flexible type strings `dtype.__reduce__` writes, as 64-bit NumPy 1.24 sizes and aligns them. */
const FIXED: Record<string, Base> = {
  b1: { size: 1, align: 1, flags: 0 },
  i1: { size: 1, align: 1, flags: 0 },
  u1: { size: 1, align: 1, flags: 0 },
  i2: { size: 2, align: 2, flags: 0 },
  u2: { size: 2, align: 2, flags: 0 },
  f2: { size: 2, align: 2, flags: 0 },
  i4: { size: 4, align: 4, flags: 0 },
  u4: { size: 4, align: 4, flags: 0 },
  f4: { size: 4, align: 4, flags: 0 },
  i8: { size: 8, align: 8, flags: 0 },
  u8: { size: 8, align: 8, flags: 0 },
  f8: { size: 8, align: 8, flags: 0 },
  f16: { size: 16, align: 16, flags: 0 },
  c8: { size: 8, align: 4, flags: 0 },
  c16: { size: 16, align: 8, flags: 0 },
  c32: { size: 32, align: 16, flags: 0 },
  M8: { size: 8, align: 8, flags: 0 },
  m8: { size: 8, align: 8, flags: 0 },
  O: { size: 8, align: 8, flags: OBJECT_FLAGS },
  O4: { size: 8, align: 8, flags: OBJECT_FLAGS },
  O8: { size: 8, align: 8, flags: OBJECT_FLAGS },
};
/** Flexible kinds: bytes per character, alignment and flags of a plain (unstructured) one. */
const FLEXIBLE: Record<string, Base> = {
  S: { size: 1, align: 1, flags: 0 },
  U: { size: 4, align: 4, flags: NEEDS_INIT },
  V: { size: 1, align: 1, flags: 0 },
};

interface TypeStr {
  text: string;
  kind: string;
  /** Set for the non-flexible kinds. */
  fixed?: Base;
  /** Set for S/U/V: the item size the type string names. */
  flexibleSize?: number;
}

export function globalName(v: Value | undefined, imports: readonly ImportRecord[]): string | undefined {
  if (v?.k !== 'global') return undefined;
  const imp = imports[v.imp];
  return imp ? `${imp.module}.${imp.name}` : undefined;
}

const NEWOBJ_HELPERS = new Set(['copyreg.__newobj__', 'copyreg.__newobj_ex__']);

/**
 * The class a call constructs and the arguments its `__new__` gets: the callable itself
 * (REDUCE, NEWOBJ, INST, OBJ), or `copyreg.__newobj__(cls, *args)` /
 * `copyreg.__newobj_ex__(cls, args, kwargs)` (allowed by python-data; they call
 * `cls.__new__` just the same). Undefined when the class is no global.
 */
export function construction(v: CallValue, imports: readonly ImportRecord[]): { cls: string; args: Value; kwargs?: Value } | undefined {
  const fn = globalName(v.fn, imports);
  if (fn === undefined) return undefined;
  if (!NEWOBJ_HELPERS.has(fn) || v.via !== 'REDUCE') return { cls: fn, args: v.args, ...(v.kwargs ? { kwargs: v.kwargs } : {}) };
  if (v.args.k !== 'tuple' || v.args.omitted !== 0) return undefined;
  const cls = globalName(v.args.items[0], imports);
  if (cls === undefined) return undefined;
  if (fn === 'copyreg.__newobj__') return { cls, args: { k: 'tuple', items: v.args.items.slice(1), omitted: 0 } };
  const [, args, kwargs] = v.args.items;
  return { cls, args: args ?? { k: 'unknown', why: 'missing' }, kwargs: kwargs ?? { k: 'unknown', why: 'missing' } };
}

/** True for a call that makes a `numpy.dtype` (any spelling, directly or through copyreg). */
export function isNumpyDtypeCall(v: Value | undefined, imports: readonly ImportRecord[]): boolean {
  if (v?.k !== 'call') return false;
  const made = construction(v, imports);
  return made !== undefined && NUMPY_DTYPE.has(made.cls);
}

function isDtypeClassCall(v: CallValue, imports: readonly ImportRecord[]): boolean {
  const cls = construction(v, imports)?.cls;
  return cls !== undefined && (cls.startsWith(`${DTYPE_CLASS_MODULE}.`));
}

function parseTypeStr(text: string): TypeStr | string {
  const m = /^[<>|=]?([a-zA-Z])(\d*)$/.exec(text);
  if (!m) return `dtype ${JSON.stringify(text)} is not a type string we size`;
  const kind = m[1]!;
  const digits = m[2]!;
  const flex = FLEXIBLE[kind];
  if (flex) {
    if (digits === '') return `dtype ${JSON.stringify(text)} has no size`;
    const size = Number(digits) * flex.size;
    if (!(size <= INT_MAX)) return `dtype ${JSON.stringify(text)} is larger than NumPy allows`;
    return { text, kind, flexibleSize: size };
  }
  const fixed = FIXED[kind + digits];
  if (fixed === undefined) return `dtype ${JSON.stringify(text)} is not one we can size`;
  return { text, kind, fixed };
}

/** An int (or bool) as a number: huge ints become huge floats, which every check below refuses. */
function intOf(v: Value | undefined): number | undefined {
  return v?.k === 'int' ? Number(v.v) : v?.k === 'bool' ? (v.v ? 1 : 0) : undefined;
}

/**
 * Lays dtypes out the way NumPy does, checking every state against that layout. Results are
 * kept per (dtype, state) pair, so a sub-dtype shared many times is checked once.
 */
class Describer {
  private readonly cache = new Map<object, { state: Value | undefined; layout: DtypeLayout }>();
  private readonly inProgress = new Set<object>();

  /** The stream's imports (the machine's list, which grows as it reads). */
  constructor(public imports: readonly ImportRecord[]) {}

  describe(v: Value | undefined, what = 'dtype'): DtypeLayout | string {
    if (v === undefined) return `no ${what}`;
    if (v.k !== 'call' || !isNumpyDtypeCall(v, this.imports)) {
      const fn = v.k === 'call' ? globalName(v.fn, this.imports) : undefined;
      return `${what} is ${v.k === 'call' ? `made by ${fn ?? 'a computed callable'}` : `a ${v.k}`}, not numpy.dtype`;
    }
    const hit = this.cache.get(v);
    if (hit && hit.state === v.state) return hit.layout;
    if (this.inProgress.has(v)) return `${what} contains itself`;
    this.inProgress.add(v);
    try {
      const layout = this.compute(v);
      if (typeof layout !== 'string') this.cache.set(v, { state: v.state, layout });
      return layout;
    } finally {
      this.inProgress.delete(v);
    }
  }

  private compute(v: CallValue): DtypeLayout | string {
    const made = construction(v, this.imports)!;
    if (made.kwargs !== undefined) return 'numpy.dtype called with keyword arguments';
    const args = made.args;
    if (args.k !== 'tuple' || args.omitted !== 0 || args.items.length < 1 || args.items.length > 3) {
      return 'numpy.dtype arguments are not (typestr, align, copy)';
    }
    const [typestr, ...flags] = args.items;
    if (typestr?.k !== 'str') return `dtype built from a ${typestr?.k ?? 'nothing'}, not a type string`;
    if (flags.some((f) => intOf(f) === undefined)) return 'numpy.dtype align/copy arguments are not bools';
    const type = parseTypeStr(typestr.v);
    if (typeof type === 'string') return type;
    if (v.state === undefined) return freshLayout(type);
    const layout = this.fromState(type, v.state);
    return typeof layout === 'string' ? `dtype ${JSON.stringify(type.text)} state: ${layout}` : layout;
  }

  /** Checks a BUILD state against the type string; the layout NumPy ends up with. */
  private fromState(type: TypeStr, state: Value): DtypeLayout | string {
    if (state.k !== 'tuple' || state.omitted !== 0) return `a ${state.k}, not the tuple NumPy writes`;
    const [version, endian, subarray, names, fields, elsize, alignment, flags, metadata] = state.items as Array<Value | undefined>;
    const ver = intOf(version);
    if (!((ver === 3 && state.items.length === 8) || (ver === 4 && state.items.length === 9))) {
      return 'not the version 3/4 form NumPy writes (8 or 9 items)';
    }
    if (endian?.k !== 'str' || !['<', '>', '=', '|'].includes(endian.v)) return 'byteorder is not one of < > = |';
    const size = intOf(elsize);
    const align = intOf(alignment);
    const flag = intOf(flags);
    if (size === undefined || align === undefined || flag === undefined) return 'elsize, alignment or flags is not an int';
    if (flag < -128 || flag > 127) return `flags ${flag} do not fit the signed char NumPy keeps`;
    const meta = checkMetadata(type, metadata, this.imports);
    if (meta) return meta;
    const got = { size, align, flags: flag & 0xff };
    if (type.fixed) {
      if (subarray?.k !== 'none' || names?.k !== 'none' || fields?.k !== 'none') return `a ${type.kind} dtype with a subarray or fields`;
      if (type.kind === 'O' && endian.v !== '|') return `byteorder ${endian.v} on an object dtype`;
      return expect({ size: -1, align: -1, flags: type.fixed.flags }, got, { itemsize: type.fixed.size, alignment: type.fixed.align, depth: 1 });
    }
    const declared = type.flexibleSize!;
    if (size !== declared) return `elsize ${size} is out of range: ${JSON.stringify(type.text)} is ${declared} bytes`;
    if (type.kind !== 'V') {
      if (subarray?.k !== 'none' || names?.k !== 'none' || fields?.k !== 'none') return `a ${type.kind} dtype with a subarray or fields`;
      const base = FLEXIBLE[type.kind]!;
      return expect({ size, align: base.align, flags: base.flags }, got, { itemsize: size, alignment: base.align, depth: 1 });
    }
    if (endian.v !== '|') return `byteorder ${endian.v} on a void dtype (NumPy writes |)`;
    if (subarray?.k !== 'none') {
      if (names?.k !== 'none' || fields?.k !== 'none') return 'both a subarray and fields';
      return this.subarrayLayout(subarray!, got);
    }
    if (names?.k === 'none' && fields?.k === 'none') return expect({ size, align: 1, flags: 0 }, got, { itemsize: size, alignment: 1, depth: 1 });
    return this.structLayout(names, fields, got);
  }

  private subarrayLayout(subarray: Value, got: Got): DtypeLayout | string {
    if (subarray.k !== 'tuple' || subarray.omitted !== 0 || subarray.items.length !== 2) return 'subarray is not (dtype, shape)';
    const [baseValue, shape] = subarray.items as [Value, Value];
    const base = this.describe(baseValue, 'subarray base');
    if (typeof base === 'string') return base;
    if (base.depth >= MAX_DTYPE_DEPTH) return `dtypes nested deeper than ${MAX_DTYPE_DEPTH} (MAX_DTYPE_DEPTH)`;
    const dims = shape.k === 'tuple' ? shape : { k: 'tuple' as const, items: [shape], omitted: 0 };
    if (dims.omitted !== 0) return 'subarray shape has more dimensions than are kept (maxValueItems)';
    let count = 1;
    for (const d of dims.items) {
      const n = intOf(d.k === 'int' ? d : undefined);
      if (n === undefined || n < 0) return 'subarray shape is not a tuple of non-negative ints';
      count *= n;
      if (count * base.itemsize > INT_MAX) return 'subarray is larger than NumPy allows';
    }
    const size = count * base.itemsize;
    if (got.size !== size) return `elsize ${got.size} but the subarray holds ${count} items of ${base.itemsize} bytes (${size})`;
    return expect({ size, align: base.alignment, flags: base.flags }, got, {
      itemsize: size,
      alignment: base.alignment,
      depth: base.depth + 1,
    });
  }

  private structLayout(names: Value | undefined, fields: Value | undefined, got: Got): DtypeLayout | string {
    if (names?.k !== 'tuple' || fields?.k !== 'dict') return 'names is not a tuple or fields is not a dict';
    if (names.omitted !== 0 || fields.omitted !== 0) return 'more fields than are kept (maxValueItems): cannot check them';
    const entries = new Map<string, Value>();
    for (const [key, value] of fields.entries) {
      if (key.k !== 'str') return `a field key is a ${key.k}, not a str`;
      if (entries.has(key.v)) return `field ${JSON.stringify(key.v)} is set twice`;
      entries.set(key.v, value);
    }
    const aligned = (got.flags & ALIGNED_STRUCT) !== 0;
    const ranges: Array<{ start: number; end: number; hasObject: boolean }> = [];
    const keys = new Set<string>();
    let inherited = 0;
    let maxAlign = 0;
    let depth = 1;
    for (const n of names.items) {
      if (n.k !== 'str') return `a field name is a ${n.k}, not a str`;
      if (keys.has(n.v)) return `field name ${JSON.stringify(n.v)} appears twice`;
      keys.add(n.v);
      const field = this.field(n.v, entries);
      if (typeof field === 'string') return field;
      if (field.title !== undefined) {
        if (keys.has(field.title)) return `title ${JSON.stringify(field.title)} clashes with another key`;
        keys.add(field.title);
      }
      const { layout, offset } = field;
      if (layout.depth >= MAX_DTYPE_DEPTH) return `dtypes nested deeper than ${MAX_DTYPE_DEPTH} (MAX_DTYPE_DEPTH)`;
      depth = Math.max(depth, layout.depth + 1);
      const end = offset + layout.itemsize;
      if (end > got.size) return `field ${JSON.stringify(n.v)} at offset ${offset} (${layout.itemsize} bytes) ends past the ${got.size}-byte item`;
      if (aligned && layout.alignment > 0 && offset % layout.alignment !== 0) {
        return `field ${JSON.stringify(n.v)} at offset ${offset} is not aligned to ${layout.alignment} in an aligned struct`;
      }
      inherited |= layout.flags & FROM_FIELDS;
      maxAlign = Math.max(maxAlign, layout.alignment);
      ranges.push({ start: offset, end, hasObject: layout.hasObject });
    }
    if (keys.size !== entries.size) return 'fields holds keys that are neither names nor titles';
    const overlap = objectOverlap(ranges);
    if (overlap) return overlap;
    const alignment = aligned ? maxAlign : 1;
    if (aligned && alignment > 0 && got.size % alignment !== 0) return `aligned struct size ${got.size} is not a multiple of ${alignment}`;
    const flags = NEEDS_PYAPI | inherited | (aligned ? ALIGNED_STRUCT : 0);
    return expect({ size: got.size, align: alignment, flags }, got, { itemsize: got.size, alignment, depth });
  }

  /** One `fields[name]`: `(dtype, offset)` or `(dtype, offset, title)`, the title entry the same. */
  private field(name: string, entries: Map<string, Value>): { layout: DtypeLayout; offset: number; title?: string } | string {
    const value = entries.get(name);
    const what = `field ${JSON.stringify(name)}`;
    if (value === undefined) return `${what} is named but missing from fields`;
    if (value.k !== 'tuple' || value.omitted !== 0 || value.items.length < 2 || value.items.length > 3) return `${what} is not (dtype, offset[, title])`;
    const [dtype, off, title] = value.items as [Value, Value, Value | undefined];
    const offset = intOf(off.k === 'int' ? off : undefined);
    if (offset === undefined || offset < 0) return `${what} offset is not a non-negative int`;
    const layout = this.describe(dtype, what);
    if (typeof layout === 'string') return layout;
    if (title === undefined || title.k === 'none') return { layout, offset };
    if (title.k !== 'str') return `${what} title is a ${title.k}, not a str`;
    const twin = entries.get(title.v);
    const same =
      twin?.k === 'tuple' && twin.omitted === 0 && twin.items.length === 3 && twin.items[0] === dtype && intOf(twin.items[1]) === offset &&
      twin.items[2]?.k === 'str' && twin.items[2].v === title.v;
    if (!same) return `${what} title ${JSON.stringify(title.v)} has no matching entry`;
    return { layout, offset, title: title.v };
  }
}

interface Got {
  size: number;
  align: number;
  flags: number;
}

/** The state's elsize/alignment/flags must be what NumPy computes; then the layout is `layout`. */
function expect(want: Got, got: Got, layout: Omit<DtypeLayout, 'flags' | 'hasObject'>): DtypeLayout | string {
  if (got.size !== want.size) return `elsize ${got.size}, NumPy writes ${want.size}`;
  if (got.align !== want.align) return `alignment ${got.align}, NumPy writes ${want.align}`;
  if (got.flags !== want.flags) {
    return `flags 0x${got.flags.toString(16)} but the type implies 0x${want.flags.toString(16)}${(got.flags ^ want.flags) & HASOBJECT ? ' (hasobject lies)' : ''}`;
  }
  return { ...layout, flags: want.flags, hasObject: (want.flags & HASOBJECT) !== 0 };
}

function freshLayout(type: TypeStr): DtypeLayout {
  if (type.fixed) return { itemsize: type.fixed.size, alignment: type.fixed.align, flags: type.fixed.flags, hasObject: type.fixed.flags !== 0, depth: 1 };
  const base = FLEXIBLE[type.kind]!;
  return { itemsize: type.flexibleSize!, alignment: base.align, flags: base.flags, hasObject: false, depth: 1 };
}

/** NumPy refuses object fields that overlap anything; a state may not sneak them in. */
function objectOverlap(ranges: Array<{ start: number; end: number; hasObject: boolean }>): string | undefined {
  const sorted = [...ranges].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  let reach = -1;
  let reachHasObject = false;
  for (const r of sorted) {
    if (r.start < reach && (r.hasObject || reachHasObject)) return `an object field overlaps another field at offset ${r.start}`;
    if (r.end > reach) {
      reach = r.end;
      reachHasObject = r.hasObject;
    } else reachHasObject ||= r.hasObject;
  }
  return undefined;
}

/** Version 4 metadata: `(dict, (unit, num, den, events))` for datetimes, else a dict; plain data only. */
function checkMetadata(type: TypeStr, metadata: Value | undefined, imports: readonly ImportRecord[]): string | undefined {
  if (metadata === undefined || metadata.k === 'none') return undefined;
  if (type.kind === 'M' || type.kind === 'm') {
    if (metadata.k !== 'tuple' || metadata.items.length !== 2) return 'datetime metadata is not (metadata, c_metadata)';
    return plainData(metadata, imports) ? undefined : 'datetime metadata holds more than plain data';
  }
  if (metadata.k !== 'dict') return `metadata is a ${metadata.k}, not a dict`;
  return plainData(metadata, imports) ? undefined : 'metadata holds more than plain data';
}

/**
 * `_codecs.encode('<text>', 'latin1')`: how protocols 0-2 write a bytes object (the datetime
 * unit in a dtype's metadata). Its arguments are constant strings, so it can use nothing.
 */
function isBytesCall(v: Value, imports: readonly ImportRecord[]): boolean {
  if (v.k !== 'call' || v.kwargs !== undefined || v.via !== 'REDUCE') return false;
  if (globalName(v.fn, imports) !== '_codecs.encode') return false;
  return v.args.k === 'tuple' && v.args.omitted === 0 && v.args.items.length === 2 && v.args.items.every((a) => a.k === 'str');
}

function plainData(v: Value, imports: readonly ImportRecord[], depth = 0): boolean {
  if (depth > MAX_DTYPE_DEPTH) return false;
  switch (v.k) {
    case 'none':
    case 'bool':
    case 'int':
    case 'float':
    case 'str':
    case 'bytes':
      return true;
    case 'tuple':
    case 'list':
      return v.omitted === 0 && v.items.every((x) => plainData(x, imports, depth + 1));
    case 'dict':
      return v.omitted === 0 && v.entries.every(([a, b]) => plainData(a, imports, depth + 1) && plainData(b, imports, depth + 1));
    case 'call':
      return isBytesCall(v, imports);
    default:
      return false;
  }
}

/** The layout of the dtype value `v` (a `numpy.dtype` call), every state on the way checked. */
export function dtypeLayout(v: Value | undefined, imports: readonly ImportRecord[]): DtypeLayout | string {
  return new Describer(imports).describe(v);
}

/**
 * Opcodes that may sit between a dtype's creation and its BUILD: what NumPy's own pickles
 * use to write a state (data, memo, sub-dtypes). Anything else (POP, DUP, persistent ids,
 * other constructors) could use the dtype before its state is set.
 */
const WINDOW_OPS = new Set([
  'MARK', 'FRAME', 'NONE', 'NEWTRUE', 'NEWFALSE', 'INT', 'BININT', 'BININT1', 'BININT2', 'LONG', 'LONG1', 'LONG4',
  'FLOAT', 'BINFLOAT', 'STRING', 'BINSTRING', 'SHORT_BINSTRING', 'UNICODE', 'BINUNICODE', 'SHORT_BINUNICODE',
  'BINUNICODE8', 'BINBYTES', 'SHORT_BINBYTES', 'BINBYTES8', 'TUPLE', 'TUPLE1', 'TUPLE2', 'TUPLE3', 'EMPTY_TUPLE',
  'EMPTY_DICT', 'DICT', 'SETITEM', 'SETITEMS', 'EMPTY_LIST', 'LIST', 'APPEND', 'APPENDS', 'PUT', 'BINPUT',
  'LONG_BINPUT', 'MEMOIZE', 'GET', 'BINGET', 'LONG_BINGET', 'GLOBAL', 'STACK_GLOBAL', 'REDUCE',
]);
const CALL_OPS = new Set(['REDUCE', 'NEWOBJ', 'NEWOBJ_EX', 'INST', 'OBJ']);
/** Values walked per state (the graph is shared, each node once): a bound on the work. */
const MAX_STATE_NODES = 1_000_000;

/**
 * Offsets of the calls reachable from `v` (a state) that may run inside its window: `numpy.dtype`
 * sub-dtypes and protocol-2 bytes; any other call or opaque value is named in `other`.
 * `selfSeen`: the dtype being built is among them (a cycle).
 */
function dtypeCallsIn(v: Value, imports: readonly ImportRecord[], self: Value): { offsets: Set<number>; selfSeen: boolean; other?: string } {
  const offsets = new Set<number>();
  const seen = new Set<Value>();
  let selfSeen = false;
  let other: string | undefined;
  const walk = (x: Value): void => {
    if (seen.has(x)) return;
    seen.add(x);
    if (seen.size > MAX_STATE_NODES) {
      other ??= `more than ${MAX_STATE_NODES} values (MAX_STATE_NODES): too large to check`;
      return;
    }
    if (x === self) selfSeen = true;
    switch (x.k) {
      case 'tuple':
      case 'list':
      case 'set':
      case 'frozenset':
        x.items.forEach(walk);
        return;
      case 'dict':
        for (const [a, b] of x.entries) {
          walk(a);
          walk(b);
        }
        return;
      case 'call':
        if (isNumpyDtypeCall(x, imports)) {
          offsets.add(x.offset);
          if (x.state) walk(x.state);
        } else if (isBytesCall(x, imports)) offsets.add(x.offset);
        else other ??= `made by ${globalName(x.fn, imports) ?? 'a computed callable'}`;
        return;
      case 'global':
      case 'persid':
      case 'buffer':
      case 'unknown':
        other ??= `a ${x.k}`;
        return;
      default:
        return;
    }
  };
  walk(v);
  return other === undefined ? { offsets, selfSeen } : { offsets, selfSeen, other };
}

/**
 * Between a dtype's creation (its REDUCE) and its BUILD, the only calls allowed are the
 * sub-dtypes the state holds: anything else could have used the dtype before NumPy set its
 * state (an array or a void scalar keeps the dtype and sees it change). Windows already
 * checked (sub-dtypes) are skipped, so nested states are walked once; any other BUILD in
 * the window (another dtype's, say, one that holds this one) is a use before the state.
 */
function checkWindow(
  target: CallValue,
  buildAt: number,
  source: ByteSource,
  allowedCalls: Set<number>,
  checked: Map<number, number>,
): string | undefined {
  const base = target.offset;
  const bytes = source.read(base, buildAt + 1 - base); // the window is read once, walked in memory
  if (bytes.length !== buildAt + 1 - base) return 'its state could not be followed opcode by opcode';
  const first = OPCODE_BY_BYTE[bytes[0]!];
  if (first === undefined || !CALL_OPS.has(first.name)) return 'its creation is not where the scanner expects it';
  let i = 1;
  while (i < bytes.length) {
    const at = base + i;
    const op = OPCODE_BY_BYTE[bytes[i]!];
    if (op === undefined) return 'its state could not be followed opcode by opcode';
    if (at === buildAt) return op.name === 'BUILD' ? undefined : 'its BUILD is not where the scanner expects it';
    if (!WINDOW_OPS.has(op.name)) return `${op.name} at offset ${at} runs before its state is set`;
    if (CALL_OPS.has(op.name)) {
      if (!allowedCalls.has(at)) return `a call at offset ${at} runs before its state is set (it may use the dtype)`;
      const skip = checked.get(at);
      if (skip !== undefined && skip <= buildAt) {
        i = skip - base; // a sub-dtype whose own window was checked: on past its BUILD
        continue;
      }
    }
    const next = argEnd(bytes, i + 1, op.arg);
    if (next === undefined) return 'its state could not be followed opcode by opcode';
    i = next;
  }
  return 'its state could not be followed opcode by opcode';
}

const FIXED_ARG: Partial<Record<ArgKind, number>> = { none: 0, uint1: 1, uint2: 2, int4: 4, uint4: 4, uint8: 8, float8: 8 };
const COUNTED_ARG: Partial<Record<ArgKind, 1 | 4 | 8>> = {
  long1: 1, string1: 1, bytes1: 1, unicodestring1: 1,
  long4: 4, string4: 4, bytes4: 4, unicodestring4: 4,
  bytes8: 8, bytearray8: 8, unicodestring8: 8,
};

/** Where an opcode's argument starting at `i` ends (lengths only, nothing decoded); undefined past the window. */
function argEnd(bytes: Uint8Array, i: number, kind: ArgKind): number | undefined {
  const fixed = FIXED_ARG[kind];
  if (fixed !== undefined) return i + fixed <= bytes.length ? i + fixed : undefined;
  const width = COUNTED_ARG[kind];
  if (width !== undefined) {
    if (i + width > bytes.length) return undefined;
    let n = 0;
    for (let k = width - 1; k >= 0; k--) n = n * 256 + bytes[i + k]!;
    const end = i + width + n;
    return end <= bytes.length ? end : undefined;
  }
  const lines = kind === 'stringnl_noescape_pair' ? 2 : 1;
  let at = i;
  for (let l = 0; l < lines; l++) {
    const nl = bytes.indexOf(0x0a, at);
    if (nl < 0) return undefined;
    at = nl + 1;
  }
  return at;
}

/** What was checked per BUILD, so later mutation of the fields dict can be seen. */
interface Snapshot {
  target: CallValue;
  state: Value;
  fields?: { dict: Extract<Value, { k: 'dict' }>; entries: number };
  offset: number;
}

export interface NumpyDtypeValidator {
  afterBuild: AfterBuildHook;
  /**
   * Run once the stream is read: a dtype's fields dict changed after its BUILD (NumPy keeps
   * the dict itself, so a later SETITEM moves fields) is a violation message; else undefined.
   */
  finish(): string | undefined;
}

/** A fresh validator for one stream. */
export function numpyDtypeValidator(): NumpyDtypeValidator {
  const built = new Set<object>();
  const checkedWindows = new Map<number, number>(); // creation offset -> just past BUILD
  const snapshots: Snapshot[] = [];
  let describer: Describer | undefined;
  const afterBuild: AfterBuildHook = (ctx) => {
    const { target, imports } = ctx;
    if (target.k !== 'call') return undefined;
    const fail = (why: string) => ({ error: `numpy.dtype built at offset ${ctx.offset - 1}: ${why}` });
    if (isDtypeClassCall(target, imports)) return fail('a numpy.dtypes class given a state is not checked here');
    if (!isNumpyDtypeCall(target, imports)) return undefined;
    if (built.has(target)) return fail('its state is set a second time (NumPy changes it in place, under anything that already uses it)');
    built.add(target);
    describer ??= new Describer(imports);
    describer.imports = imports;
    const layout = describer.describe(target);
    if (typeof layout === 'string') return fail(layout);
    const inState = dtypeCallsIn(ctx.state, imports, target);
    if (inState.selfSeen) return fail('its state contains the dtype itself');
    if (inState.other) return fail(`its state holds a value ${inState.other}`);
    const buildAt = ctx.offset - 1;
    const window = checkWindow(target, buildAt, ctx.source, inState.offsets, checkedWindows);
    if (window) return fail(window);
    checkedWindows.set(target.offset, ctx.offset);
    const fields = ctx.state.k === 'tuple' ? ctx.state.items[4] : undefined;
    snapshots.push({
      target,
      state: ctx.state,
      offset: buildAt,
      ...(fields?.k === 'dict' ? { fields: { dict: fields, entries: fields.entries.length } } : {}),
    });
    return undefined;
  };
  const finish = (): string | undefined => {
    for (const s of snapshots) {
      if (s.target.state !== s.state) return `numpy.dtype built at offset ${s.offset}: its state was replaced later`;
      if (s.fields && (s.fields.dict.entries.length !== s.fields.entries || s.fields.dict.omitted !== 0)) {
        return `numpy.dtype built at offset ${s.offset}: its fields dict was changed after its BUILD (NumPy keeps that dict, so its fields moved)`;
      }
    }
    return undefined;
  };
  return { afterBuild, finish };
}

/** Runs hooks in order; the first answer wins (the dtype validator goes first: it only refuses). */
export function composeAfterBuild(...hooks: Array<AfterBuildHook | undefined>): AfterBuildHook {
  const present = hooks.filter((h): h is AfterBuildHook => h !== undefined);
  return (ctx) => {
    for (const h of present) {
      const answer = h(ctx);
      if (answer !== undefined) return answer;
    }
    return undefined;
  };
}
