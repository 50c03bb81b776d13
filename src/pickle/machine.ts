/**
 * The symbolic pickle machine: runs a pickle program the way CPython's C Unpickler
 * (`_pickle.c`) does, but with symbolic values, so every `find_class` call CPython would
 * make is seen and nothing is ever imported or called.
 *
 * Errors follow the C Unpickler: where it raises, we stop with `malformed` (the imports
 * seen before stay in the report, since CPython already ran them). Where we cannot know
 * a runtime value (a call's result), we over-approximate: keep going and flag.
 */
import type { Finding, FindingCode, LimitName } from '../findings.js';
import type { ByteSource } from '../io/byte-source.js';
import { IMPORT_MAPPING, NAME_MAPPING } from './compat-mapping.js';
import { HIGHEST_PROTOCOL, OP as IMPORTED_OP, opcodeName } from './opcodes.js';
import { PickleReadError, Reader } from './reader.js';
import {
  decodeAscii,
  decodeRawUnicodeEscape,
  decodeUtf8,
  escapeDecode,
  latin1,
  parseStrtol,
  parseTextFloat,
  parseTextInt,
} from './text.js';
import {
  DEFAULT_PICKLE_LIMITS,
  type AfterBuildHook,
  type CallOpcode,
  type Effect,
  type ImportOpcode,
  type ImportRecord,
  type MachineOptions,
  type PersistentIdRecord,
  type PickleInfo,
  type PickleLimits,
  type PickleStreamAnalysis,
  type Value,
} from './types.js';
import { FALSE, NONE, SMALL_INTS, TRUE, describeShape, hasDunder, intValue, seqValue, unknown } from './values.js';
import { validateUtf8Range } from './utf8-range.js';

/** Strings longer than this are validated but not kept (a value of kind `unknown`). */
export const MAX_KEPT_STRING = 1 << 20;
/** Call uses recorded per import (later calls are not listed: the first already says "called"). */
export const MAX_CALL_USES = 1000;
/** Findings of one code kept per stream. */
export const MAX_FINDINGS_PER_CODE = 100;
/**
 * Items kept over all symbolic containers of a stream. Past it, items are only counted
 * (`omitted`): a pickle of many full lists cannot make us hold more than this.
 */
export const MAX_KEPT_ITEMS = 16_000_000;
/** Nested pickles (afterBuild `nestedPickleAt`) inside nested pickles. */
export const MAX_NESTED_PICKLES = 32;

type CallValue = Extract<Value, { k: 'call' }>;

/** A module-local copy: reading an imported binding may go through a getter per access. */
const OP = { ...IMPORTED_OP } as const;

/** Memo keys below this live in an array (the dense keys pickles use); others in a Map. */
const MEMO_ARRAY_KEYS = 1 << 20;

/** Per-pickle state: a fresh one for each pickle of the stream, as `pickle.load` makes. */
interface PickleState {
  stack: Value[];
  marks: number[];
  fence: number;
  /** Memo: dense keys in an array, others in a Map; `memoCount` counts distinct keys. */
  memoArr: Array<Value | undefined>;
  memoMap: Map<number, Value>;
  memoCount: number;
  proto: number;
  importRan: boolean;
  info: PickleInfo;
}

function freshState(index: number, start: number): PickleState {
  return {
    stack: [],
    marks: [],
    fence: 0,
    memoArr: [],
    memoMap: new Map(),
    memoCount: 0,
    proto: 0,
    importRan: false,
    info: { index, start, end: start, protocol: 0, opcodes: 0, complete: false },
  };
}

function malformed(message: string): PickleReadError {
  return new PickleReadError('malformed', message);
}

function limitHit(limit: LimitName, message: string): PickleReadError {
  return new PickleReadError('limit', message, limit);
}

export class PickleMachine {
  readonly imports: ImportRecord[] = [];
  readonly findings: Finding[] = [];
  readonly pickles: PickleInfo[] = [];
  readonly persistentIds: PersistentIdRecord[] = [];
  readonly effects: Effect[] | undefined;

  private readonly r: Reader;
  private readonly limits: PickleLimits;
  private readonly afterBuild: AfterBuildHook | undefined;
  private readonly findingCounts = new Map<FindingCode, number>();
  private readonly valueUseNoted = new Set<number>();
  /** Calls seen per import index (uses keep the first MAX_CALL_USES). */
  private readonly callCounts: number[] = [];
  private totalOpcodes = 0;
  private keptItems = 0;
  private nestedDepth = 0;
  private callIds = 0;
  /** Offset of the opcode being run. */
  private opStart = 0;
  private op = 0;
  private s: PickleState;

  constructor(
    private readonly source: ByteSource,
    private readonly options: MachineOptions,
  ) {
    this.limits = { ...DEFAULT_PICKLE_LIMITS, ...options.limits };
    this.r = new Reader(source, options.start ?? 0, this.limits.maxDeclaredLength);
    this.afterBuild = options.afterBuild;
    this.effects = options.recordEffects ? [] : undefined;
    this.s = freshState(0, this.r.pos);
  }

