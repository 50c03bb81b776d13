/**
 * A `pickletools.dis`-like listing: one line per opcode with its byte offset, the
 * opcode byte, its name and decoded argument, indented by open MARKs. Built on
 * `readOpcodes`, so it never executes anything; bytes it cannot decode end the listing
 * of that pickle with the reason (what follows would be guesswork).
 */
import type { ByteSource } from '../io/byte-source.js';
import { pyStr } from './decompile.js';
import { readOpcodes, type OpcodeArg } from './opcode-iterator.js';

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

function argText(arg: OpcodeArg): string {
  if (arg === undefined) return '';
  if (typeof arg === 'string') return pyStr(arg, 200);
  if (typeof arg === 'boolean') return arg ? 'True' : 'False';
  if (typeof arg === 'number' || typeof arg === 'bigint') return String(arg);
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
    let protocol = 0;
    try {
      for (const rec of readOpcodes(source, start)) {
        if (listed >= max) {
          skipped++;
          continue;
        }
        listed++;
        let note = '';
        if (POPS_MARK.has(rec.op.name)) {
          const at = marks.pop();
          note = at === undefined ? ' (no MARK to pop)' : ` (MARK at ${at})`;
        }
        protocol = Math.max(protocol, rec.op.proto);
        const indent = '    '.repeat(marks.length);
        const name = `${indent}${rec.op.name}`.padEnd(Math.max(11, indent.length + rec.op.name.length + 1));
        const arg = argText(rec.arg);
        lines.push({ offset: rec.offset, text: `${String(rec.offset).padStart(6)}: ${byteRepr(rec.op.code).padEnd(4)} ${name}${arg ? ` ${arg}` : ''}${note}` });
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
