/**
 * Places where the C unpickler (pickle.load, torch.load, numpy.load) raises but the
 * pure-Python one (`pickle._Unpickler`, which joblib.load uses for every file,
 * compressed or not) goes on. The machine follows the C reading everywhere else; here a C failure
 * before any import would be "not a pickle", yet the pure-Python reading may import and
 * call anything after it. So each such place is a violation naming the disagreement, and
 * the pickle is read on as the pure-Python unpickler reads it, so the report lists what
 * it would import.
 */
import type { Value } from '../types.js';
import type { Machine } from './context.js';
import { decodeAscii, decodeUtf8 } from '../text.js';
import { nameLine, textFloatReadings, textMemoIndex } from './args.js';
import { addImport } from './imports.js';
import { limitHit, malformed } from './errors.js';
import { flag } from './findings.js';
import { memoGet, memoPut, top } from './state.js';

const JOBLIB = 'and joblib.load reads every file, compressed or not, with the pure-Python unpickler';

/** Index past which a C memo certainly cannot hold a PUT (its array would need petabytes). */
const C_MEMO_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The C reading stops here, the pure-Python one does not: a `malformed` finding (in
 * the given finding code's place), and from here on failures are not "not a pickle".
 */
export function pureOnly(m: Machine, message: string, code: 'malformed' | 'frame-violation' = 'malformed'): void {
  flag(m, code, message);
  if (m.s.pureFrom < 0) m.s.pureFrom = m.opStart;
}

/** FLOAT: C `PyOS_string_to_double`, or pure-Python `float()` where only it accepts. */
export function floatArg(m: Machine): Value {
  const { line, c, py } = textFloatReadings(m.r);
  if (c !== null) return { k: 'float', v: c };
  const shown = JSON.stringify(line.slice(0, 40));
  if (py === null) throw malformed(`could not convert string to float: ${shown}`);
  pureOnly(m, `the C unpickler refuses FLOAT ${shown} but pure-Python float() accepts it, ${JOBLIB}; read on as the pure-Python unpickler reads`);
  return { k: 'float', v: py };
}

/** PUT: negative is refused by both; an index no C memo can hold is a pure-Python dict key. */
export function putText(m: Machine): void {
  const s = m.s;
  const v = textMemoIndex(m.r, 'PUT');
  if (v < 0n) throw malformed('negative PUT argument');
  if (v <= C_MEMO_MAX) return memoPut(s, Number(v), m.limits.maxMemoEntries);
  pureOnly(m, `the C unpickler cannot hold PUT index ${v} in its memo (it raises), but the pure-Python memo is a dict, ${JOBLIB}; read on as the pure-Python unpickler reads`);
  const value = top(s);
  s.memoHuge ??= new Map();
  const key = v.toString();
  if (!s.memoHuge.has(key)) s.memoCount++;
  s.memoHuge.set(key, value);
  const max = m.limits.maxMemoEntries;
  if (s.memoCount > max) throw limitHit('maxMemoEntries', `more than ${max} memo entries (maxMemoEntries)`);
}

/** GET: a huge index is found only where a pure-Python PUT stored it (already flagged). */
export function getText(m: Machine): Value {
  const s = m.s;
  const v = textMemoIndex(m.r, 'GET');
  if (v >= 0n && v <= C_MEMO_MAX) return memoGet(s, Number(v));
  const found = s.memoHuge?.get(v.toString());
  if (found === undefined) throw malformed(`Memo value not found at index ${v}`);
  return found;
}

/**
 * GLOBAL/INST name lines. The C unpickler raises on a line with no newline before the end
 * of the data; the pure-Python one takes what is left as the line and cuts its last byte
 * (`readline()[:-1]`; nothing left is ''), then calls find_class, which imports the module
 * before anything else can fail. Such an import is listed (`pureOnly`), then the pickle
 * stops where C stops.
 */
export function nameLines(m: Machine, ascii: boolean, what: 'GLOBAL' | 'INST', opcode: 'GLOBAL' | 'INST'): [string, string] {
  const r = m.r;
  const at = r.pos;
  const frameEnd = r.frameEnd;
  const kind = what === 'GLOBAL' ? ['GLOBAL module name', 'GLOBAL name'] : ['INST module name', 'INST class name'];
  try {
    return [nameLine(r, ascii, kind[0]!), nameLine(r, ascii, kind[1]!)];
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('pickle data was truncated (no end of line')) {
      partialNames(m, at, frameEnd, ascii, opcode);
    }
    throw err;
  }
}

/**
 * The two lines as `pickle._Unpickler.readline` reads them from `at`: inside an open frame
 * a line must end in the frame (else it raises: null); at or past the frame's end, or with
 * none, it reads the file, where the last line may be cut off by the end.
 */
function pureLines(rest: Uint8Array, at: number, frameEnd: number): [Uint8Array, Uint8Array] | null {
  const lines: Uint8Array[] = [];
  let pos = 0;
  for (let k = 0; k < 2; k++) {
    const inFrame = frameEnd > at + pos;
    const limit = inFrame ? frameEnd - at : rest.length;
    const nl = rest.subarray(pos, limit).indexOf(0x0a);
    if (nl >= 0) {
      lines.push(rest.subarray(pos, pos + nl));
      pos += nl + 1;
    } else if (inFrame) {
      return null; // "pickle exhausted before end of frame"
    } else {
      lines.push(rest.subarray(pos, Math.max(pos, rest.length - 1)));
      pos = rest.length;
    }
  }
  return [lines[0]!, lines[1]!];
}

function partialNames(m: Machine, at: number, frameEnd: number, ascii: boolean, opcode: 'GLOBAL' | 'INST'): void {
  // Bounded: the reader found no newline in these bytes, so they are shorter than its line cap.
  const rest = m.source.read(at, m.r.size - at);
  m.r.invalidate();
  const lines = pureLines(rest, at, frameEnd);
  if (!lines) return;
  const decode = (b: Uint8Array): string | null => (ascii ? decodeAscii(b, 0, b.length) : decodeUtf8(b, 0, b.length, false));
  const module = decode(lines[0]);
  const name = decode(lines[1]);
  // Undecodable text or an empty module name raise before any import there too.
  if (module === null || name === null || module === '') return;
  pureOnly(m, `${opcode} line cut off by the end of the data: the C unpickler raises, the pure-Python unpickler (which joblib.load uses for every file) takes the rest less its last byte and imports ${module}${name ? `.${name}` : ''} (find_class imports the module first); read on as the pure-Python unpickler reads`);
  addImport(m, module, name, opcode);
}
