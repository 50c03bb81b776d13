/**
 * Imports: every `find_class(module, name)` CPython would make (GLOBAL, STACK_GLOBAL,
 * INST's class), with the Python-2 compat mapping below protocol 3 and the
 * traversal/dunder flags the policy reads. EXT opcodes import by registry code: flagged.
 */
import { IMPORT_MAPPING, NAME_MAPPING } from '../compat-mapping.js';
import { OP, opcodeName } from '../opcodes.js';
import type { CallOpcode, ImportOpcode, ImportRecord, Value } from '../types.js';
import { describeShape, hasDunder, unknown } from '../values.js';
import type { Machine } from './context.js';
import { AlreadyReported, limitHit } from './errors.js';
import { flag } from './findings.js';
import { nameLines } from './lenient.js';
import { pop } from './state.js';
import { noteValue } from './uses.js';

/** What tells one import record from another (the rest is where and when). */
export interface ImportNames {
  module: string;
  name: string;
  written: { module: string; name: string };
  origin: ImportRecord['origin'];
  opcode: ImportOpcode | CallOpcode;
  dunder: boolean;
}

/** Appends an import record at the current opcode; returns the global value naming it. */
export function recordImport(m: Machine, names: ImportNames): Extract<Value, { k: 'global' }> {
  const max = m.limits.maxImports;
  if (m.imports.length >= max) throw limitHit('maxImports', `more than ${max} imports in one stream (maxImports)`);
  const record: ImportRecord = {
    index: m.imports.length,
    module: names.module,
    name: names.name,
    written: names.written,
    origin: names.origin,
    opcode: names.opcode,
    offset: m.opStart,
    pickleIndex: m.s.info.index,
    traversal: names.name.includes('.'),
    dunder: names.dunder,
    uses: [],
  };
  m.imports.push(record);
  return { k: 'global', imp: record.index };
}

/** Records a find_class(module, name) call as CPython makes it (names as written). */
export function addImport(m: Machine, module: string, name: string, opcode: ImportOpcode): Value {
  let mod = module;
  let n = name;
  if (m.s.proto < 3) {
    const mapped = NAME_MAPPING.get(`${module}\n${name}`);
    if (mapped) [mod, n] = mapped;
    else mod = IMPORT_MAPPING.get(module) ?? module;
  }
  return recordImport(m, {
    module: mod,
    name: n,
    written: { module, name },
    origin: 'import',
    opcode,
    dunder: hasDunder(mod) || hasDunder(n),
  });
}

/** GLOBAL: module and name lines, UTF-8 strict. */
export function globalOp(m: Machine): Value {
  m.s.importRan = true;
  const [module, name] = nameLines(m, false, 'GLOBAL', 'GLOBAL');
  return addImport(m, module, name, 'GLOBAL');
}

/** STACK_GLOBAL: constant str operands are an import; anything else is a dynamic global. */
export function stackGlobal(m: Machine): Value {
  const s = m.s;
  s.importRan = true;
  const name = pop(s);
  const module = pop(s);
  if (module.k === 'str' && name.k === 'str') return addImport(m, module.v, name.v, 'STACK_GLOBAL');
  noteValue(m, module);
  noteValue(m, name);
  flag(
    m,
    'dynamic-global',
    `STACK_GLOBAL operands are not constant strings (module: ${describeShape(module, m.imports)}, name: ${describeShape(name, m.imports)}): what it imports is decided at load time`,
  );
  // A constant that is not a str makes CPython raise ("STACK_GLOBAL requires str"): stop
  // there as it does. Globals, call results and the like may be a str at load time.
  if (isCertainNonStr(module) || isCertainNonStr(name)) throw new AlreadyReported();
  return unknown('dynamic global');
}

/** EXT1/EXT2/EXT4: imports whatever the loading process registered under the code. */
export function extension(m: Machine, op: number): Value {
  m.s.importRan = true;
  const r = m.r;
  const code = op === OP.EXT1 ? r.u8() : op === OP.EXT2 ? r.u16() : r.i32();
  flag(m, 'extension-registry', `${opcodeName(op)} imports the object registered under extension code ${code} (copyreg extension registry): what it resolves to depends on the loading process`);
  return unknown(`extension code ${code}`);
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