  /** Runs the whole stream (or `pickleCount` pickles); never throws. */
  run(): PickleStreamAnalysis {
    const start = this.r.pos;
    const count = this.options.pickleCount;
    let end = start;
    for (;;) {
      if (count !== undefined ? this.pickles.length >= count : this.r.pos >= this.r.size) break;
      if (this.pickles.length >= this.limits.maxPicklesPerStream) {
        this.addFinding({
          code: 'limit',
          limit: 'maxPicklesPerStream',
          offset: this.r.pos,
          message: `more than ${this.limits.maxPicklesPerStream} pickles in one stream (maxPicklesPerStream); the rest was not scanned`,
        });
        break;
      }
      const ok = this.runOne(this.r.pos);
      end = ok ? this.r.pos : this.s.info.end;
      if (!ok) break;
    }
    if (this.pickles.length === 0 && this.findings.length === 0) {
      this.addFinding({ code: 'not-a-pickle', offset: start, message: 'no bytes to unpickle' });
    }
    const analysis: PickleStreamAnalysis = {
      imports: this.imports,
      findings: this.findings,
      pickles: this.pickles,
      persistentIds: this.persistentIds,
      end,
    };
    if (this.effects) analysis.effects = this.effects;
    return analysis;
  }

  /** Runs one pickle starting at `at` with a fresh memo; false when it failed (finding recorded). */
  private runOne(at: number): boolean {
    this.r.pos = at;
    this.r.frameEnd = -1;
    this.r.crossed = -1;
    this.s = freshState(this.pickles.length, at);
    this.pickles.push(this.s.info);
    try {
      this.loop();
      return true;
    } catch (err) {
      this.s.info.end = this.opStart;
      // The failing opcode crossed a frame end: the C Unpickler read it differently.
      if (this.r.crossed >= 0) this.frameCrossed();
      if (err instanceof AlreadyReported) return false;
      // op is -1 when the bytes ended where an opcode should start.
      const opcode = this.op >= 0 ? opcodeName(this.op) : undefined;
      const where = `at offset ${this.opStart}${opcode ? ` (${opcode})` : ''}`;
      const f: Finding = { code: 'malformed', offset: this.opStart, message: '' };
      if (opcode) f.opcode = opcode;
      if (!(err instanceof PickleReadError)) {
        f.message = `internal error while scanning ${where}: ${err instanceof Error ? err.message : String(err)}`;
      } else if (err.kind === 'limit') {
        f.code = 'limit';
        if (err.limit) f.limit = err.limit;
        f.message = `${err.message} ${where}`;
      } else if (!this.s.importRan) {
        f.code = 'not-a-pickle';
        f.message = `not a pickle: ${err.message} ${where}, before any import could run`;
      } else {
        f.message = `${err.message} ${where}`;
      }
      this.addFinding(f);
      return false;
    }
  }

  // ---------------------------------------------------------------- findings & uses

  private addFinding(f: Finding): void {
    const n = (this.findingCounts.get(f.code) ?? 0) + 1;
    this.findingCounts.set(f.code, n);
    if (n > MAX_FINDINGS_PER_CODE) return;
    if (n === MAX_FINDINGS_PER_CODE) f.message += ` (further ${f.code} findings in this stream are not listed)`;
    this.findings.push(f);
  }

  private flag(code: FindingCode, message: string, imp?: ImportRecord): void {
    const f: Finding = { code, message, offset: this.opStart, opcode: opcodeName(this.op) };
    if (imp) {
      f.module = imp.module;
      f.name = imp.name;
    }
    this.addFinding(f);
  }

  /** A global passed on as data (argument, item, state, result). */
  private noteValue(v: Value): void {
    if (v.k === 'global' && !this.valueUseNoted.has(v.imp)) {
      this.valueUseNoted.add(v.imp);
      this.imports[v.imp]!.uses.push({ kind: 'value' });
    }
  }

  private noteValues(items: readonly Value[]): void {
    for (let i = 0; i < items.length; i++) if (items[i]!.k === 'global') this.noteValue(items[i]!);
  }

  private noteCall(imp: ImportRecord, via: CallOpcode): void {
    const calls = this.callCounts[imp.index] ?? 0;
    this.callCounts[imp.index] = calls + 1;
    if (calls < MAX_CALL_USES) imp.uses.push({ kind: 'call', via, offset: this.opStart });
  }

  // ---------------------------------------------------------------- imports

  /** Records a find_class(module, name) call as CPython makes it (names as written). */
  private addImport(module: string, name: string, opcode: ImportOpcode): Value {
    let m = module;
    let n = name;
    if (this.s.proto < 3) {
      const mapped = NAME_MAPPING.get(`${module}\n${name}`);
      if (mapped) [m, n] = mapped;
      else m = IMPORT_MAPPING.get(module) ?? module;
    }
    const record: ImportRecord = {
      index: this.imports.length,
      module: m,
      name: n,
      written: { module, name },
      origin: 'import',
      opcode,
      offset: this.opStart,
      pickleIndex: this.s.info.index,
      traversal: n.includes('.'),
      dunder: hasDunder(m) || hasDunder(n),
      uses: [],
    };
    this.imports.push(record);
    return { k: 'global', imp: record.index };
  }

