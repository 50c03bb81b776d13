/**
 * Calls (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST): a call of an imported global is a use
 * of that import; a call of anything else is an `indirect-call`. One call is read more
 * closely: `builtins.getattr(<global>, 'NAME')`, reported as the derived import.
 */
import type { CallOpcode, Value } from '../types.js';
import { describeShape, hasDunder } from '../values.js';
import { collection } from './collections.js';
import type { Machine } from './context.js';
import { malformed } from './errors.js';
import { flag } from './findings.js';
import { nameLines, pureOnly } from './lenient.js';
import { addImport, recordImport } from './imports.js';
import { marker, pop, underflow } from './state.js';
import { noteCall, noteValue, recordEffect } from './uses.js';

type CallValue = Extract<Value, { k: 'call' }>;

function callValue(m: Machine, fn: Value, args: Value, kwargs: Value | undefined, via: CallOpcode): CallValue {
  const v: CallValue = { k: 'call', id: m.callIds++, fn, args, via, offset: m.opStart };
  if (kwargs) v.kwargs = kwargs;
  return v;
}

/** The call's result, a symbolic value; the call itself is a use or a finding. */
function call(m: Machine, fn: Value, args: Value, kwargs: Value | undefined, via: CallOpcode): Value {
  if (fn.k === 'global') {
    noteCall(m, m.imports[fn.imp]!, via);
  } else {
    flag(m, 'indirect-call', `${via} calls a ${describeShape(fn, m.imports)} value, not an imported global: the callable is decided at load time`);
  }
  const v = callValue(m, fn, args, kwargs, via);
  if (m.effects) recordEffect(m, { k: 'call', value: v });
  return v;
}

/** REDUCE: callable and argument tuple from the stack. */
export function reduce(m: Machine): Value {
  const args = pop(m.s);
  const fn = pop(m.s);
  const derived = constrainedGetattr(m, fn, args);
  if (derived) return derived;
  noteValue(m, args);
  return call(m, fn, args, undefined, 'REDUCE');
}

/**
 * `builtins.getattr(<global>, '<name>')`: the result is reported as the derived
 * import `<global>.<name>`, so the policy can check it like any import.
 */
function constrainedGetattr(m: Machine, fn: Value, args: Value): Value | undefined {
  if (fn.k !== 'global') return undefined;
  const getattr = m.imports[fn.imp]!;
  if (getattr.module !== 'builtins' || getattr.name !== 'getattr') return undefined;
  if (args.k !== 'tuple' || args.items.length !== 2 || args.omitted !== 0) return undefined;
  const [target, attr] = args.items as [Value, Value];
  if (target.k !== 'global' || attr.k !== 'str') return undefined;
  if (attr.v.length === 0 || attr.v.includes('.') || hasDunder(attr.v)) return undefined;
  const base = m.imports[target.imp]!;
  const name = `${base.name}.${attr.v}`;
  const derived = recordImport(m, {
    module: base.module,
    name,
    written: { module: base.module, name },
    origin: 'getattr',
    opcode: 'REDUCE',
    dunder: base.dunder,
  });
  noteValue(m, target);
  getattr.uses.push({ kind: 'constrained-getattr', offset: m.opStart, derived: derived.imp });
  if (m.effects) recordEffect(m, { k: 'call', value: callValue(m, fn, args, undefined, 'REDUCE') });
  return derived;
}

/** NEWOBJ: `cls.__new__(cls, *args)`. */
export function newobj(m: Machine): Value {
  const args = pop(m.s);
  const cls = pop(m.s);
  noteValue(m, args);
  return call(m, cls, args, undefined, 'NEWOBJ');
}

/** NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`. */
export function newobjEx(m: Machine): Value {
  const kwargs = pop(m.s);
  const args = pop(m.s);
  const cls = pop(m.s);
  noteValue(m, args);
  noteValue(m, kwargs);
  return call(m, cls, args, kwargs, 'NEWOBJ_EX');
}

/** OBJ: the class and its arguments above the top mark. */
export function obj(m: Machine): Value {
  const s = m.s;
  const mark = marker(s);
  if (s.stack.length - mark < 1) throw underflow(s);
  const items = s.stack.splice(mark);
  const cls = items.shift()!;
  return call(m, cls, collection(m, 'tuple', items), undefined, 'OBJ');
}

/**
 * INST with no MARK open: the C unpickler raises before reading the names, the
 * pure-Python one reads them and calls find_class (importing the module) before its
 * pop_mark raises. The import is listed, then the pickle stops.
 */
function instWithoutMark(m: Machine): never {
  const [module, name] = nameLines(m, true, 'INST', 'INST');
  pureOnly(m, `INST without a MARK: the C unpickler raises before reading the names, the pure-Python unpickler (which joblib.load uses for every file) imports ${module}.${name} first; read on as the pure-Python unpickler reads`);
  addImport(m, module, name, 'INST');
  throw malformed('could not find MARK');
}

/** INST: an import (ASCII name lines) called with the items above the top mark. */
export function inst(m: Machine): Value {
  const s = m.s;
  s.importRan = true;
  if (s.marks.length === 0) instWithoutMark(m);
  const mark = marker(s);
  const [module, name] = nameLines(m, true, 'INST', 'INST');
  const cls = addImport(m, module, name, 'INST');
  const items = s.stack.splice(mark);
  return call(m, cls, collection(m, 'tuple', items), undefined, 'INST');
}
