/**
 * Public entry of the container layer. PLACEHOLDER until container detection lands:
 * every input is treated as one raw pickle stream.
 */
import type { ByteSource } from '../io/byte-source.js';
import { analyzePickleStream } from '../pickle/index.js';
import type { PickleLimits } from '../pickle/types.js';
import type { ContainerAnalysis, ContainerLimits } from './types.js';

export interface ContainerOptions {
  limits?: Partial<PickleLimits & ContainerLimits>;
  recordEffects?: boolean;
}

export function analyzeContainer(source: ByteSource, options: ContainerOptions = {}): ContainerAnalysis {
  const analysis = analyzePickleStream(source, {
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.recordEffects ? { recordEffects: true } : {}),
  });
  return { format: 'pickle', streams: [{ member: '', format: 'pickle', analysis }], findings: [] };
}
