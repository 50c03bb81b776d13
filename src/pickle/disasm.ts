/**
 * A `pickletools.dis`-like listing: one line per opcode with its byte offset, the
 * opcode byte, its name and decoded argument, indented by open MARKs. Built on
 * `readOpcodes`, so it never executes anything; bytes it cannot decode end the listing
 * of that pickle with the reason (what follows would be guesswork).
 */
import type { ByteSource } from '../io/byte-source.js';
import { pyBytes, pyFloat, pyStr } from './decompile.js';
import { readOpcodes, type OpcodeRecord } from './opcode-iterator.js';

export interface DisasmLine {
  /** Offset of the opcode (absent on the notes between pickles and on errors). */
  offset?: number;
  text: string;
  /** True for a line saying why decoding stopped. */
  error?: boolean;
}

export interface DisasmOptions {
  /** Opcodes listed at most, over all pickles (default 100 000); the rest is counted. */
  maxOpcodes?: number;
}

/** Opcodes that pop everything down to the topmost MARK. */
const POPS_MARK = new Set(['TUPLE', 'LIST', 'DICT', 'INST', 'OBJ', 'SETITEMS', 'APPENDS', 'ADDITEMS', 'FROZENSET', 'POP_MARK']);

function byteRepr(code: number): string {
  return code >= 0x20 && code < 0x7f ? String.fromCharCode(code) : `\\x${code.toString(16).padStart(2, '0')}`;
}

/** The argument as pickletools shows it (Python reprs); big payloads by offset and length. */
function argText(rec: OpcodeRecord, source: ByteSource): string {
  const arg = rec.arg;
  if (arg === undefined) return '';
  if (typeof arg === 'string') return pyStr(arg, 200);
  if (typeof arg === 'boolean') return arg ? 'True' : 'False';
  if (typeof arg === 'number') return rec.op.arg === 'float8' || rec.op.arg === 'floatnl' ? pyFloat(arg) : String(arg);
  if (typeof arg === 'bigint') return String(arg);
  const isBytes = rec.op.arg.startsWith('bytes') || rec.op.arg === 'bytearray8';
  if (isBytes && arg.length <= 200) {
    const lit = pyBytes(source.read(arg.offset, arg.length));
    return rec.op.arg === 'bytearray8' ? `bytearray(${lit})` : lit;
  }
  return `<${arg.length} bytes at offset ${arg.offset}>`;
}

/**
 * Lists each pickle starting at `starts` (offsets in `source`, e.g. from
 * `PickleStreamAnalysis.pickles`).
 */
export function disassemble(source: ByteSource, starts: readonly number[], options: DisasmOptions = {}): DisasmLine[] {
  const max = options.maxOpcodes ?? 100_000;
  const lines: DisasmLine[] = [];
  let listed = 0;
  let skipped = 0;
  for (const [i, start] of starts.entries()) {
    if (starts.length > 1) lines.push({ text: `# pickle ${i} at offset ${start}` });
    const marks: number[] = [];
    const memo = new Set<string>();
    let protocol = 0;
    try {
      for (const rec of readOpcodes(source, start)) {
        if (listed >= max) {
          skipped++;
          continue;
        }
        listed++;
        let note = '';
        const depth = marks.length; // like pickletools, the MARK-popping opcode sits at the MARK's depth
        if (POPS_MARK.has(rec.op.name)) {
          const at = marks.pop();
          note = at === undefined ? ' (no MARK to pop)' : ` (MARK at ${at})`;
        }
        protocol = Math.max(protocol, rec.op.proto);
        if (rec.op.name === 'MEMOIZE') {
          note = ` (as ${memo.size})`;
          memo.add(String(memo.size));
        } else if (rec.op.name.endsWith('PUT')) memo.add(String(rec.arg));
        // pickletools' layout: offset, opcode byte, indent per open MARK, name, then the
        // argument aligned after a 10-character name column.
        const arg = argText(rec, source);
        let line = `${String(rec.offset).padStart(5)}: ${byteRepr(rec.op.code).padEnd(4)} ${'    '.repeat(depth)}${rec.op.name}`;
        if (arg || note) line += ' '.repeat(Math.max(0, 10 - rec.op.name.length));
        if (arg) line += ` ${arg}`;
        if (note) line += note;
        lines.push({ offset: rec.offset, text: line });
        if (rec.op.name === 'MARK') marks.push(rec.offset);
      }
      lines.push({ text: `highest protocol among opcodes = ${protocol}` });
    } catch (err) {
      lines.push({ text: `!! decoding stopped: ${err instanceof Error ? err.message : String(err)}`, error: true });
    }
  }
  if (skipped > 0) lines.push({ text: `... ${skipped} more opcodes not listed (maxOpcodes ${max})` });
  return lines;
}
