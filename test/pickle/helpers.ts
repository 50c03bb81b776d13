/** Shared helpers for the pickle-layer tests. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bufferSource } from '../../src/io/byte-source.js';
import { analyzePickleStream } from '../../src/pickle/index.js';
import type { MachineOptions, PickleStreamAnalysis } from '../../src/pickle/types.js';
import type { FindingCode } from '../../src/findings.js';
import type { PickleWriter } from './writer.js';

export function scan(data: Uint8Array | PickleWriter, options: MachineOptions = {}): PickleStreamAnalysis {
  const bytes = data instanceof Uint8Array ? data : data.bytes();
  return analyzePickleStream(bufferSource(bytes), options);
}

/** [module, name] of each import, in order. */
export function names(a: PickleStreamAnalysis): Array<[string, string]> {
  return a.imports.map((i) => [i.module, i.name]);
}

export function codes(a: PickleStreamAnalysis): FindingCode[] {
  return a.findings.map((f) => f.code);
}

/** Runs stdlib python3 with a script on stdin-provided input; returns stdout (throws on failure). */
export function python(script: string, input?: string | Uint8Array): string {
  const res = spawnSync('python3', ['-c', script], { input: typeof input === 'string' ? Buffer.from(input) : input, maxBuffer: 1 << 28 });
  if (res.status !== 0) throw new Error(`python3 failed: ${res.stderr?.toString()}`);
  return res.stdout.toString('utf8');
}

const ORACLE = readFileSync(new URL('recording_unpickler.py', import.meta.url), 'utf8');

/** What CPython's C Unpickler did with a stream (`recording_unpickler.py`). */
export interface OracleResult {
  /** find_class calls, names as written. */
  imports: Array<[string, string]>;
  error: string | null;
}

/**
 * Runs the recording C Unpickler (or, with `'python'`, the pure-Python `pickle._Unpickler`
 * joblib.load uses) over each stream, in one python3 process.
 */
export function oracle(streams: Uint8Array[], unpickler: 'c' | 'python' = 'c'): OracleResult[] {
  const input = streams.map((b) => Buffer.from(b).toString('hex')).join('\n') + '\n';
  return python(unpickler === 'python' ? `PURE = True\n${ORACLE}` : ORACLE, input)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as OracleResult);
}
