/**
 * The pickle opcode table of protocols 0-5, as CPython 3.11+ (`pickletools.opcodes`,
 * `_pickle.c`) knows them. Data only: the reader and machine dispatch on the byte.
 */

/**
 * How an opcode's argument is encoded (pickletools' ArgumentDescriptor names).
 * `*nl` kinds are text lines ended by `\n`; counted kinds carry a length prefix.
 */
export type ArgKind =
  | 'none'
  | 'uint1'
  | 'uint2'
  | 'int4'
  | 'uint4'
  | 'uint8'
  | 'float8'
  | 'long1'
  | 'long4'
  | 'decimalnl_short'
  | 'decimalnl_long'
  | 'floatnl'
  | 'stringnl'
  | 'stringnl_noescape'
  | 'stringnl_noescape_pair'
  | 'unicodestringnl'
  | 'string1'
  | 'string4'
  | 'bytes1'
  | 'bytes4'
  | 'bytes8'
  | 'bytearray8'
  | 'unicodestring1'
  | 'unicodestring4'
  | 'unicodestring8';

export interface OpcodeInfo {
  readonly name: string;
  readonly code: number;
  readonly arg: ArgKind;
  /** Protocol that introduced it. */
  readonly proto: number;
}

const TABLE: ReadonlyArray<readonly [string, string, ArgKind, number]> = [
  // protocol 0
  ['MARK', '(', 'none', 0],
  ['STOP', '.', 'none', 0],
  ['POP', '0', 'none', 0],
  ['DUP', '2', 'none', 0],
  ['FLOAT', 'F', 'floatnl', 0],
  ['INT', 'I', 'decimalnl_short', 0],
  ['LONG', 'L', 'decimalnl_long', 0],
  ['NONE', 'N', 'none', 0],
  ['PERSID', 'P', 'stringnl_noescape', 0],
  ['REDUCE', 'R', 'none', 0],
  ['STRING', 'S', 'stringnl', 0],
  ['UNICODE', 'V', 'unicodestringnl', 0],
  ['APPEND', 'a', 'none', 0],
  ['BUILD', 'b', 'none', 0],
  ['GLOBAL', 'c', 'stringnl_noescape_pair', 0],
  ['DICT', 'd', 'none', 0],
  ['GET', 'g', 'decimalnl_short', 0],
  ['INST', 'i', 'stringnl_noescape_pair', 0],
  ['LIST', 'l', 'none', 0],
  ['PUT', 'p', 'decimalnl_short', 0],
  ['SETITEM', 's', 'none', 0],
  ['TUPLE', 't', 'none', 0],
  // protocol 1
  ['POP_MARK', '1', 'none', 1],
  ['BININT', 'J', 'int4', 1],
  ['BININT1', 'K', 'uint1', 1],
  ['BININT2', 'M', 'uint2', 1],
  ['BINPERSID', 'Q', 'none', 1],
  ['BINSTRING', 'T', 'string4', 1],
  ['SHORT_BINSTRING', 'U', 'string1', 1],
  ['BINUNICODE', 'X', 'unicodestring4', 1],
  ['EMPTY_DICT', '}', 'none', 1],
  ['APPENDS', 'e', 'none', 1],
  ['BINGET', 'h', 'uint1', 1],
  ['LONG_BINGET', 'j', 'uint4', 1],
  ['EMPTY_LIST', ']', 'none', 1],
  ['OBJ', 'o', 'none', 1],
  ['BINPUT', 'q', 'uint1', 1],
  ['LONG_BINPUT', 'r', 'uint4', 1],
  ['EMPTY_TUPLE', ')', 'none', 1],
  ['SETITEMS', 'u', 'none', 1],
  ['BINFLOAT', 'G', 'float8', 1],
  // protocol 2
  ['PROTO', '\x80', 'uint1', 2],
  ['NEWOBJ', '\x81', 'none', 2],
  ['EXT1', '\x82', 'uint1', 2],
  ['EXT2', '\x83', 'uint2', 2],
  ['EXT4', '\x84', 'int4', 2],
  ['TUPLE1', '\x85', 'none', 2],
  ['TUPLE2', '\x86', 'none', 2],
  ['TUPLE3', '\x87', 'none', 2],
  ['NEWTRUE', '\x88', 'none', 2],
  ['NEWFALSE', '\x89', 'none', 2],
  ['LONG1', '\x8a', 'long1', 2],
  ['LONG4', '\x8b', 'long4', 2],
  // protocol 3
  ['BINBYTES', 'B', 'bytes4', 3],
  ['SHORT_BINBYTES', 'C', 'bytes1', 3],
  // protocol 4
  ['SHORT_BINUNICODE', '\x8c', 'unicodestring1', 4],
  ['BINUNICODE8', '\x8d', 'unicodestring8', 4],
  ['BINBYTES8', '\x8e', 'bytes8', 4],
  ['EMPTY_SET', '\x8f', 'none', 4],
  ['ADDITEMS', '\x90', 'none', 4],
  ['FROZENSET', '\x91', 'none', 4],
  ['NEWOBJ_EX', '\x92', 'none', 4],
  ['STACK_GLOBAL', '\x93', 'none', 4],
  ['MEMOIZE', '\x94', 'none', 4],
  ['FRAME', '\x95', 'uint8', 4],
  // protocol 5
  ['BYTEARRAY8', '\x96', 'bytearray8', 5],
  ['NEXT_BUFFER', '\x97', 'none', 5],
  ['READONLY_BUFFER', '\x98', 'none', 5],
];

/** Every opcode, in pickletools' order within each protocol. */
export const OPCODES: readonly OpcodeInfo[] = TABLE.map(([name, ch, arg, proto]) =>
  Object.freeze({ name, code: ch.charCodeAt(0), arg, proto }),
);

/** Opcode info by byte value (undefined for bytes that are not opcodes). */
export const OPCODE_BY_BYTE: ReadonlyArray<OpcodeInfo | undefined> = (() => {
  const byByte: Array<OpcodeInfo | undefined> = new Array(256).fill(undefined);
  for (const info of OPCODES) byByte[info.code] = info;
  return byByte;
})();

/** Opcode name by byte value, or `UNKNOWN(0xNN)`. */
export function opcodeName(code: number): string {
  return OPCODE_BY_BYTE[code]?.name ?? `UNKNOWN(0x${code.toString(16).padStart(2, '0')})`;
}

/** Byte values, for the dispatch switch (numeric constants keep it a jump table). */
export const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a,
  BININT1: 0x4b, LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52,
  STRING: 0x53, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61,
  BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68,
  INST: 0x69, LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d, OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71,
  LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, BINFLOAT: 0x47,
  PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90,
  FROZENSET: 0x91, NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95, BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const;

/** Highest protocol CPython 3.11 reads (PROTO above it is an error). */
export const HIGHEST_PROTOCOL = 5;
