/**
 * A pickle machine that scans nothing and records exactly which bytes each container
 * handed to it: the seam that lets container tests assert what was scanned.
 */
import { analyzeContainerWith, type ContainerOptions } from '../../../src/formats/index.js';
import { bufferSource, type ByteSource } from '../../../src/io/byte-source.js';
import type { MachineOptions, PickleStreamAnalysis } from '../../../src/pickle/types.js';
import type { ContainerAnalysis } from '../../../src/formats/types.js';

export interface Handed {
  member: string;
  format: string;
  /** The bytes from `start` to the end of the source handed over, as latin1 text. */
  text: string;
  start: number;
  pickleCount?: number;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

export function record(bytes: Uint8Array, options: ContainerOptions = {}): { analysis: ContainerAnalysis; handed: Handed[] } {
  const seen: Array<Omit<Handed, 'member' | 'format'>> = [];
  const machine = (source: ByteSource, opts: MachineOptions): PickleStreamAnalysis => {
    const start = opts.start ?? 0;
    seen.push({
      text: latin1(source.read(start, source.size - start)),
      start,
      ...(opts.pickleCount !== undefined ? { pickleCount: opts.pickleCount } : {}),
    });
    return { imports: [], findings: [], pickles: [], persistentIds: [], end: source.size };
  };
  const analysis = analyzeContainerWith(bufferSource(bytes), options, machine);
  const handed = analysis.streams.map((s, i) => ({ member: s.member, format: s.format, ...(seen[i] as Omit<Handed, 'member' | 'format'>) }));
  return { analysis, handed };
}

export function codes(analysis: ContainerAnalysis): string[] {
  return analysis.findings.map((f) => `${f.code}${f.limit ? `:${f.limit}` : ''}@${f.member ?? ''}`);
}
