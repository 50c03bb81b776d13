/**
 * joblib pickles: the pickle machine plus joblib's out-of-band array reads.
 *
 * joblib's NumpyUnpickler (joblib/numpy_pickle.py, checked against joblib 1.2) overrides
 * BUILD: when the object just built is a `NumpyArrayWrapper`, it reads the array from the
 * file right there (`NumpyArrayWrapper.read_array`):
 *   - object dtypes (`dtype.hasobject`): a whole nested `pickle.load(file)` (fresh memo);
 *   - otherwise, when the wrapper has a non-None `numpy_array_alignment_bytes` attribute
 *     (joblib >= 1.2): one padding-length byte and that many padding bytes; then
 *     count * itemsize raw bytes, count = product of `shape` as int64 (1 for shape ()).
 * Older wrappers (joblib < 0.10) read nothing inline: `NDArrayWrapper` loads an external
 * file with `np.load(..., allow_pickle=True)` (we cannot scan it: refused), `ZNDArrayWrapper`
 * an external zlib file of raw array bytes.
 *
 * The dtype is itself a symbolic `numpy.dtype(typestr, align, copy)` call with a BUILD state
 * `(version, endian, subarray, names, fields, elsize, alignment, flags[, metadata])`. What
 * NumPy (1.24, checked by experiment) takes from it: for flexible kinds S/U/V the itemsize
 * is `elsize`; for the others the typestr decides; `hasobject` is `flags & 1`, verbatim.
 * Anything we cannot compute exactly is an error (a violation), never a guess.
 */
import type { ByteSource } from '../io/byte-source.js';
import { analyzePickleStream } from '../pickle/index.js';
import { readOpcodes } from '../pickle/opcode-iterator.js';
import { OP, OPCODE_BY_BYTE, type ArgKind } from '../pickle/opcodes.js';
import type { Finding } from '../findings.js';
import { composeAfterBuild, dtypeLayout, numpyDtypeValidator } from './numpy-dtype.js';
import type {
  AfterBuildHook,
  ImportRecord,
  ImportUse,
  MachineOptions,
  PersistentIdRecord,
  PickleStreamAnalysis,
  Value,
} from '../pickle/types.js';

export interface JoblibOptions extends Omit<MachineOptions, 'afterBuild'> {
  /**
   * Also read the stream as plain `pickle.load` does (array bytes as opcodes) when a wrapper
   * made the two readings differ, and merge what that reading finds (see `mergeReadings`).
   * For files that an app may load with either loader.
   */
  plainReadingToo?: boolean;
}

/** Scans a (decompressed) joblib pickle stream the way joblib.load reads it. */
export function analyzeJoblib(source: ByteSource, options: JoblibOptions = {}): PickleStreamAnalysis {
  const { plainReadingToo, ...machine } = options;
  const reader = joblibReader();
  const joblib = withDtypeCheck(source, machine, reader.afterBuild);
  const from = reader.divergedAt();
  if (!plainReadingToo || from === undefined) return joblib;
  return mergeReadings(joblib, withDtypeCheck(source, machine), { source, divergedAt: from });
}

/** One reading with the numpy dtype validator in front of `hook` (see numpy-dtype.ts). */
function withDtypeCheck(source: ByteSource, options: MachineOptions, hook?: AfterBuildHook): PickleStreamAnalysis {
  const dtypes = numpyDtypeValidator();
  const analysis = analyzePickleStream(source, { ...options, afterBuild: composeAfterBuild(dtypes.afterBuild, hook) });
  const late = dtypes.finish();
  if (late !== undefined) analysis.findings.push({ code: 'malformed', message: late });
  return analysis;
}

/**
 * Adds to joblib's reading what a plain `pickle.load` of the same bytes would import or do.
 * A wrapper's array bytes are opcodes to `pickle.load`: a crafted "array" can hide a call
 * that joblib skips but pickle.load runs.
 *
 * Kept from the plain reading: every import (one joblib's reading has at the same offset
 * gets the plain reading's uses added: a memo confusion can make it a call only there),
 * persistent ids, and every finding except a `malformed`/`not-a-pickle` error that is both
 * at or after `divergedAt` (the first offset where joblib read differently; before it both
 * readings are the same bytes in the same state, so joblib's reading reports the error
 * itself) and certain (see `errorIsCertain`). Such an error means pickle.load raises there:
 * nothing after it runs, and what ran before it is kept. Real array bytes end the plain
 * reading that way (the padding-length byte is no opcode). The machine's own internal
 * errors are always kept. The pickles and end are joblib's.
 */
