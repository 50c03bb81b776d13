/**
 * Public entry of the pickle layer. PLACEHOLDER until the symbolic machine lands:
 * it refuses every input (fail closed) rather than pretending to scan.
 */
import type { ByteSource } from '../io/byte-source.js';
import type { MachineOptions, PickleStreamAnalysis } from './types.js';

export function analyzePickleStream(source: ByteSource, options: MachineOptions = {}): PickleStreamAnalysis {
  const start = options.start ?? 0;
  return {
    imports: [],
    findings: [{ code: 'malformed', message: 'pickle analysis is not available in this build', offset: start }],
    pickles: [],
    persistentIds: [],
    end: source.size,
  };
}
