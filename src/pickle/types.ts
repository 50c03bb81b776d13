/**
 * What the symbolic pickle machine reports: plain data, no policy applied yet.
 */
import type { Finding, LimitName } from '../findings.js';
import type { ByteSource } from '../io/byte-source.js';

/** How an import was introduced. */
export type ImportOpcode = 'GLOBAL' | 'STACK_GLOBAL' | 'INST';

/** Opcodes that call a callable. */
export type CallOpcode = 'REDUCE' | 'NEWOBJ' | 'NEWOBJ_EX' | 'INST' | 'OBJ';

export type ImportUse =
  /** Called (directly, or after a trip through the memo). `offset` is the calling opcode's. */
  | { kind: 'call'; via: CallOpcode; offset: number }
  /** `builtins.getattr(<allowed global>, '<CONST>')`: checked as the derived import instead. */
  | { kind: 'constrained-getattr'; offset: number; derived: number }
  /** Left as a value (an argument, a dict entry, the result ...). */
  | { kind: 'value' };

export interface ImportRecord {
  /** Index in `PickleStreamAnalysis.imports`. */
  index: number;
  /** Module and qualified name as CPython's find_class resolves them (Python-2 names mapped when protocol < 3). */
  module: string;
  name: string;
  /** The strings exactly as written in the pickle, before any mapping. */
  written: { module: string; name: string };
  /**
   * `import`: a GLOBAL/STACK_GLOBAL/INST opcode.
   * `getattr`: derived from a constrained `builtins.getattr(Class, 'NAME')` call, reported
   * as `Class.NAME` (module of Class, name `Class.NAME`); `offset` is the call's.
   */
  origin: 'import' | 'getattr';
  opcode: ImportOpcode | CallOpcode;
  /** Byte offset of the opcode, relative to the start of the scanned stream (the member). */
  offset: number;
  /** Which pickle of the stream (0-based) it is in. */
  pickleIndex: number;
  /** The name contains a dot: find_class walks attributes (`pathlib` + `os.system`). */
  traversal: boolean;
  /** Some segment of module or name is a dunder (`__builtins__`, `__globals__` ...). */
  dunder: boolean;
  uses: ImportUse[];
}

export interface PersistentIdRecord {
  offset: number;
  opcode: 'PERSID' | 'BINPERSID';
  pickleIndex: number;
  /** A short description of the id's shape, e.g. `('storage', <global torch.FloatStorage>, str, str, int)`. */
  shape: string;
}

export interface PickleInfo {
  index: number;
  /** Offsets of the first opcode and just past STOP (or where parsing ended). */
  start: number;
  end: number;
  /** Highest protocol announced by PROTO (0 when none). */
  protocol: number;
  opcodes: number;
  /** True when the pickle ended with STOP. */
  complete: boolean;
}

export interface PickleStreamAnalysis {
  imports: ImportRecord[];
  /** Machine-level findings: dynamic-global, mutates-global, indirect-call, extension-registry, frame-violation, malformed, limit, not-a-pickle, persistent-id. */
  findings: Finding[];
  pickles: PickleInfo[];
  persistentIds: PersistentIdRecord[];
  /** Offset just past the last byte consumed (after the last STOP, or where the error was). */
  end: number;
  /** Present when `recordEffects` was asked for (explain/decompile). */
  effects?: Effect[];
}

export interface PickleLimits {
  maxOpcodes: number;
  maxStackDepth: number;
  maxMemoEntries: number;
  maxPicklesPerStream: number;
  /** A declared length larger than this (or than the bytes left) is a `limit`/`malformed` finding. */
  maxDeclaredLength: number;
  /** Items kept per symbolic list/tuple/dict (the rest are counted, not kept). */
  maxValueItems: number;
  /**
   * Import records per stream (GLOBAL/INST/STACK_GLOBAL and derived getattr). Each costs
   * a few hundred bytes for a dozen bytes of pickle; past this the scan stops with `limit`.
   * Optional for callers built before it existed; the default applies.
   */
  maxImports?: number;
  /**
   * Call uses listed over all import records of a stream (each import lists at most its
   * first 1000 calls). Each costs ~70 bytes for 2 bytes of pickle (BINGET + REDUCE on a
   * memoized global); past this the scan stops with `limit`. Optional; the default applies.
   */
  maxCallUses?: number;
  /**
   * Effects recorded with `recordEffects` (explain/decompile only): each call, BUILD,
   * SETITEM, APPEND. Past this the scan stops with `limit`. Optional; the default applies.
   */
  maxEffects?: number;
}