  // ---------------------------------------------------------------- stack

  private push(v: Value): void {
    this.s.stack.push(v);
  }

  private underflow(): PickleReadError {
    return malformed(this.s.marks.length ? 'unexpected MARK found' : 'unpickling stack underflow');
  }

  private pop(): Value {
    const s = this.s;
    if (s.stack.length <= s.fence) throw this.underflow();
    return s.stack.pop()!;
  }

  private top(): Value {
    const s = this.s;
    if (s.stack.length <= s.fence) throw this.underflow();
    return s.stack[s.stack.length - 1]!;
  }

  /** Pops the top mark (C `marker()`), returning the stack length it marked. */
  private marker(): number {
    const s = this.s;
    const mark = s.marks.pop();
    if (mark === undefined) throw malformed('could not find MARK');
    s.fence = s.marks.length ? s.marks[s.marks.length - 1]! : 0;
    return mark;
  }

  /** Items above the top mark, popped (C `Pdata_poplist`). */
  private popMark(): Value[] {
    const mark = this.marker();
    return this.s.stack.splice(mark);
  }

  /** The last `n` items (TUPLE1-3), respecting the fence. */
  private popN(n: number): Value[] {
    const s = this.s;
    const start = s.stack.length - n;
    if (start < s.fence) throw this.underflow();
    return s.stack.splice(start);
  }

  // ---------------------------------------------------------------- the loop

  private loop(): void {
    const r = this.r;
    const s = this.s;
    const limits = this.limits;
    for (;;) {
      if (s.stack.length > limits.maxStackDepth || s.marks.length > limits.maxStackDepth) {
        throw limitHit('maxStackDepth', `stack deeper than ${limits.maxStackDepth} (maxStackDepth)`);
      }
      const start = r.pos;
      this.opStart = start;
      this.op = -1;
      if (start >= r.size) throw malformed('pickle data was truncated (no STOP)');
      const op = r.u8();
      this.op = op;
      if (++this.totalOpcodes > limits.maxOpcodes) {
        throw limitHit('maxOpcodes', `more than ${limits.maxOpcodes} opcodes (maxOpcodes)`);
      }
      s.info.opcodes++;
      if (op === OP.STOP) {
        this.stop();
        return;
      }
      this.step(op);
      if (r.crossed >= 0) this.frameCrossed();
    }
  }

  /** Reports the frame end the current opcode's reads crossed (`Reader.crossed`). */
  private frameCrossed(): void {
    const end = this.r.crossed;
    this.r.crossed = -1;
    this.flag(
      'frame-violation',
      `${opcodeName(this.op)} at offset ${this.opStart} crosses the end of its frame at offset ${end}: read as the C unpickler reads a file (the frame's unread rest dropped); pickle.loads reads on linearly and the pure-Python unpickler fails`,
    );
  }

  private stop(): void {
    const s = this.s;
    const result = this.pop();
    this.noteValue(result);
    s.info.complete = true;
    s.info.end = this.r.pos;
    const frameEnd = this.r.frameEnd;
    if (frameEnd > this.r.pos) {
      this.flag('frame-violation', `STOP at offset ${this.opStart} inside a frame that ends at offset ${frameEnd}: pickle.loads stops here, pickle.load(file) has read the whole frame`);
      // Reading from a file (what loaders do) both unpicklers have consumed the whole frame,
      // so the next pickle of the stream starts after it.
      this.r.pos = frameEnd;
    }
    this.r.frameEnd = -1;
    this.effects?.push({ k: 'result', pickleIndex: s.info.index, value: result });
  }

