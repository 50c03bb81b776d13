/**
 * Bridge to the decoders in `compression/`: reads the compressed bytes, decodes them
 * under the decompression caps, and reports what stopped it.
 */
import { bufferSource, type ByteSource } from '../io/byte-source.js';
import { decompressCap, report, reportLimit, spendDecompressed, type Place, type ScanContext } from './context.js';
import { decompressSync, type CompressionKind } from './compression/index.js';

export function decompressInto(ctx: ScanContext, place: Place, source: ByteSource, kind: CompressionKind): ByteSource | undefined {
  const { cap, limit } = decompressCap(ctx);
  // The whole input is read into memory for the synchronous decoders: bound it too.
  if (source.size > cap) {
    reportLimit(ctx, place, limit, `${kind} input of ${source.size} bytes is larger than the ${cap} bytes it may decompress to (${limit})`);
    return undefined;
  }
  const result = decompressSync(kind, source.read(0, source.size), cap);
  if (!result.ok) {
    if (result.code === 'limit') reportLimit(ctx, place, limit, `${result.message} (${limit})`);
    else report(ctx, place, { code: result.code, message: result.message });
    return undefined;
  }
  spendDecompressed(ctx, result.bytes.length);
  return bufferSource(result.bytes);
}