export const DEFAULT_PICKLE_LIMITS: Required<PickleLimits> = {
  maxOpcodes: 50_000_000,
  maxStackDepth: 100_000,
  maxMemoEntries: 1_000_000,
  maxPicklesPerStream: 1_000,
  maxDeclaredLength: Number.MAX_SAFE_INTEGER,
  maxValueItems: 256,
  maxImports: 1_000_000,
  maxCallUses: 1_000_000,
  maxEffects: 1_000_000,
};

export type { LimitName };

/**
 * Symbolic values the machine tracks (enough to resolve imports exactly and to let
 * format readers such as joblib read an object's state). Collections keep at most
 * `maxValueItems` items; `omitted` counts the rest.
 */
export type Value =
  | { k: 'none' }
  | { k: 'bool'; v: boolean }
  | { k: 'int'; v: number | bigint }
  | { k: 'float'; v: number }
  | { k: 'str'; v: string }
  /** Bytes payloads are never copied: offset and length in the stream. */
  | { k: 'bytes'; offset: number; length: number; mutable: boolean }
  | { k: 'tuple' | 'list' | 'set' | 'frozenset'; items: Value[]; omitted: number }
  | { k: 'dict'; entries: Array<[Value, Value]>; omitted: number }
  | { k: 'global'; imp: number }
  /** Result of a call. `state` is the last BUILD argument applied to it. */
  | { k: 'call'; id: number; fn: Value; args: Value; kwargs?: Value; via: CallOpcode; offset: number; state?: Value }
  /**
   * What a persistent id loads as when the loader's `persistent_load` gives nothing the
   * scanner can name. `loaded` says what the format reader knows it is (`'storage'`: a
   * torch storage, an opaque object); absent: unknown. Calling it is an `indirect-call`.
   */
  | { k: 'persid'; pid: Value; offset: number; loaded?: 'storage' }
  | { k: 'buffer'; offset: number }
  | { k: 'unknown'; why: string };

/** Side effects in execution order, recorded only with `recordEffects` (for the decompiler). */
export type Effect =
  | { k: 'call'; value: Extract<Value, { k: 'call' }> }
  | { k: 'build'; target: Value; state: Value; offset: number }
  | { k: 'setitem'; target: Value; key: Value; value: Value; offset: number }
  | { k: 'append'; target: Value; value: Value; offset: number }
  /** The format's `persistentLoad` hook resolved `pid` to `value` (an opaque id records no effect). */
  | { k: 'persistent-load'; pid: Value; value: Value; offset: number }
  | { k: 'result'; pickleIndex: number; value: Value };

/**
 * Called after each BUILD, so a format reader can consume bytes the real loader reads
 * out of band (joblib reads array data inline right after a NumpyArrayWrapper is built).
 * Return undefined to continue normally.
 */
export type AfterBuildHook = (
  ctx: {
    target: Value;
    state: Value;
    imports: readonly ImportRecord[];
    source: ByteSource;
    /** Offset of the next opcode. */
    offset: number;
    /**
     * End offset of the FRAME the BUILD sits in, when that frame has bytes left after it.
     * joblib reads array bytes from the file, not from the frame the Python unpickler has
     * already buffered, so a reader must refuse a wrapper built mid-frame. Absent: not in a frame.
     */
    frameEnd?: number;
  },
) =>
  | undefined
  /** Continue at `resume` (bytes in between were skipped as data). */
  | { resume: number }
  /** A whole nested pickle starts at `at` (fresh memo, as `pickle.load(file)` does); scan it, then continue after it. */
  | { nestedPickleAt: number }
  /** The reader cannot tell: a violation with this message. */
  | { error: string };

/**
 * The loader's `persistent_load`, as the format reader knows it: given a persistent id,
 * the value the loader puts on the stack (`('module', <class>, ...)` in torch's legacy
 * format is that class). Return undefined when the reader cannot tell: the machine then
 * pushes an opaque `persid` value, and calling it stays an `indirect-call` (fail closed).
 * A returned value must come from the id itself (a global the pickle imported ...).
 */
export type PersistentLoadHook = (ctx: {
  pid: Value;
  imports: readonly ImportRecord[];
  /** Which pickle of the stream (0-based): torch legacy sets persistent_load on one pickle only. */
  pickleIndex: number;
  /** Offset of the PERSID/BINPERSID opcode. */
  offset: number;
}) => Value | undefined;

export interface MachineOptions {
  limits?: Partial<PickleLimits>;
  /** Start offset in the source (default 0). */
  start?: number;
  /** Stop after this many pickles instead of reading until the bytes end (torch legacy reads exactly five). */
  pickleCount?: number;
  afterBuild?: AfterBuildHook;
  /** What the loader's persistent_load returns; absent: every persistent id is an opaque value. */
  persistentLoad?: PersistentLoadHook;
  recordEffects?: boolean;
}