export function mergeReadings(
  joblib: PickleStreamAnalysis,
  plain: PickleStreamAnalysis,
  where: { source: ByteSource; divergedAt: number },
): PickleStreamAnalysis {
  const { imports, remap } = mergeImports(joblib.imports, plain.imports);
  for (const imp of plain.imports) {
    const into = imports[remap.get(imp.index)!]!;
    for (const use of imp.uses) {
      const copy = use.kind === 'constrained-getattr' ? { ...use, derived: remap.get(use.derived) ?? use.derived } : { ...use };
      if (!into.uses.some((u) => sameUse(u, copy))) into.uses.push(copy);
    }
  }
  const findingKey = (f: Finding) => `${f.code}\0${f.offset}\0${f.message}`;
  const known = new Set(joblib.findings.map(findingKey));
  const findings = [...joblib.findings];
  for (const f of plain.findings) {
    if (known.has(findingKey(f)) || droppablePlainError(f, plain, where)) continue;
    findings.push({ ...f, message: `${f.message} (when read by plain pickle.load, which reads joblib's array bytes as opcodes)` });
  }
  const pidKey = (p: PersistentIdRecord) => `${p.offset}\0${p.opcode}`;
  const pids = new Set(joblib.persistentIds.map(pidKey));
  const persistentIds = [...joblib.persistentIds, ...plain.persistentIds.filter((p) => !pids.has(pidKey(p)))];
  return { ...joblib, imports, findings, persistentIds };
}

/**
 * joblib's imports (records copied, so their uses can grow) plus the plain reading's new
 * ones, and where each plain import landed. Same import = same offset, origin and name.
 */
function mergeImports(joblib: readonly ImportRecord[], plain: readonly ImportRecord[]): { imports: ImportRecord[]; remap: Map<number, number> } {
  const key = (i: ImportRecord) => `${i.offset}\0${i.origin}\0${i.module}\0${i.name}`;
  const imports = joblib.map((i) => ({ ...i, uses: [...i.uses] }));
  const at = new Map(imports.map((i) => [key(i), i.index]));
  const remap = new Map<number, number>();
  for (const imp of plain) {
    const existing = at.get(key(imp));
    if (existing !== undefined) {
      remap.set(imp.index, existing);
      continue;
    }
    remap.set(imp.index, imports.length);
    imports.push({ ...imp, index: imports.length, uses: [] });
  }
  return { imports, remap };
}

function sameUse(a: ImportUse, b: ImportUse): boolean {
  if (a.kind === 'value' || b.kind === 'value') return a.kind === b.kind;
  if (a.kind === 'call') return b.kind === 'call' && a.via === b.via && a.offset === b.offset;
  return b.kind === 'constrained-getattr' && a.offset === b.offset && a.derived === b.derived;
}

/** A plain-reading error past the divergence point that CPython raises too (see mergeReadings). */
function droppablePlainError(f: Finding, plain: PickleStreamAnalysis, where: { source: ByteSource; divergedAt: number }): boolean {
  if (f.code !== 'malformed' && f.code !== 'not-a-pickle') return false;
  if (f.message.startsWith('internal error')) return false;
  if (f.offset === undefined || f.offset < where.divergedAt) return false;
  return errorIsCertain(f.offset, plain, where.source);
}

/** Argument sizes of the fixed-size kinds; the others (lines, counted) may run any length. */
const FIXED_ARG_BYTES: Partial<Record<ArgKind, number>> = { none: 0, uint1: 1, uint2: 2, int4: 4, uint4: 4, uint8: 8, float8: 8 };

/**
 * Whether CPython's C unpickler certainly fails on the same opcode as the machine's linear
 * reading did at `at`. They read the same bytes except where a read crosses the end of a
 * FRAME: C then drops the frame's unread rest and reads on from the file (a GLOBAL line
 * split by a frame end is an error to a linear reader, an import to C). So: certain when no
 * frame is open at `at`, or the opcode there is unknown, or its fixed-size argument ends
 * inside the frame. Anything else (or a walk that cannot reach `at`) is not certain.
 */
