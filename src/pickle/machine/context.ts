/**
 * The machine's state for one stream: the cursor, the current pickle's state, what the
 * stream reports so far and the counters behind the per-stream bounds. Plain fields
 * only: each job in this folder is a function over it (one shape, so the calls in the
 * opcode loop stay monomorphic and allocate nothing).
 */
import type { Finding, FindingCode } from '../../findings.js';
import type { ByteSource } from '../../io/byte-source.js';
import { Reader } from '../reader.js';
import {
  DEFAULT_PICKLE_LIMITS,
  type Effect,
  type ImportRecord,
  type MachineOptions,
  type PersistentIdRecord,
  type PickleInfo,
  type PickleLimits,
} from '../types.js';
import { freshState, type PickleState } from './state.js';

export class Machine {
  // What the stream reports (returned as `PickleStreamAnalysis`).
  readonly imports: ImportRecord[] = [];
  readonly findings: Finding[] = [];
  readonly pickles: PickleInfo[] = [];
  readonly persistentIds: PersistentIdRecord[] = [];
  /** Present with `recordEffects` only. */
  readonly effects: Effect[] | undefined;

  // Counters behind the per-stream bounds (`limits.ts`).
  readonly findingCounts = new Map<FindingCode, number>();
  /** Imports already given their one `value` use. */
  readonly valueUseNoted = new Set<number>();
  /** Calls seen per import index (uses keep the first MAX_CALL_USES). */
  readonly callCounts: number[] = [];
  /** Call uses listed over all imports (bounded by `maxCallUses`). */
  callUsesListed = 0;
  totalOpcodes = 0;
  keptItems = 0;
  nestedDepth = 0;
  callIds = 0;

  // Where we are.
  readonly r: Reader;
  readonly limits: Required<PickleLimits>;
  /** Offset of the opcode being run, and the opcode (-1: the bytes ended where one should start). */
  opStart = 0;
  op = 0;
  /** The pickle being run (a nested pickle swaps it and puts it back). */
  s: PickleState;

  constructor(
    readonly source: ByteSource,
    readonly options: MachineOptions,
  ) {
    this.limits = { ...DEFAULT_PICKLE_LIMITS, ...options.limits };
    this.r = new Reader(source, options.start ?? 0, this.limits.maxDeclaredLength);
    this.effects = options.recordEffects ? [] : undefined;
    this.s = freshState(0, this.r.pos);
  }
}
