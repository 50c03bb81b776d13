/**
 * Public entry of the container layer: finds every pickle a real loader could unpickle
 * in a file, whatever its name, and scans each with the pickle machine.
 *
 * Dispatch follows the loaders: torch.load takes `PK\x03\x04` as a zip, then tries tar,
 * then the legacy pickle sequence; np.load takes `PK\x03\x04`/`PK\x05\x06` as npz,
 * `\x93NUMPY` as npy, anything else as a pickle; joblib decides compression by magic
 * prefix. Bytes that are none of these are scanned as a raw pickle stream.
 */
import type { ByteSource } from '../io/byte-source.js';
import type { PickleLimits } from '../pickle/types.js';
import { openDecompressed, type CompressionKind } from './compression/index.js';
import {
  createContext,
  decompressCap,
  defaultMachine,
  report,
  reportLimit,
  spendDecompressed,
  type PickleMachine,
  type Place,
  type ScanContext,
} from './context.js';
import { scanJoblibFirstPickle, scanRawPickle } from './raw-pickle.js';
import { analyzeNpy } from './npy.js';
import { sniff, type Sniffed } from './sniff.js';
import { analyzeTar } from './tar-scan.js';
import { analyzeTorchLegacy } from './torch-legacy.js';
import type { Compression, ContainerAnalysis, ContainerFormat, ContainerLimits } from './types.js';
import { analyzeZip } from './zip/index.js';

export { looksLikeModel, sniff } from './sniff.js';
export type { PickleMachine } from './context.js';

export interface ContainerOptions {
  limits?: Partial<PickleLimits & ContainerLimits>;
  recordEffects?: boolean;
}

export function analyzeContainer(source: ByteSource, options: ContainerOptions = {}): ContainerAnalysis {
  return analyzeContainerWith(source, options, defaultMachine);
}

/**
 * The same, with the pickle machine passed in: tests use a recording machine to see
 * exactly which bytes each container hands over.
 */
export function analyzeContainerWith(source: ByteSource, options: ContainerOptions, machine: PickleMachine): ContainerAnalysis {
  const ctx = createContext(options.limits, options.recordEffects === true, machine);
  const top: Place = { member: '', depth: 0 };
  let outcome: Outcome;
  try {
    outcome = analyzeNode(ctx, top, source, sniff(source));
  } catch (err) {
    // A bug in a reader must end in a violation, never in "allowed".
    report(ctx, top, { code: 'malformed', message: `internal error while reading the container: ${(err as Error)?.message ?? String(err)}` });
    outcome = { format: 'unknown' };
  }
  if (ctx.streams.length === 0 && ctx.findings.length === 0) {
    report(ctx, top, { code: 'no-pickle', message: 'no pickle found in this file' });
  }
  return {
    format: outcome.format,
    ...(outcome.compression ? { compression: outcome.compression } : {}),
    streams: ctx.streams,
    findings: ctx.findings,
  };
}

interface Outcome {
  format: ContainerFormat;
  compression?: Compression;
}

/** Reads one container (or pickle) at `place`. */
function analyzeNode(ctx: ScanContext, place: Place, source: ByteSource, head: Sniffed): Outcome {
  switch (head.kind) {
    case 'zip':
      return { format: analyzeZip(ctx, place, source, nested) };
    case 'npy':
      analyzeNpy(ctx, place, source);
      return { format: 'npy' };
    case 'compressed':
    case 'joblib-zf': {
      const kind = head.kind === 'compressed' ? head.compression : 'joblib-zf';
      analyzeCompressed(ctx, place, source, kind);
      // joblib's legacy ZF container is zlib inside a small header.
      return head.kind === 'compressed' ? { format: 'compressed', compression: head.compression } : { format: 'joblib', compression: 'zlib' };
    }
    case 'tar':
      return { format: analyzeTar(ctx, place, source, nested) };
    case 'torch-legacy':
      analyzeTorchLegacy(ctx, place, source);
      scanJoblibFirstPickle(ctx, place, source); // joblib.load reads it too, its own way
      return { format: 'torch-legacy' };
    case 'pickle':
    case 'unknown': {
      const { analysis, format } = scanRawPickle(ctx, place, source, 'pickle');
      const nothingRan = analysis.imports.length === 0 && analysis.findings.some((f) => f.code === 'not-a-pickle');
      return { format: head.kind === 'unknown' && nothingRan ? 'unknown' : format };
    }
  }
}

/**
 * Decompresses under the caps and reads what it holds as a nested container. zlib/gzip
 * output is decoded on demand through a window (see compression/decoded-source.ts); a
 * decoding that stops short while being read is reported after the scan.
 */
function analyzeCompressed(ctx: ScanContext, place: Place, source: ByteSource, kind: CompressionKind): void {
  const { cap, limit } = decompressCap(ctx);
  const opened = openDecompressed(kind, source, cap);
  if (!opened.ok) {
    if (opened.code === 'limit') reportLimit(ctx, place, limit, `${opened.message} (${limit})`);
    else report(ctx, place, { code: opened.code, message: opened.message });
    return;
  }
  const inner = opened.value;
  spendDecompressed(ctx, inner.source.size);
  try {
    nested(ctx, { member: place.member, depth: place.depth + 1 }, inner.source, sniff(inner.source));
  } finally {
    inner.close();
  }
  const error = inner.error();
  if (error !== undefined) report(ctx, place, { code: 'decompression-failed', message: `${kind}: ${error}` });
}

/** A container found inside another one: bounded by maxNestingDepth. */
function nested(ctx: ScanContext, place: Place, source: ByteSource, head: Sniffed): void {
  if (place.depth > ctx.limits.maxNestingDepth) {
    reportLimit(ctx, place, 'maxNestingDepth', `container nested ${place.depth} deep, more than the ${ctx.limits.maxNestingDepth} allowed (maxNestingDepth): not scanned`);
    return;
  }
  analyzeNode(ctx, place, source, head);
}
