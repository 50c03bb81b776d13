/**
 * The guard's content test for files whose name is not an artifact name. It uses the
 * formats layer's classifier but keeps only the STRONG signatures: binary magics a text
 * file does not start with. The formats layer's `looksLikeModel` also accepts anything
 * that could start a protocol-0 pickle (`T`, `M`, `(` ...), which is right for the CLI
 * but would make the guard scan every README and LICENSE an app reads.
 * Consequence (docs/guard.md): a protocol 0/1 pickle under a non-artifact name is not caught.
 */
import { sniffHead as classify } from '../formats/sniff.js';

/** A zlib stream header: CM 8, and CMF*256+FLG a multiple of 31 (RFC 1950). */
function isZlibHeader(head: Uint8Array): boolean {
  const cmf = head[0];
  const flg = head[1];
  return cmf !== undefined && flg !== undefined && (cmf & 0x0f) === 8 && (cmf * 256 + flg) % 31 === 0;
}

/**
 * First bytes that can open one of the kinds accepted below: PK (zip), \x93 (npy), ZF,
 * compressor magics (x \x1f B \x5d \xfd \x04), \x80 (PROTO) and \x8a / L (torch's legacy
 * magic number written without PROTO). Anything else is answered without the classifier,
 * which keeps the sniff at a table lookup for ordinary files.
 */
const MAY_START = new Uint8Array(256);
for (const b of [0x50, 0x93, 0x5a, 0x78, 0x1f, 0x42, 0x5d, 0xfd, 0x04, 0x80, 0x8a, 0x4c]) MAY_START[b] = 1;

/** Could a file whose first byte is `first` be one the sniff accepts? */
export function mayStartModel(first: number): boolean {
  return MAY_START[first] === 1;
}

export function sniffHead(first16: Uint8Array): boolean {
  const first = first16[0];
  if (first === undefined || MAY_START[first] === 0) return false;
  const kind = classify(first16);
  switch (kind.kind) {
    case 'zip':
    case 'npy':
    case 'tar': // needs 512 bytes: never seen in 16
    case 'torch-legacy':
    case 'joblib-zf':
      return true;
    case 'compressed':
      return kind.compression !== 'zlib' || isZlibHeader(first16);
    case 'pickle':
      return first16[0] === 0x80; // PROTO: protocol 2+ pickles start with it
    case 'unknown':
      return false;
  }
}
