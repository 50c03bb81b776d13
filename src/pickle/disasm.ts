/**
 * A `pickletools.dis`-like listing of one scanned stream, with byte offsets.
 * PLACEHOLDER until the pickle reader's `readOpcodes` lands: says so.
 */
import type { ScannedStream } from '../formats/types.js';
import type { ByteSource } from '../io/byte-source.js';

export function disassemble(_source: ByteSource, _stream: ScannedStream, _readBytes?: (offset: number, length: number) => Uint8Array): string[] {
  return ['(opcode listing is not available in this build)'];
}
