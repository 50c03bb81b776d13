/**
 * FRAME rules the machine applies on top of the reader's (`reader.ts` reads a frame as
 * the C Unpickler reads a file without `peek`): each place where the C unpickler on a
 * file, `pickle.loads` and the Python unpickler part ways is a `frame-violation`.
 */
import { opcodeName } from '../opcodes.js';
import type { Reader } from '../reader.js';
import type { Machine } from './context.js';
import { malformed } from './errors.js';
import { flag } from './findings.js';
import { pureOnly } from './lenient.js';

/** FRAME: opens a frame of the declared length. */
export function frame(m: Machine): void {
  const r = m.r;
  const n = r.u64();
  // Both unpicklers refuse a length past sys.maxsize (top bit set); below it, up to
  // 2^63 - 1, the pure-Python one reads what is there (shortFrame).
  if (n === Infinity && topBitSet(r)) throw malformed("FRAME length exceeds system's maximum");
  const open = r.frameEnd;
  const nested = open > r.pos;
  if (nested) {
    // C: a frame that fits in the current one is read from its buffer, which still ends
    // where the current frame does; one that does not fit drops the current frame's rest.
    flag(m, 'frame-violation', `FRAME at offset ${m.opStart} starts before the current frame ends at offset ${open} (the C and Python unpicklers read this differently)`);
    if (r.pos + n <= open) return;
    r.pos = open;
    r.frameEnd = -1;
  }
  // Inside a frame the pure-Python unpickler has already raised ("beginning of a new
  // frame before end of current frame"): a short frame there fails in both.
  const left = r.size - r.pos;
  if (!nested && n > left && (n === Infinity || n <= r.maxDeclaredLength)) return shortFrame(m, n, left);
  r.checkLength(n, 'FRAME');
  r.openFrame(r.pos + n);
}

/**
 * A FRAME declaring more bytes than are left: the C unpickler raises (truncated), the
 * pure-Python `_Unframer.load_frame` takes the short read as the frame and goes on.
 * Read as it reads: the frame clipped to the bytes left.
 */
function shortFrame(m: Machine, n: number, left: number): void {
  pureOnly(
    m,
    `FRAME at offset ${m.opStart} declares ${n === Infinity ? 'more than 2^53' : n} bytes but only ${left} are left: the C unpickler raises (truncated), the pure-Python unpickler (which joblib.load uses for every file, compressed or not) takes the short read as the frame and goes on; read on as the pure-Python unpickler reads (the frame clipped to the bytes left)`,
    'frame-violation',
  );
  m.r.openFrame(m.r.size);
}

/** Whether the 8-byte length just read by `u64` is 2^63 or more. */
function topBitSet(r: Reader): boolean {
  return (r.buf[r.pos - 1 - r.bufStart]! & 0x80) !== 0;
}

/** Reports the frame end the current opcode's reads crossed (`Reader.crossed`). */
export function reportCrossing(m: Machine): void {
  const end = m.r.crossed;
  m.r.crossed = -1;
  flag(
    m,
    'frame-violation',
    `${opcodeName(m.op)} at offset ${m.opStart} crosses the end of its frame at offset ${end}: read as the C unpickler reads a file (the frame's unread rest dropped); pickle.loads reads on linearly and the pure-Python unpickler fails`,
  );
}

/** STOP: a frame with bytes left is flagged, and the next pickle starts after it. */
export function closeFrameAtStop(m: Machine): void {
  const r = m.r;
  const frameEnd = r.frameEnd;
  if (frameEnd > r.pos) {
    flag(m, 'frame-violation', `STOP at offset ${m.opStart} inside a frame that ends at offset ${frameEnd}: pickle.loads stops here, pickle.load(file) has read the whole frame`);
    // Reading from a file (what loaders do) both unpicklers have consumed the whole frame,
    // so the next pickle of the stream starts after it.
    r.pos = frameEnd;
  }
  r.frameEnd = -1;
}

/** Back from a nested pickle: in the outer frame again, unless the nested one ran past its end. */
export function reopenOuterFrame(r: Reader, outerFrameEnd: number): void {
  r.frameEnd = -1;
  if (outerFrameEnd > r.pos) r.openFrame(outerFrameEnd);
  else if (outerFrameEnd >= 0 && r.pos > outerFrameEnd) r.crossed = outerFrameEnd;
}
