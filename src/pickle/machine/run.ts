/**
 * The symbolic pickle machine: runs a pickle program the way CPython's C Unpickler
 * (`_pickle.c`) does, but with symbolic values, so every `find_class` call CPython would
 * make is seen and nothing is ever imported or called.
 *
 * Errors follow the C Unpickler: where it raises, we stop with `malformed` (the imports
 * seen before stay in the report, since CPython already ran them). Where we cannot know
 * a runtime value (a call's result), we over-approximate: keep going and flag.
 *
 * This file is the run loop and the boundaries of a stream: pickle after pickle, each
 * with a fresh memo, STOP, nested pickles, and the one finding a failed pickle ends with.
 */
import type { ByteSource } from '../../io/byte-source.js';
import { OP } from '../opcodes.js';
import type { MachineOptions, PickleStreamAnalysis } from '../types.js';
import { NO_NESTED_PICKLE } from './after-build.js';
import { Machine } from './context.js';
import { AlreadyReported, limitHit, malformed } from './errors.js';
import { addFinding, failureFinding } from './findings.js';
import { closeFrameAtStop, reopenOuterFrame, reportCrossing } from './frames.js';
import { MAX_NESTED_PICKLES } from './limits.js';
import { freshState, pop } from './state.js';
import { step } from './step.js';
import { noteValue } from './uses.js';

const STOP = OP.STOP;

/** Runs the whole stream (or `pickleCount` pickles); never throws on bad input. */
export function runMachine(source: ByteSource, options: MachineOptions): PickleStreamAnalysis {
  const m = new Machine(source, options);
  const r = m.r;
  const start = r.pos;
  const count = options.pickleCount;
  let end = start;
  for (;;) {
    if (count !== undefined ? m.pickles.length >= count : r.pos >= r.size) break;
    if (m.pickles.length >= m.limits.maxPicklesPerStream) {
      addFinding(m, {
        code: 'limit',
        limit: 'maxPicklesPerStream',
        offset: r.pos,
        message: `more than ${m.limits.maxPicklesPerStream} pickles in one stream (maxPicklesPerStream); the rest was not scanned`,
      });
      break;
    }
    const ok = runOne(m, r.pos);
    end = ok ? r.pos : m.s.info.end;
    if (!ok) break;
  }
  if (m.pickles.length === 0 && m.findings.length === 0) {
    addFinding(m, { code: 'not-a-pickle', offset: start, message: 'no bytes to unpickle' });
  }
  const analysis: PickleStreamAnalysis = {
    imports: m.imports,
    findings: m.findings,
    pickles: m.pickles,
    persistentIds: m.persistentIds,
    end,
  };
  if (m.effects) analysis.effects = m.effects;
  return analysis;
}

/** Runs one pickle starting at `at` with a fresh memo; false when it failed (finding recorded). */
function runOne(m: Machine, at: number): boolean {
  const r = m.r;
  r.pos = at;
  r.frameEnd = -1;
  r.crossed = -1;
  m.s = freshState(m.pickles.length, at);
  m.pickles.push(m.s.info);
  try {
    loop(m);
    return true;
  } catch (err) {
    m.s.info.end = m.opStart;
    // The failing opcode crossed a frame end: the C Unpickler read it differently.
    if (r.crossed >= 0) reportCrossing(m);
    if (err instanceof AlreadyReported) return false;
    addFinding(m, failureFinding(m, err));
    return false;
  }
}

/** Opcode after opcode until STOP (returns) or a reason to stop (throws). */
function loop(m: Machine): void {
  const r = m.r;
  const s = m.s;
  const limits = m.limits;
  for (;;) {
    if (s.stack.length > limits.maxStackDepth || s.marks.length > limits.maxStackDepth) {
      throw limitHit('maxStackDepth', `stack deeper than ${limits.maxStackDepth} (maxStackDepth)`);
    }
    const start = r.pos;
    m.opStart = start;
    m.op = -1;
    if (start >= r.size) throw malformed('pickle data was truncated (no STOP)');
    const op = r.u8();
    m.op = op;
    if (++m.totalOpcodes > limits.maxOpcodes) {
      throw limitHit('maxOpcodes', `more than ${limits.maxOpcodes} opcodes (maxOpcodes)`);
    }
    s.info.opcodes++;
    if (op === STOP) {
      stop(m);
      return;
    }
    const nestedAt = step(m, op);
    if (nestedAt !== NO_NESTED_PICKLE) nestedPickle(m, nestedAt);
    if (r.crossed >= 0) reportCrossing(m);
  }
}

/** STOP: the top of the stack is the pickle's result. */
function stop(m: Machine): void {
  const s = m.s;
  const result = pop(s);
  noteValue(m, result);
  s.info.complete = true;
  s.info.end = m.r.pos;
  closeFrameAtStop(m);
  m.effects?.push({ k: 'result', pickleIndex: s.info.index, value: result });
}

/** A whole pickle read by the format's own `pickle.load` call: fresh memo, then back here. */
function nestedPickle(m: Machine, at: number): void {
  if (m.nestedDepth >= MAX_NESTED_PICKLES) {
    throw limitHit('maxNestingDepth', `pickles nested more than ${MAX_NESTED_PICKLES} deep (maxNestingDepth)`);
  }
  if (m.pickles.length >= m.limits.maxPicklesPerStream) {
    throw limitHit('maxPicklesPerStream', `more than ${m.limits.maxPicklesPerStream} pickles in one stream (maxPicklesPerStream)`);
  }
  const r = m.r;
  const outer = m.s;
  const outerFrameEnd = r.frameEnd;
  const outerStart = m.opStart;
  const outerOp = m.op;
  m.nestedDepth++;
  const ok = runOne(m, at);
  m.nestedDepth--;
  m.s = outer;
  m.opStart = outerStart;
  m.op = outerOp;
  reopenOuterFrame(r, outerFrameEnd);
  // The nested failure is already reported; stop the outer pickle without a second finding.
  if (!ok) throw new AlreadyReported();
}
