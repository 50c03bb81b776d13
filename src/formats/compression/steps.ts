/**
 * Decoders written as generators over an OutputBuffer (xz, .lzma): they yield between
 * pieces of output (an LZMA2 chunk, a stretch of an LZMA stream) with the number of
 * trailing output bytes they may still copy from (their dictionary). Run to the end, that is
 * the whole-stream decoder; pulled piece by piece, the output before the dictionary is
 * dropped as it is handed out, so memory is the dictionary plus one piece.
 */
import { OutputBuffer, type PullDecoder } from './output.js';

/** Yields how many trailing output bytes must be kept. */
export type DecodeSteps = Generator<number, void, void>;

export function runToEnd(steps: DecodeSteps): void {
  for (let r = steps.next(); !r.done; r = steps.next());
}

/** A pull decoder over `make`'s steps; `make` gets the output buffer to write into. */
export function stepsPullDecoder(make: (out: OutputBuffer) => DecodeSteps): PullDecoder {
  // No cap here: the counting pass (decoded-source.ts) asks for at most cap + 1 bytes.
  const out = new OutputBuffer(Number.MAX_SAFE_INTEGER);
  let steps: DecodeSteps | undefined = make(out);
  let pending = 0;
  let keep = 0;
  return {
    read(into) {
      while (pending >= out.length) {
        if (steps === undefined) return 0;
        out.dropBefore(keep);
        pending = out.length;
        const r = steps.next();
        if (r.done) steps = undefined;
        else keep = r.value;
      }
      const n = Math.min(into.length, out.length - pending);
      into.set(out.bytes.subarray(pending, pending + n));
      pending += n;
      return n;
    },
    close() {
      steps?.return();
      steps = undefined;
      out.length = 0;
      pending = 0;
    },
  };
}