function errorIsCertain(at: number, plain: PickleStreamAnalysis, source: ByteSource): boolean {
  const pickle = plain.pickles[plain.pickles.length - 1]; // the machine stops at its first error
  if (pickle === undefined || at < pickle.start) return false;
  let frameEnd = -1;
  let next = pickle.start;
  try {
    for (const rec of readOpcodes(source, pickle.start)) {
      if (rec.offset >= at) break;
      if (rec.offset >= frameEnd) frameEnd = -1;
      if (rec.op.code === OP.FRAME) frameEnd = rec.end + Number(rec.arg);
      next = rec.end;
    }
  } catch {
    // Expected when decoding the failing opcode itself throws: then `next` is `at`.
  }
  if (next !== at) return false; // the walk did not reach `at` on an opcode boundary
  if (frameEnd <= at) return true;
  const op = OPCODE_BY_BYTE[source.read(at, 1)[0] ?? -1];
  if (op === undefined) return true;
  const size = FIXED_ARG_BYTES[op.arg];
  return size !== undefined && at + 1 + size <= frameEnd;
}

type CallValue = Extract<Value, { k: 'call' }>;

const NUMPY_ARRAY_WRAPPER = new Set([
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
]);
const ND_ARRAY_WRAPPER = new Set([
  'joblib.numpy_pickle.NDArrayWrapper',
  'joblib.numpy_pickle_compat.NDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper',
]);
const ZND_ARRAY_WRAPPER = new Set([
  'joblib.numpy_pickle.ZNDArrayWrapper',
  'joblib.numpy_pickle_compat.ZNDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle_compat.ZNDArrayWrapper',
]);
/** `NumpyArrayWrapper.__init__` parameters, in order (run only when the class itself is called). */
const WRAPPER_INIT_PARAMS = ['subclass', 'shape', 'order', 'dtype', 'allow_mmap', 'numpy_array_alignment_bytes'];
const WRAPPER_INIT_DEFAULTS: Record<string, Value> = {
  allow_mmap: { k: 'bool', v: false },
  numpy_array_alignment_bytes: { k: 'int', v: 16 },
};
const INT64_MAX = (1n << 63n) - 1n;

/** joblib's BUILD hook for one stream (a fresh one per stream). */
export function joblibAfterBuild(): AfterBuildHook {
  return joblibReader().afterBuild;
}

/** What one stream's joblib reading did differently from a plain unpickle. */
export interface JoblibReader {
  afterBuild: AfterBuildHook;
  /** True once the hook made joblib's reading differ from a plain unpickle. */
  diverged(): boolean;
  /** Offset of the first byte joblib read differently (the first array it read), if any. */
  divergedAt(): number | undefined;
  /** [start, end) of each inline array joblib skipped as data (padding included). */
  skipped(): ReadonlyArray<readonly [number, number]>;
}

/** The BUILD hook plus where it made joblib's reading differ from a plain unpickle. */
export function joblibReader(): JoblibReader {
  let first: number | undefined;
  const skipped: Array<readonly [number, number]> = [];
  const hook = wrapperHook();
  return {
    afterBuild: (ctx) => {
      const answer = hook(ctx);
      if (answer === undefined || ('resume' in answer && answer.resume === ctx.offset)) return answer;
      first ??= ctx.offset;
      if ('resume' in answer) skipped.push([ctx.offset, answer.resume]);
      return answer;
    },
    diverged: () => first !== undefined,
    divergedAt: () => first,
    skipped: () => skipped,
  };
}

/**
 * Remembers which wrappers were already read: a second BUILD on the same wrapper is refused,
 * since joblib reads again if it came from the memo but not if it came from the stack (where
 * the array replaced it), and we cannot tell the two apart.
 */
