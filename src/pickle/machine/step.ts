/**
 * One opcode other than STOP, as the C Unpickler's `load()` dispatches it. One switch in
 * one function, for speed: each case reads its argument and hands the work to the file
 * whose job it is (args, state, imports, calls, collections, mutations, frames ...).
 */
import { HIGHEST_PROTOCOL, OP as IMPORTED_OP } from '../opcodes.js';
import { FALSE, NONE, SMALL_INTS, TRUE, intValue } from '../values.js';
import { NO_NESTED_PICKLE, afterBuild } from './after-build.js';
import {
  binLong,
  byteString,
  bytesPayload,
  persidLine,
  quotedString,
  signedCount,
  textInt,
  textLong,
  unicodeCounted,
  unicodeLine,
} from './args.js';
import { inst, newobj, newobjEx, obj, reduce } from './calls.js';
import { collection, dictFromMark } from './collections.js';
import type { Machine } from './context.js';
import { malformed } from './errors.js';
import { frame } from './frames.js';
import { floatArg, getText, putText } from './lenient.js';
import { extension, globalOp, stackGlobal } from './imports.js';
import { appends, build, setitems } from './mutations.js';
import { persistentId } from './persistent.js';
import { marker, memoGet, memoPut, pop, popItemOrMark, popMark, popN, pushMark, top } from './state.js';

/** A module-local copy: reading an imported binding may go through a getter per access. */
const OP = { ...IMPORTED_OP } as const;

/**
 * Runs opcode `op` (its byte already read). Returns where a nested pickle starts when
 * the format's afterBuild hook asked for one (the run loop runs it), else NO_NESTED_PICKLE.
 */
