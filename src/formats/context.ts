/**
 * State shared by every reader while one file is analysed: the limits, the shared
 * budgets (members, decompressed bytes), the sinks for streams and findings, and the
 * pickle machine (a seam, so tests can record exactly which bytes were handed to it).
 */
import type { Finding, LimitName } from '../findings.js';
import type { ByteSource } from '../io/byte-source.js';
import { analyzePickleStream } from '../pickle/index.js';
import {
  DEFAULT_PICKLE_LIMITS,
  type MachineOptions,
  type PickleLimits,
  type PickleStreamAnalysis,
} from '../pickle/types.js';
import { numpyArrayValidator } from './numpy-array.js';
import { composeAfterBuild, numpyDtypeValidator } from './numpy-dtype.js';
import type { Sniffed } from './sniff.js';
import { DEFAULT_CONTAINER_LIMITS, type ContainerFormat, type ContainerLimits, type ScannedStream } from './types.js';

export type AllLimits = PickleLimits & ContainerLimits;

/** The pickle machine as the readers see it. */
export type PickleMachine = (source: ByteSource, options: MachineOptions) => PickleStreamAnalysis;

export const defaultMachine: PickleMachine = analyzePickleStream;

export interface ScanContext {
  readonly limits: AllLimits;
  readonly recordEffects: boolean;
  readonly machine: PickleMachine;
  /** Shared budgets, decremented as members are listed and bytes are inflated. */
  readonly budget: { members: number; decompressed: number };
  readonly streams: ScannedStream[];
  readonly findings: Finding[];
}

export function createContext(
  limits: Partial<AllLimits> | undefined,
  recordEffects: boolean,
  machine: PickleMachine,
): ScanContext {
  const all: AllLimits = { ...DEFAULT_PICKLE_LIMITS, ...DEFAULT_CONTAINER_LIMITS, ...(limits ?? {}) };
  return {
    limits: all,
    recordEffects,
    machine,
    budget: { members: all.maxMembers, decompressed: all.maxDecompressedBytesTotal },
    streams: [],
    findings: [],
  };
}

/** Where a reader is: the member path from the outermost container and the nesting depth. */
export interface Place {
  member: string;
  depth: number;
}

/** Analyses a container found inside another one (depth is already that of `place`). */
export type NestedAnalyzer = (ctx: ScanContext, place: Place, source: ByteSource, head: Sniffed) => void;

export function childPlace(place: Place, name: string): Place {
  return { member: place.member ? `${place.member}/${name}` : name, depth: place.depth + 1 };
}

/** Records a container-level finding at `place` (member '' means the file itself). */
export function report(
  ctx: ScanContext,
  place: Place,
  finding: Omit<Finding, 'member'> & { member?: string },
): void {
  const member = finding.member ?? place.member;
  ctx.findings.push(member ? { ...finding, member } : { ...finding });
}

export function reportLimit(ctx: ScanContext, place: Place, limit: LimitName, message: string, member?: string): void {
  report(ctx, place, { code: 'limit', limit, message, ...(member !== undefined ? { member } : {}) });
}

/**
 * Hands one pickle stream to the machine and records it as scanned. Every stream gets the
 * numpy dtype validator (see numpy-dtype.ts) before the format's own BUILD hook.
 */
export function scanPickle(
  ctx: ScanContext,
  place: Place,
  format: ContainerFormat,
  source: ByteSource,
  extra: Pick<MachineOptions, 'start' | 'pickleCount' | 'afterBuild' | 'persistentLoad' | 'recordEffects'> = {},
): PickleStreamAnalysis {
  const analysis = analyzeWithDtypeCheck(ctx.machine, source, {
    limits: pickleLimits(ctx.limits),
    ...extra,
    ...(ctx.recordEffects ? { recordEffects: true } : {}),
  });
  ctx.streams.push({ member: place.member, format, analysis });
  return analysis;
}

/**
 * Runs `machine` with the numpy dtype and array validators (numpy-dtype.ts, numpy-array.ts)
 * composed in front of `options.afterBuild`, and adds the validator's end-of-stream finding (a fields dict changed after its BUILD).
 */
export function analyzeWithDtypeCheck(machine: PickleMachine, source: ByteSource, options: MachineOptions): PickleStreamAnalysis {
  const dtypes = numpyDtypeValidator();
  const analysis = machine(source, { ...options, afterBuild: composeAfterBuild(dtypes.afterBuild, numpyArrayValidator(), options.afterBuild) });
  const late = dtypes.finish();
  if (late !== undefined) analysis.findings.push({ code: 'malformed', message: late });
  return analysis;
}

/** The pickle machine's share of the limits: every key it knows, a given value or its default. */
function pickleLimits(all: AllLimits): Required<PickleLimits> {
  const keys = Object.keys(DEFAULT_PICKLE_LIMITS) as Array<keyof PickleLimits>;
  return Object.fromEntries(keys.map((k) => [k, all[k] ?? DEFAULT_PICKLE_LIMITS[k]])) as Required<PickleLimits>;
}

/**
 * Takes `count` members from the shared member budget; false (and a `limit` finding)
 * when the archive has more members than are left.
 */
export function takeMembers(ctx: ScanContext, place: Place, count: number): boolean {
  if (count > ctx.budget.members) {
    ctx.budget.members = 0;
    reportLimit(ctx, place, 'maxMembers', `the container lists ${count} members, more than the ${ctx.limits.maxMembers} allowed (maxMembers) in one scan`);
    return false;
  }
  ctx.budget.members -= count;
  return true;
}

/** The most bytes one member may decompress to right now (per-member cap and what is left of the total). */
export function decompressCap(ctx: ScanContext): { cap: number; limit: LimitName } {
  const per = ctx.limits.maxDecompressedBytesPerMember;
  const left = ctx.budget.decompressed;
  return per <= left ? { cap: per, limit: 'maxDecompressedBytesPerMember' } : { cap: left, limit: 'maxDecompressedBytesTotal' };
}

export function spendDecompressed(ctx: ScanContext, bytes: number): void {
  ctx.budget.decompressed = Math.max(0, ctx.budget.decompressed - bytes);
}