function wrapperHook(): AfterBuildHook {
  const read = new WeakSet<object>();
  // Object arrays are read with a plain pickle.load: inside those nested pickles a wrapper is
  // just an object and the bytes after its BUILD are opcodes. [start, end) of each one.
  const plainRanges: Array<[number, number]> = [];
  return (ctx) => {
    const { target } = ctx;
    if (target.k !== 'call') return undefined;
    if (plainRanges.some(([a, b]) => ctx.offset > a && ctx.offset <= b)) return undefined;
    const made = constructedClass(target, ctx.imports);
    if (made === undefined) return undefined;
    const kind = wrapperKind(made.cls);
    if (kind === undefined) return undefined;
    if (read.has(target)) {
      return { error: `${made.cls} built a second time at offset ${ctx.offset}: joblib reads it again or not depending on where it came from` };
    }
    read.add(target);
    if (ctx.frameEnd !== undefined && ctx.frameEnd > ctx.offset) {
      return {
        error: `${made.cls} built inside a FRAME that ends at ${ctx.frameEnd}: joblib would read its array after the frame, not at ${ctx.offset}`,
      };
    }
    if ('error' in made) return { error: made.error };
    const attrs = attributesOf(made, ctx.state);
    if (typeof attrs === 'string') return { error: `${made.cls} at offset ${ctx.offset}: ${attrs}` };
    if (kind === 'znd') return undefined; // reads an external file of raw bytes; nothing inline
    if (kind === 'nd') {
      const file = attrs.get('filename');
      const name = file?.k === 'str' ? JSON.stringify(file.v) : 'an unknown file';
      return {
        error: `joblib < 0.10 NDArrayWrapper at offset ${ctx.offset} makes joblib load ${name} next to the model with np.load(allow_pickle=True); that file is not scanned`,
      };
    }
    const answer = inlineArray(attrs, ctx.imports, ctx.source, ctx.offset);
    if ('error' in answer) return { error: `NumpyArrayWrapper at offset ${ctx.offset}: ${answer.error}` };
    if ('nestedPickleAt' in answer) {
      const end = plainPickleEnd(ctx.source, answer.nestedPickleAt);
      if (end === undefined) return { error: `NumpyArrayWrapper at offset ${ctx.offset}: the object array's nested pickle does not end cleanly` };
      plainRanges.push([answer.nestedPickleAt, end]);
    }
    return answer;
  };
}

/**
 * Where the plain `pickle.load` joblib runs for an object array ends (just past its STOP),
 * found by a plain scan of that one pickle; undefined when it does not end cleanly.
 */
function plainPickleEnd(source: ByteSource, start: number): number | undefined {
  const scan = analyzePickleStream(source, { start, pickleCount: 1 });
  const only = scan.pickles[0];
  if (scan.pickles.length !== 1 || !only?.complete || scan.findings.some((f) => f.code === 'limit')) return undefined;
  return only.end;
}

function wrapperKind(cls: string): 'numpy' | 'nd' | 'znd' | undefined {
  if (NUMPY_ARRAY_WRAPPER.has(cls)) return 'numpy';
  if (ZND_ARRAY_WRAPPER.has(cls)) return 'znd';
  if (ND_ARRAY_WRAPPER.has(cls)) return 'nd';
  return undefined;
}

function globalName(v: Value | undefined, imports: readonly ImportRecord[]): string | undefined {
  if (v?.k !== 'global') return undefined;
  const imp = imports[v.imp];
  return imp ? `${imp.module}.${imp.name}` : undefined;
}

type Construction =
  | { cls: string; init?: Value }
  /** A wrapper class made in a way whose attributes we cannot follow. */
  | { cls: string; error: string };

/**
 * Which class an object was made of, and the `__init__` arguments when `__init__` ran:
 * NEWOBJ/NEWOBJ_EX and copyreg's `_reconstructor`/`__newobj__` call `__new__` only;
 * REDUCE/INST/OBJ on the class itself run `__init__` too.
 */
function constructedClass(target: CallValue, imports: readonly ImportRecord[]): Construction | undefined {
  const fn = globalName(target.fn, imports);
  if (fn === undefined) return undefined;
  if (target.via === 'NEWOBJ' || target.via === 'NEWOBJ_EX') return { cls: fn };
  if (target.via === 'REDUCE' && (fn === 'copyreg._reconstructor' || fn === 'copyreg.__newobj__' || fn === 'copyreg.__newobj_ex__')) {
    if (target.args.k !== 'tuple') return undefined;
    const cls = globalName(target.args.items[0], imports);
    if (cls === undefined) return undefined;
    if (fn === 'copyreg._reconstructor' && globalName(target.args.items[1], imports) !== 'builtins.object') {
      return { cls, error: `made by copyreg._reconstructor with a base other than object` };
    }
    return { cls };
  }
  return { cls: fn, init: target.args };
}