  /** Runs one opcode other than STOP. */
  private step(op: number): void {
    const r = this.r;
    const s = this.s;
    switch (op) {
      case OP.BININT1:
        this.push(SMALL_INTS[r.u8()]!);
        return;
      case OP.SHORT_BINUNICODE:
        this.push(this.unicodeCounted(r.u8()));
        return;
      case OP.MEMOIZE:
        this.memoPut(s.memoCount);
        return;
      case OP.BINPUT:
        this.memoPut(r.u8());
        return;
      case OP.BINGET:
        this.push(this.memoGet(r.u8()));
        return;
      case OP.LONG_BINGET:
        this.push(this.memoGet(r.u32()));
        return;
      case OP.LONG_BINPUT:
        this.memoPut(r.u32());
        return;
      case OP.MARK:
        s.marks.push(s.stack.length);
        s.fence = s.stack.length;
        return;
      case OP.APPENDS:
        this.appends(this.marker());
        return;
      case OP.APPEND:
        this.appends(s.stack.length - 1);
        return;
      case OP.SETITEMS:
        this.setitems(this.marker());
        return;
      case OP.SETITEM:
        this.setitems(s.stack.length - 2);
        return;
      case OP.ADDITEMS:
        this.appends(this.marker(), true);
        return;
      case OP.BININT:
        this.push(intValue(r.i32()));
        return;
      case OP.BININT2:
        this.push(intValue(r.u16()));
        return;
      case OP.NONE:
        this.push(NONE);
        return;
      case OP.NEWTRUE:
        this.push(TRUE);
        return;
      case OP.NEWFALSE:
        this.push(FALSE);
        return;
      case OP.BINFLOAT:
        this.push({ k: 'float', v: r.f64be() });
        return;
      case OP.FLOAT: {
        const text = this.lineText();
        const v = parseTextFloat(text);
        if (v === null) throw malformed(`could not convert string to float: ${JSON.stringify(text.slice(0, 40))}`);
        this.push({ k: 'float', v });
        return;
      }
      case OP.INT:
        this.push(this.textInt());
        return;
      case OP.LONG: {
        let text = this.lineText();
        if (text.endsWith('L')) text = text.slice(0, -1);
        const v = parseTextInt(text, true);
        if (v === null) throw malformed(`invalid literal for int(): ${JSON.stringify(text.slice(0, 40))}`);
        this.push(intValue(v));
        return;
      }
      case OP.LONG1:
        this.push(this.binLong(r.u8()));
        return;
      case OP.LONG4: {
        const n = r.i32();
        if (n < 0) throw malformed('LONG pickle has negative byte count');
        this.push(this.binLong(n));
        return;
      }
      case OP.SHORT_BINSTRING:
        this.push(this.byteString(r.u8(), 'SHORT_BINSTRING'));
        return;
      case OP.BINSTRING: {
        const n = r.i32();
        if (n < 0) throw malformed('BINSTRING pickle has negative byte count');
        this.push(this.byteString(n, 'BINSTRING'));
        return;
      }
      case OP.STRING:
        this.push(this.quotedString());
        return;
      case OP.BINUNICODE:
        this.push(this.unicodeCounted(r.u32()));
        return;
      case OP.BINUNICODE8:
        this.push(this.unicodeCounted(r.u64()));
        return;
      case OP.UNICODE: {
        const i = r.line();
        const v = decodeRawUnicodeEscape(r.buf, i, i + r.lineLength);
        if (v === null) throw malformed('invalid raw-unicode-escape data in UNICODE');
        this.push({ k: 'str', v });
        return;
      }
      case OP.SHORT_BINBYTES:
        this.push(this.bytesPayload(r.u8(), false));
        return;
      case OP.BINBYTES:
        this.push(this.bytesPayload(r.u32(), false));
        return;
      case OP.BINBYTES8:
        this.push(this.bytesPayload(r.u64(), false));
        return;
      case OP.BYTEARRAY8:
        this.push(this.bytesPayload(r.u64(), true));
        return;
      case OP.EMPTY_LIST:
        this.push({ k: 'list', items: [], omitted: 0 });
        return;
      case OP.EMPTY_DICT:
        this.push({ k: 'dict', entries: [], omitted: 0 });
        return;
      case OP.EMPTY_TUPLE:
        this.push({ k: 'tuple', items: [], omitted: 0 });
        return;
      case OP.EMPTY_SET:
        this.push({ k: 'set', items: [], omitted: 0 });
        return;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3:
        this.push(this.collection('tuple', this.popN(op - OP.TUPLE1 + 1)));
        return;
      case OP.TUPLE:
        this.push(this.collection('tuple', this.popMark()));
        return;
      case OP.LIST:
        this.push(this.collection('list', this.popMark()));
        return;
      case OP.FROZENSET:
        this.push(this.collection('frozenset', this.popMark()));
        return;
      case OP.DICT: {
        const items = this.popMark();
        if (items.length % 2 !== 0) throw malformed('odd number of items for DICT');
        const d: Value = { k: 'dict', entries: [], omitted: 0 };
        this.noteValues(items);
        for (let i = 0; i < items.length; i += 2) this.dictSet(d, items[i]!, items[i + 1]!);
        this.push(d);
        return;
      }
      case OP.POP: {
        const len = s.stack.length;
        if (s.marks.length > 0 && s.marks[s.marks.length - 1] === len) {
          this.marker();
        } else {
          this.pop(); // discarded: not a use
        }
        return;
      }
      case OP.POP_MARK:
        this.popMark();
        return;
      case OP.DUP:
        this.push(this.top());
        return;
      case OP.GET: {
        const v = parseTextInt(this.lineText(), false);
        if (v === null) throw malformed('invalid memo index in GET');
        this.push(this.memoGet(v > BigInt(Number.MAX_SAFE_INTEGER) || v < 0n ? -1 : Number(v)));
        return;
      }
      case OP.PUT: {
        const v = parseTextInt(this.lineText(), false);
        if (v === null) throw malformed('invalid memo index in PUT');
        if (v < 0n) throw malformed('negative PUT argument');
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('PUT index too large');
        this.memoPut(Number(v));
        return;
      }
      case OP.PROTO: {
        const proto = r.u8();
        if (proto > HIGHEST_PROTOCOL) throw malformed(`unsupported pickle protocol: ${proto}`);
        s.proto = proto;
        if (proto > s.info.protocol) s.info.protocol = proto;
        return;
      }
      case OP.FRAME:
        this.frame();
        return;
      case OP.GLOBAL: {
        s.importRan = true;
        const module = this.nameLine(false, 'GLOBAL module name');
        const name = this.nameLine(false, 'GLOBAL name');
        this.push(this.addImport(module, name, 'GLOBAL'));
        return;
      }
      case OP.STACK_GLOBAL:
        this.stackGlobal();
        return;
      case OP.INST:
        this.inst();
        return;
      case OP.OBJ: {
        const mark = this.marker();
        if (s.stack.length - mark < 1) throw this.underflow();
        const items = s.stack.splice(mark);
        const cls = items.shift()!;
        this.push(this.call(cls, this.collection('tuple', items), undefined, 'OBJ'));
        return;
      }
      case OP.REDUCE: {
        const args = this.pop();
        const fn = this.pop();
        this.push(this.reduce(fn, args));
        return;
      }
      case OP.NEWOBJ: {
        const args = this.pop();
        const cls = this.pop();
        this.noteValue(args);
        this.push(this.call(cls, args, undefined, 'NEWOBJ'));
        return;
      }
      case OP.NEWOBJ_EX: {
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        this.noteValue(args);
        this.noteValue(kwargs);
        this.push(this.call(cls, args, kwargs, 'NEWOBJ_EX'));
        return;
      }
      case OP.BUILD:
        this.build();
        return;
      case OP.PERSID: {
        const i = r.line();
        const id = decodeAscii(r.buf, i, i + r.lineLength);
        if (id === null) throw malformed('non-ASCII persistent id in PERSID');
        this.persistentId({ k: 'str', v: id }, 'PERSID');
        return;
      }
      case OP.BINPERSID:
        this.persistentId(this.pop(), 'BINPERSID');
        return;
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4: {
        s.importRan = true;
        const code = op === OP.EXT1 ? r.u8() : op === OP.EXT2 ? r.u16() : r.i32();
        this.flag('extension-registry', `${opcodeName(op)} imports the object registered under extension code ${code} (copyreg extension registry): what it resolves to depends on the loading process`);
        this.push(unknown(`extension code ${code}`));
        return;
      }
      case OP.NEXT_BUFFER:
        throw malformed('NEXT_BUFFER: the pickle refers to out-of-band buffers, which model loaders never pass');
      case OP.READONLY_BUFFER:
        this.top();
        return;
      default:
        throw malformed(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }

  // ---------------------------------------------------------------- argument decoding

  private lineText(): string {
    const r = this.r;
    const i = r.line();
    if (r.lineLength === 0) throw malformed('pickle data was truncated (empty line)');
    return latin1(r.buf, i, i + r.lineLength);
  }

  /** INT: `00`/`01` are booleans, else C strtol, else Python int(). */
  private textInt(): Value {
    const text = this.lineText();
    if (text === '00') return FALSE;
    if (text === '01') return TRUE;
    const nul = text.indexOf('\0');
    let v = parseStrtol(nul >= 0 ? text.slice(0, nul) : text);
    if (v === null) v = parseTextInt(nul >= 0 ? text.slice(0, nul) : text, true);
    if (v === null) throw malformed(`could not convert string to int: ${JSON.stringify(text.slice(0, 40))}`);
    if (text.length === 2 && (v === 0n || v === 1n)) return v === 1n ? TRUE : FALSE;
    return intValue(v);
  }

  /** A GLOBAL/INST name line: UTF-8 strict (GLOBAL) or ASCII (INST); empty is an error. */
  private nameLine(ascii: boolean, what: string): string {
    const r = this.r;
    const i = r.line();
    if (r.lineLength === 0) throw malformed(`pickle data was truncated (empty ${what})`);
    const text = ascii ? decodeAscii(r.buf, i, i + r.lineLength) : decodeUtf8(r.buf, i, i + r.lineLength, false);
    if (text === null) throw malformed(`invalid ${ascii ? 'ASCII' : 'UTF-8'} in ${what}`);
    return text;
  }

  /** LONG1/LONG4: little-endian two's complement; kept when small. */
  private binLong(n: number): Value {
    const r = this.r;
    r.checkLength(n, 'LONG');
    if (n === 0) return SMALL_INTS[0]!;
    if (n > 64) {
      r.skip(n);
      return unknown(`int of ${n} bytes`);
    }
    const i = r.ensure(n);
    const b = r.buf;
    let v = 0n;
    for (let j = n - 1; j >= 0; j--) v = (v << 8n) | BigInt(b[i + j]!);
    if (b[i + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    r.skip(n);
    return intValue(v);
  }

  private bytesPayload(n: number, mutable: boolean): Value {
    const r = this.r;
    r.checkLength(n, mutable ? 'BYTEARRAY8' : 'BINBYTES', true);
    const offset = r.pos;
    r.skip(n);
    return { k: 'bytes', offset, length: n, mutable };
  }

  /** BINUNICODE family: UTF-8 with surrogatepass, as the C Unpickler decodes it. */
  private unicodeCounted(n: number): Value {
    const r = this.r;
    r.checkLength(n, 'BINUNICODE');
    if (n > MAX_KEPT_STRING) {
      const bad = validateUtf8Range(r, n);
      if (bad >= 0) throw malformed(`invalid UTF-8 in a string at offset ${bad}`);
      return unknown(`str of ${n} bytes (not kept)`);
    }
    const i = r.ensure(n);
    const v = decodeUtf8(r.buf, i, i + n, true);
    r.skip(n);
    if (v === null) throw malformed('invalid UTF-8 in a BINUNICODE string');
    return { k: 'str', v };
  }

  /**
   * Python 2 `str` (SHORT_BINSTRING/BINSTRING/STRING) becomes `str` by the loader's
   * `encoding`: ASCII by default, UTF-8 in torch.load, Latin-1 in some NumPy paths. We
   * decode UTF-8, else Latin-1, so a name is seen under whichever encoding accepts it.
   */
  private byteString(n: number, what: string): Value {
    const r = this.r;
    r.checkLength(n, what);
    if (n > MAX_KEPT_STRING) {
      r.skip(n);
      return unknown(`str of ${n} bytes (not kept)`);
    }
    const i = r.ensure(n);
    const v = decodeUtf8(r.buf, i, i + n, false) ?? latin1(r.buf, i, i + n);
    r.skip(n);
    return { k: 'str', v };
  }

  private quotedString(): Value {
    const r = this.r;
    const i = r.line();
    const len = r.lineLength;
    const b = r.buf;
    const q = b[i];
    if (len < 2 || (q !== 0x27 && q !== 0x22) || b[i + len - 1] !== q) {
      throw malformed('the STRING opcode argument must be quoted');
    }
    const bytes = escapeDecode(b, i + 1, i + len - 1);
    if (bytes === null) throw malformed('invalid \\x escape in STRING');
    if (bytes.length > MAX_KEPT_STRING) return unknown(`str of ${bytes.length} bytes (not kept)`);
    return { k: 'str', v: decodeUtf8(bytes, 0, bytes.length, false) ?? latin1(bytes, 0, bytes.length) };
  }

  // ---------------------------------------------------------------- memo

  private memoPut(index: number): void {
    const s = this.s;
    const v = this.top();
    if (index < MEMO_ARRAY_KEYS) {
      if (s.memoArr[index] === undefined) s.memoCount++;
      s.memoArr[index] = v;
    } else {
      if (!s.memoMap.has(index)) s.memoCount++;
      s.memoMap.set(index, v);
    }
    if (s.memoCount > this.limits.maxMemoEntries) {
      throw limitHit('maxMemoEntries', `more than ${this.limits.maxMemoEntries} memo entries (maxMemoEntries)`);
    }
  }

  private memoGet(index: number): Value {
    const s = this.s;
    const v = index >= 0 && index < MEMO_ARRAY_KEYS ? s.memoArr[index] : s.memoMap.get(index);
    if (v === undefined) throw malformed(`Memo value not found at index ${index}`);
    return v;
  }

  // ---------------------------------------------------------------- frames

  private frame(): void {
    const r = this.r;
    const n = r.u64();
    if (n === Infinity) throw malformed("FRAME length exceeds system's maximum");
    const open = r.frameEnd;
    if (open > r.pos) {
      // C: a frame that fits in the current one is read from its buffer, which still ends
      // where the current frame does; one that does not fit drops the current frame's rest.
      this.flag('frame-violation', `FRAME at offset ${this.opStart} starts before the current frame ends at offset ${open} (the C and Python unpicklers read this differently)`);
      if (r.pos + n <= open) return;
      r.pos = open;
      r.frameEnd = -1;
    }
    r.checkLength(n, 'FRAME');
    r.openFrame(r.pos + n);
  }

  // ---------------------------------------------------------------- imports by opcode

  private stackGlobal(): void {
    this.s.importRan = true;
    const name = this.pop();
    const module = this.pop();
    if (module.k === 'str' && name.k === 'str') {
      this.push(this.addImport(module.v, name.v, 'STACK_GLOBAL'));
      return;
    }
    this.noteValue(module);
    this.noteValue(name);
    this.flag(
      'dynamic-global',
      `STACK_GLOBAL operands are not constant strings (module: ${describeShape(module, this.imports)}, name: ${describeShape(name, this.imports)}): what it imports is decided at load time`,
    );
    // A constant that is not a str makes CPython raise ("STACK_GLOBAL requires str"): stop
    // there as it does. Globals, call results and the like may be a str at load time.
    if (isCertainNonStr(module) || isCertainNonStr(name)) throw new AlreadyReported();
    this.push(unknown('dynamic global'));
  }

  private inst(): void {
    const s = this.s;
    s.importRan = true;
    const mark = this.marker();
    const module = this.nameLine(true, 'INST module name');
    const name = this.nameLine(true, 'INST class name');
    const cls = this.addImport(module, name, 'INST');
    const items = s.stack.splice(mark);
    this.push(this.call(cls, this.collection('tuple', items), undefined, 'INST'));
  }

  // ---------------------------------------------------------------- calls

  private reduce(fn: Value, args: Value): Value {
    const derived = this.constrainedGetattr(fn, args);
    if (derived) return derived;
    this.noteValue(args);
    return this.call(fn, args, undefined, 'REDUCE');
  }

  /**
   * `builtins.getattr(<global>, '<name>')`: the result is reported as the derived
   * import `<global>.<name>`, so the policy can check it like any import.
   */
  private constrainedGetattr(fn: Value, args: Value): Value | undefined {
    if (fn.k !== 'global') return undefined;
    const getattr = this.imports[fn.imp]!;
    if (getattr.module !== 'builtins' || getattr.name !== 'getattr') return undefined;
    if (args.k !== 'tuple' || args.items.length !== 2 || args.omitted !== 0) return undefined;
    const [target, attr] = args.items as [Value, Value];
    if (target.k !== 'global' || attr.k !== 'str') return undefined;
    if (attr.v.length === 0 || attr.v.includes('.') || hasDunder(attr.v)) return undefined;
    const base = this.imports[target.imp]!;
    const name = `${base.name}.${attr.v}`;
    const record: ImportRecord = {
      index: this.imports.length,
      module: base.module,
      name,
      written: { module: base.module, name },
      origin: 'getattr',
      opcode: 'REDUCE',
      offset: this.opStart,
      pickleIndex: this.s.info.index,
      traversal: true,
      dunder: base.dunder,
      uses: [],
    };
    this.imports.push(record);
    this.noteValue(target);
    getattr.uses.push({ kind: 'constrained-getattr', offset: this.opStart, derived: record.index });
    if (this.effects) this.effects.push({ k: 'call', value: this.callValue(fn, args, undefined, 'REDUCE') });
    return { k: 'global', imp: record.index };
  }

  private callValue(fn: Value, args: Value, kwargs: Value | undefined, via: CallOpcode): CallValue {
    const v: CallValue = { k: 'call', id: this.callIds++, fn, args, via, offset: this.opStart };
    if (kwargs) v.kwargs = kwargs;
    return v;
  }

  private call(fn: Value, args: Value, kwargs: Value | undefined, via: CallOpcode): Value {
    if (fn.k === 'global') {
      this.noteCall(this.imports[fn.imp]!, via);
    } else {
      this.flag(
        'indirect-call',
        `${via} calls a ${describeShape(fn, this.imports)} value, not an imported global: the callable is decided at load time`,
      );
    }
    const v = this.callValue(fn, args, kwargs, via);
    this.effects?.push({ k: 'call', value: v });
    return v;
  }

  // ---------------------------------------------------------------- mutation

  private mutatesGlobal(target: Value, what: string): void {
    if (target.k !== 'global') return;
    const imp = this.imports[target.imp]!;
    this.flag('mutates-global', `${what} on ${imp.module}.${imp.name} itself (a module, class or function, not an instance): it overwrites attributes of live code`, imp);
  }

  /** How many of `wanted` more items a container holding `held` may keep (and books them). */
  private room(held: number, wanted: number): number {
    const n = Math.max(0, Math.min(wanted, this.limits.maxValueItems - held, MAX_KEPT_ITEMS - this.keptItems));
    this.keptItems += n;
    return n;
  }

  private collection(k: 'tuple' | 'list' | 'frozenset', items: Value[]): Value {
    this.noteValues(items);
    return seqValue(k, items, this.room(0, items.length));
  }

  private dictSet(d: Extract<Value, { k: 'dict' }>, key: Value, value: Value): void {
    if (this.room(d.entries.length, 1) === 1) d.entries.push([key, value]);
    else d.omitted++;
  }

  /** APPEND(S)/ADDITEMS onto stack[x - 1] (C `do_append`/`load_additems`). */
  private appends(x: number, additems = false): void {
    const s = this.s;
    const len = s.stack.length;
    if (x > len || x <= s.fence) throw this.underflow();
    if (len === x) return;
    const target = s.stack[x - 1]!;
    const items = s.stack.splice(x);
    this.noteValues(items);
    this.mutatesGlobal(target, additems ? 'ADDITEMS' : items.length === 1 ? 'APPEND' : 'APPENDS');
    if (target.k === 'list' || target.k === 'set') {
      const keep = this.room(target.items.length, items.length);
      for (let i = 0; i < keep; i++) target.items.push(items[i]!);
      target.omitted += items.length - keep;
    }
    if (this.effects) for (const value of items) this.effects.push({ k: 'append', target, value, offset: this.opStart });
  }

  /** SETITEM(S) onto stack[x - 1] (C `do_setitems`). */
  private setitems(x: number): void {
    const s = this.s;
    const len = s.stack.length;
    if (x > len || x <= s.fence) throw this.underflow();
    if (len === x) return;
    if ((len - x) % 2 !== 0) throw malformed('odd number of items for SETITEMS');
    const target = s.stack[x - 1]!;
    const items = s.stack.splice(x);
    this.noteValues(items);
    this.mutatesGlobal(target, items.length === 2 ? 'SETITEM' : 'SETITEMS');
    for (let i = 0; i < items.length; i += 2) {
      if (target.k === 'dict') this.dictSet(target, items[i]!, items[i + 1]!);
      this.effects?.push({ k: 'setitem', target, key: items[i]!, value: items[i + 1]!, offset: this.opStart });
    }
  }

  private build(): void {
    const state = this.pop();
    const target = this.top();
    this.noteValue(state);
    this.mutatesGlobal(target, 'BUILD');
    if (target.k === 'call') target.state = state;
    this.effects?.push({ k: 'build', target, state, offset: this.opStart });
    if (this.afterBuild) this.runAfterBuild(target, state);
  }

  private runAfterBuild(target: Value, state: Value): void {
    const r = this.r;
    const s = this.s;
    // A frame that ends exactly here is used up: bytes the hook skips are outside it.
    if (r.frameEnd >= 0 && r.pos >= r.frameEnd) r.frameEnd = -1;
    let answer: ReturnType<AfterBuildHook>;
    try {
      const ctx: Parameters<AfterBuildHook>[0] = { target, state, imports: this.imports, source: this.source, offset: r.pos };
      if (r.frameEnd > r.pos) ctx.frameEnd = r.frameEnd;
      answer = this.afterBuild!(ctx);
    } catch (err) {
      throw malformed(`format reader failed after BUILD: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      r.invalidate();
    }
    if (answer === undefined) return;
    if ('error' in answer) throw malformed(answer.error);
    if ('resume' in answer) {
      if (!(answer.resume >= r.pos && answer.resume <= r.size)) {
        throw malformed(`format reader asked to resume at offset ${answer.resume}, outside [${r.pos}, ${r.size}]`);
      }
      r.pos = answer.resume;
      // The format read the skipped bytes from the file itself, past the frame's end.
      if (r.frameEnd >= 0 && r.pos > r.frameEnd) {
        r.crossed = r.frameEnd;
        r.frameEnd = -1;
      }
      return;
    }
    this.nestedPickle(answer.nestedPickleAt);
  }

  /** A whole pickle read by the format's own `pickle.load` call: fresh memo, then back here. */
  private nestedPickle(at: number): void {
    const r = this.r;
    if (!(at >= r.pos && at < r.size)) throw malformed(`nested pickle offset ${at} is outside [${r.pos}, ${r.size})`);
    if (this.nestedDepth >= MAX_NESTED_PICKLES) {
      throw limitHit('maxNestingDepth', `pickles nested more than ${MAX_NESTED_PICKLES} deep (maxNestingDepth)`);
    }
    if (this.pickles.length >= this.limits.maxPicklesPerStream) {
      throw limitHit('maxPicklesPerStream', `more than ${this.limits.maxPicklesPerStream} pickles in one stream (maxPicklesPerStream)`);
    }
    const outer = this.s;
    const outerFrameEnd = r.frameEnd;
    const outerStart = this.opStart;
    const outerOp = this.op;
    this.nestedDepth++;
    const ok = this.runOne(at);
    this.nestedDepth--;
    this.s = outer;
    this.opStart = outerStart;
    this.op = outerOp;
    // Back in the outer frame, unless the nested pickle ran past its end.
    r.frameEnd = -1;
    if (outerFrameEnd > r.pos) r.openFrame(outerFrameEnd);
    else if (outerFrameEnd >= 0 && r.pos > outerFrameEnd) r.crossed = outerFrameEnd;
    // The nested failure is already reported; stop the outer pickle without a second finding.
    if (!ok) throw new AlreadyReported();
  }

  // ---------------------------------------------------------------- persistent ids

  private persistentId(pid: Value, opcode: 'PERSID' | 'BINPERSID'): void {
    this.noteValue(pid);
    const shape = describeShape(pid, this.imports);
    this.persistentIds.push({ offset: this.opStart, opcode, pickleIndex: this.s.info.index, shape });
    if ((this.findingCounts.get('persistent-id') ?? 0) === 0) {
      this.flag('persistent-id', `${opcode} at offset ${this.opStart} asks the loader's persistent_load for ${shape} (torch storages use this)`);
    }
    const loaded = this.loadPersistent(pid);
    if (loaded) this.effects?.push({ k: 'persistent-load', pid, value: loaded, offset: this.opStart });
    this.push(loaded ?? { k: 'persid', pid, offset: this.opStart });
  }

  /** The format's persistent_load answer, checked: a reader bug is a violation, never a pass. */
  private loadPersistent(pid: Value): Value | undefined {
    const hook = this.options.persistentLoad;
    if (!hook) return undefined;
    let value: Value | undefined;
    try {
      value = hook({ pid, imports: this.imports, pickleIndex: this.s.info.index, offset: this.opStart });
    } catch (err) {
      throw malformed(`format reader failed in persistent_load: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (value?.k === 'global' && this.imports[value.imp] === undefined) {
      throw malformed(`format reader's persistent_load returned an unknown import #${value.imp}`);
    }
    return value;
  }
}

/** The pickle must stop here and the reason is already a finding (a nested pickle failed ...). */
class AlreadyReported extends PickleReadError {
  constructor() {
    super('malformed', 'already reported');
  }
}

/** Values whose runtime type we know is not `str` (constants and containers). */
function isCertainNonStr(v: Value): boolean {
  switch (v.k) {
    case 'none':
    case 'bool':
    case 'int':
    case 'float':
    case 'bytes':
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset':
    case 'dict':
      return true;
    default:
      return false;
  }
}

