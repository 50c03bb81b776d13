/**
 * The format reader's `afterBuild` hook: after a BUILD it may skip bytes the real loader
 * reads out of band (joblib's array data), ask for a nested pickle, or refuse. Its
 * answer is checked: a reader bug is a violation, never a pass.
 */
import type { AfterBuildHook, Value } from '../types.js';
import type { Machine } from './context.js';
import { malformed } from './errors.js';

/** Returned when there is no nested pickle to run. */
export const NO_NESTED_PICKLE = -1;

/** Runs the hook; returns where a nested pickle starts, or NO_NESTED_PICKLE. */
export function afterBuild(m: Machine, hook: AfterBuildHook, target: Value, state: Value): number {
  const r = m.r;
  // A frame that ends exactly here is used up: bytes the hook skips are outside it.
  if (r.frameEnd >= 0 && r.pos >= r.frameEnd) r.frameEnd = -1;
  let answer: ReturnType<AfterBuildHook>;
  try {
    const ctx: Parameters<AfterBuildHook>[0] = { target, state, imports: m.imports, source: m.source, offset: r.pos };
    if (r.frameEnd > r.pos) ctx.frameEnd = r.frameEnd;
    answer = hook(ctx);
  } catch (err) {
    throw malformed(`format reader failed after BUILD: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    // The hook read the source itself: our window may be stale.
    r.invalidate();
  }
  if (answer === undefined) return NO_NESTED_PICKLE;
  if ('error' in answer) throw malformed(answer.error);
  if ('resume' in answer) {
    if (!(answer.resume >= r.pos && answer.resume <= r.size)) {
      throw malformed(`format reader asked to resume at offset ${answer.resume}, outside [${r.pos}, ${r.size}]`);
    }
    r.pos = answer.resume;
    // The format read the skipped bytes from the file itself, past the frame's end.
    if (r.frameEnd >= 0 && r.pos > r.frameEnd) {
      r.crossed = r.frameEnd;
      r.frameEnd = -1;
    }
    return NO_NESTED_PICKLE;
  }
  const at = answer.nestedPickleAt;
  if (!(at >= r.pos && at < r.size)) throw malformed(`nested pickle offset ${at} is outside [${r.pos}, ${r.size})`);
  return at;
}