/** The instance `__dict__` after `__init__` (if it ran) and pickle's default BUILD. */
function attributesOf(made: { cls: string; init?: Value }, state: Value): Map<string, Value> | string {
  const attrs = new Map<string, Value>();
  if (made.init !== undefined) {
    if (!NUMPY_ARRAY_WRAPPER.has(made.cls)) return 'its __init__ arguments are not read here';
    const args = made.init;
    if (args.k !== 'tuple' || args.omitted !== 0) return '__init__ arguments are not a known tuple';
    if (args.items.length < 4 || args.items.length > WRAPPER_INIT_PARAMS.length) {
      return `__init__ takes 4 to 6 arguments, got ${args.items.length}`;
    }
    WRAPPER_INIT_PARAMS.forEach((p, i) => {
      const v = args.items[i] ?? WRAPPER_INIT_DEFAULTS[p];
      if (v) attrs.set(p, v);
    });
  }
  // pickle's load_build: state, or (state, slotstate); each a dict or falsy.
  let dictState: Value = state;
  let slotState: Value | undefined;
  if (state.k === 'tuple' && state.items.length === 2 && state.omitted === 0) {
    [dictState, slotState] = state.items as [Value, Value];
  }
  for (const part of [dictState, slotState]) {
    if (part === undefined || isFalsy(part)) continue;
    if (part.k !== 'dict') return `BUILD state is a ${part.k}, not a dict we can read`;
    if (part.omitted !== 0) return 'BUILD state has more entries than are kept';
    for (const [key, value] of part.entries) {
      if (key.k === 'str') attrs.set(key.v, value);
      else if (key.k === 'unknown') return 'BUILD state has a key we cannot read';
    }
  }
  return attrs;
}

function isFalsy(v: Value): boolean {
  if (v.k === 'none') return true;
  if (v.k === 'bool') return !v.v;
  if (v.k === 'dict') return v.entries.length === 0 && v.omitted === 0;
  return false;
}

/** What `read_array` consumes right after the wrapper's BUILD. */
function inlineArray(
  attrs: Map<string, Value>,
  imports: readonly ImportRecord[],
  source: ByteSource,
  offset: number,
): { resume: number } | { nestedPickleAt: number } | { error: string } {
  const count = elementCount(attrs.get('shape'));
  if (typeof count === 'string') return { error: count };
  const dtype = dtypeInfo(attrs.get('dtype'), imports);
  if (typeof dtype === 'string') return { error: dtype };
  if (dtype.hasObject) {
    if (offset >= source.size) return { error: 'object array: the nested pickle joblib reads next is missing' };
    return { nestedPickleAt: offset };
  }
  let start = offset;
  const alignment = attrs.get('numpy_array_alignment_bytes');
  if (alignment !== undefined && alignment.k !== 'none') {
    if (alignment.k === 'unknown') return { error: 'numpy_array_alignment_bytes is a value we cannot read' };
    const pad = source.read(offset, 1)[0];
    if (pad === undefined) return { error: 'the padding-length byte lies past the end of the stream' };
    start = offset + 1 + pad;
  }
  if (dtype.itemsize === 0) return { error: 'dtype itemsize is 0 (joblib fails dividing by it)' };
  const end = BigInt(start) + count * BigInt(dtype.itemsize);
  if (end > BigInt(source.size)) {
    return { error: `array data needs ${end - BigInt(offset)} bytes after offset ${offset}, only ${source.size - offset} are left` };
  }
  return { resume: Number(end) };
}

/** `numpy.multiply.reduce` of the shape as int64; overflow and negatives are errors here. */
function elementCount(shape: Value | undefined): bigint | string {
  if (shape === undefined) return 'no shape attribute';
  if ((shape.k !== 'tuple' && shape.k !== 'list') || shape.omitted !== 0) return `shape is a ${shape.k}, not a tuple we can read`;
  let count = 1n;
  for (const dim of shape.items) {
    if (dim.k !== 'int') return `shape holds a ${dim.k}, not an int`;
    const n = BigInt(dim.v);
    if (n < 0n) return `shape holds a negative dimension ${n}`;
    count *= n;
    if (count > INT64_MAX) return 'shape product overflows int64';
  }
  return count;
}

/** Size and object-ness of the wrapper's dtype, its (BUILD) state checked as NumPy would hold it. */
function dtypeInfo(v: Value | undefined, imports: readonly ImportRecord[]): { itemsize: number; hasObject: boolean } | string {
  return dtypeLayout(v, imports);
}