export function step(m: Machine, op: number): number {
  const r = m.r;
  const s = m.s;
  const stack = s.stack;
  switch (op) {
    // Constants.
    case OP.BININT1:
      stack.push(SMALL_INTS[r.u8()]!);
      break;
    case OP.BININT:
      stack.push(intValue(r.i32()));
      break;
    case OP.BININT2:
      stack.push(intValue(r.u16()));
      break;
    case OP.NONE:
      stack.push(NONE);
      break;
    case OP.NEWTRUE:
      stack.push(TRUE);
      break;
    case OP.NEWFALSE:
      stack.push(FALSE);
      break;
    case OP.BINFLOAT:
      stack.push({ k: 'float', v: r.f64be() });
      break;
    case OP.FLOAT:
      stack.push(floatArg(m));
      break;
    case OP.INT:
      stack.push(textInt(r));
      break;
    case OP.LONG:
      stack.push(textLong(r));
      break;
    case OP.LONG1:
      stack.push(binLong(r, r.u8()));
      break;
    case OP.LONG4:
      stack.push(binLong(r, signedCount(r, 'LONG')));
      break;

    // Strings and bytes.
    case OP.SHORT_BINUNICODE:
      stack.push(unicodeCounted(r, r.u8()));
      break;
    case OP.BINUNICODE:
      stack.push(unicodeCounted(r, r.u32()));
      break;
    case OP.BINUNICODE8:
      stack.push(unicodeCounted(r, r.u64()));
      break;
    case OP.UNICODE:
      stack.push(unicodeLine(r));
      break;
    case OP.SHORT_BINSTRING:
      stack.push(byteString(r, r.u8(), 'SHORT_BINSTRING'));
      break;
    case OP.BINSTRING:
      stack.push(byteString(r, signedCount(r, 'BINSTRING'), 'BINSTRING'));
      break;
    case OP.STRING:
      stack.push(quotedString(r));
      break;
    case OP.SHORT_BINBYTES:
      stack.push(bytesPayload(r, r.u8(), false));
      break;
    case OP.BINBYTES:
      stack.push(bytesPayload(r, r.u32(), false));
      break;
    case OP.BINBYTES8:
      stack.push(bytesPayload(r, r.u64(), false));
      break;
    case OP.BYTEARRAY8:
      stack.push(bytesPayload(r, r.u64(), true));
      break;

    // Memo.
    case OP.MEMOIZE:
      memoPut(s, s.memoCount, m.limits.maxMemoEntries);
      break;
    case OP.BINPUT:
      memoPut(s, r.u8(), m.limits.maxMemoEntries);
      break;
    case OP.LONG_BINPUT:
      memoPut(s, r.u32(), m.limits.maxMemoEntries);
      break;
    case OP.PUT:
      putText(m);
      break;
    case OP.BINGET:
      stack.push(memoGet(s, r.u8()));
      break;
    case OP.LONG_BINGET:
      stack.push(memoGet(s, r.u32()));
      break;
    case OP.GET:
      stack.push(getText(m));
      break;

    // Stack and marks.
    case OP.MARK:
      pushMark(s);
      break;
    case OP.POP:
      popItemOrMark(s);
      break;
    case OP.POP_MARK:
      popMark(s);
      break;
    case OP.DUP:
      stack.push(top(s));
      break;

    // Containers, new and mutated.
    case OP.EMPTY_LIST:
      stack.push({ k: 'list', items: [], omitted: 0 });
      break;
    case OP.EMPTY_DICT:
      stack.push({ k: 'dict', entries: [], omitted: 0 });
      break;
    case OP.EMPTY_TUPLE:
      stack.push({ k: 'tuple', items: [], omitted: 0 });
      break;
    case OP.EMPTY_SET:
      stack.push({ k: 'set', items: [], omitted: 0 });
      break;
    case OP.TUPLE1:
    case OP.TUPLE2:
    case OP.TUPLE3:
      stack.push(collection(m, 'tuple', popN(s, op - OP.TUPLE1 + 1)));
      break;
    case OP.TUPLE:
      stack.push(collection(m, 'tuple', popMark(s)));
      break;
    case OP.LIST:
      stack.push(collection(m, 'list', popMark(s)));
      break;
    case OP.FROZENSET:
      stack.push(collection(m, 'frozenset', popMark(s)));
      break;
    case OP.DICT:
      stack.push(dictFromMark(m));
      break;
    case OP.APPEND:
      appends(m, stack.length - 1);
      break;
    case OP.APPENDS:
      appends(m, marker(s));
      break;
    case OP.ADDITEMS:
      appends(m, marker(s), true);
      break;
    case OP.SETITEM:
      setitems(m, stack.length - 2);
      break;
    case OP.SETITEMS:
      setitems(m, marker(s));
      break;
    case OP.BUILD: {
      const state = pop(s);
      const target = top(s);
      build(m, target, state);
      const hook = m.options.afterBuild;
      if (hook) return afterBuild(m, hook, target, state);
      break;
    }

    // Imports and calls.
    case OP.GLOBAL:
      stack.push(globalOp(m));
      break;
    case OP.STACK_GLOBAL:
      stack.push(stackGlobal(m));
      break;
    case OP.INST:
      stack.push(inst(m));
      break;
    case OP.OBJ:
      stack.push(obj(m));
      break;
    case OP.REDUCE:
      stack.push(reduce(m));
      break;
    case OP.NEWOBJ:
      stack.push(newobj(m));
      break;
    case OP.NEWOBJ_EX:
      stack.push(newobjEx(m));
      break;
    case OP.EXT1:
    case OP.EXT2:
    case OP.EXT4:
      stack.push(extension(m, op));
      break;
    case OP.PERSID:
      stack.push(persistentId(m, persidLine(r), 'PERSID'));
      break;
    case OP.BINPERSID:
      stack.push(persistentId(m, pop(s), 'BINPERSID'));
      break;

    // Protocol and framing.
    case OP.PROTO: {
      const proto = r.u8();
      if (proto > HIGHEST_PROTOCOL) throw malformed(`unsupported pickle protocol: ${proto}`);
      s.proto = proto;
      if (proto > s.info.protocol) s.info.protocol = proto;
      break;
    }
    case OP.FRAME:
      frame(m);
      break;

    // Out-of-band buffers.
    case OP.NEXT_BUFFER:
      throw malformed('NEXT_BUFFER: the pickle refers to out-of-band buffers, which model loaders never pass');
    case OP.READONLY_BUFFER:
      top(s);
      break;
    default:
      throw malformed(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
  }
  return NO_NESTED_PICKLE;
}
