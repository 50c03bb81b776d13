/**
 * A pickle stream found by content (a raw file, a member that looks like a pickle,
 * what a compressed file holds, a tar member). Any of these may reach joblib.load or a
 * plain `pickle.load` (pandas.read_pickle, np.load(allow_pickle=True), torch.load on a raw
 * pickle, a user's own code), and the two read a `NumpyArrayWrapper` differently: joblib
 * skips the inline array bytes after its BUILD (or reads a nested object-array pickle),
 * pickle.load reads those same bytes as opcodes. So the stream is scanned as joblib reads
 * it and, when that reading skipped anything, as pickle.load reads it too; what both find
 * is merged into one analysis (see `mergeReadings` and docs/formats.md, "Two readings of
 * joblib-shaped pickles"). Without a wrapper the two readings are identical: one scan.
 */
import type { ByteSource } from '../io/byte-source.js';
import { analyzePickleStream } from '../pickle/index.js';
import type { PickleStreamAnalysis } from '../pickle/types.js';
import { analyzeWithDtypeCheck, scanPickle, type Place, type ScanContext } from './context.js';
import { joblibReader, mergeReadings } from './joblib.js';
import type { ContainerFormat } from './types.js';

const JOBLIB_WRAPPER = /^(sklearn\.externals\.)?joblib\.numpy_pickle(_compat)?$/;

export function scanRawPickle(
  ctx: ScanContext,
  place: Place,
  source: ByteSource,
  format: ContainerFormat,
): { analysis: PickleStreamAnalysis; format: ContainerFormat } {
  const reader = joblibReader();
  let analysis = scanPickle(ctx, place, format, source, { afterBuild: reader.afterBuild });
  const stream = ctx.streams[ctx.streams.length - 1];
  const divergedAt = reader.divergedAt();
  if (divergedAt !== undefined) {
    // Not through ctx.machine: that seam sees one call per reported stream (explain pairs
    // them up by order). Same limits (the machine ignores the container ones); no effects:
    // explain shows joblib's reading, the merged findings name the plain one.
    const plain = analyzeWithDtypeCheck(analyzePickleStream, source, { limits: ctx.limits });
    analysis = mergeReadings(analysis, plain, { source, divergedAt });
    if (stream) stream.analysis = analysis;
  }
  const joblib = analysis.imports.some((i) => JOBLIB_WRAPPER.test(i.module) && /ArrayWrapper$/.test(i.name));
  if (!joblib) return { analysis, format };
  if (stream) stream.format = 'joblib';
  return { analysis, format: format === 'pickle' ? 'joblib' : format };
}

/**
 * joblib.load reads a file's first pickle with its BUILD hook whatever else the file looks
 * like: a stream torch's legacy reader claims (it starts with torch's magic number, and is
 * scanned plainly, as torch reads it) can go on, inside that first pickle, with a wrapper
 * whose "array" hides opcodes from the plain reading that joblib runs. When joblib's reading
 * of the first pickle differs from the plain one, it is scanned as a stream of its own.
 */
export function scanJoblibFirstPickle(ctx: ScanContext, place: Place, source: ByteSource): void {
  // A private probe first (not through ctx.machine: one seam call per reported stream).
  const probe = joblibReader();
  analyzePickleStream(source, { limits: ctx.limits, pickleCount: 1, afterBuild: probe.afterBuild });
  if (probe.divergedAt() === undefined) return; // the same bytes as torch's reading: scanned
  scanPickle(ctx, place, 'joblib', source, { pickleCount: 1, afterBuild: joblibReader().afterBuild });
}
