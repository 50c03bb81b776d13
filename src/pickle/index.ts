/**
 * Public entry of the pickle layer: one call scans a stream of pickles and returns
 * plain data (imports as CPython would resolve them, machine-level findings). It never
 * throws: every failure is a finding.
 */
import type { ByteSource } from '../io/byte-source.js';
import { runMachine } from './machine/run.js';
import type { MachineOptions, PickleStreamAnalysis } from './types.js';

export function analyzePickleStream(source: ByteSource, options: MachineOptions = {}): PickleStreamAnalysis {
  try {
    return runMachine(source, options);
  } catch (err) {
    // Only reachable through a bug in option handling: still fail closed.
    const start = options.start ?? 0;
    return {
      imports: [],
      findings: [{ code: 'malformed', offset: start, message: `internal error: ${err instanceof Error ? err.message : String(err)}` }],
      pickles: [],
      persistentIds: [],
      end: start,
    };
  }
}

export { readOpcodes, type OpcodeRecord, type OpcodeArg, type PayloadRef } from './opcode-iterator.js';
export { OPCODES, OPCODE_BY_BYTE, opcodeName, type OpcodeInfo, type ArgKind } from './opcodes.js';
