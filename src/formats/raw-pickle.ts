/**
 * A pickle stream found by content (a raw file, a member that looks like a pickle,
 * what a compressed file holds). Scanned as joblib.load reads it: the same as a plain
 * unpickle, except that after a `NumpyArrayWrapper` is built the inline array bytes are
 * skipped (or a nested object-array pickle is scanned) instead of being read as opcodes.
 * For streams without such a wrapper the two readings are identical.
 */
import type { ByteSource } from '../io/byte-source.js';
import type { PickleStreamAnalysis } from '../pickle/types.js';
import { scanPickle, type Place, type ScanContext } from './context.js';
import { joblibAfterBuild } from './joblib.js';
import type { ContainerFormat } from './types.js';

const JOBLIB_WRAPPER = /^(sklearn\.externals\.)?joblib\.numpy_pickle(_compat)?$/;

export function scanRawPickle(
  ctx: ScanContext,
  place: Place,
  source: ByteSource,
  format: ContainerFormat,
): { analysis: PickleStreamAnalysis; format: ContainerFormat } {
  const analysis = scanPickle(ctx, place, format, source, { afterBuild: joblibAfterBuild() });
  const joblib = analysis.imports.some((i) => JOBLIB_WRAPPER.test(i.module) && /ArrayWrapper$/.test(i.name));
  if (!joblib) return { analysis, format };
  const stream = ctx.streams[ctx.streams.length - 1];
  if (stream) stream.format = 'joblib';
  return { analysis, format: format === 'pickle' ? 'joblib' : format };
}
