/**
 * Differential test: the scanner's imports must equal what CPython's C Unpickler asks
 * find_class for, in order, on every fixture and on thousands of seeded random streams.
 * Needs only stdlib `python3`. Python runs once per batch.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCase, mutatedCase } from './random-pickles.js';
import { isViolation } from '../../src/findings.js';
import { oracle, scan } from './helpers.js';
import type { PickleStreamAnalysis } from '../../src/pickle/types.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const FIXTURES = join(here, '..', 'fixtures', 'pickles');
const RANDOM_CASES = Number(process.env.PICKLE_DIFF_CASES ?? 4000);

/** Imports as find_class sees them: origin `import`, names as written. */
function ours(a: PickleStreamAnalysis): Array<[string, string]> {
  return a.imports.filter((i) => i.origin === 'import').map((i) => [i.written.module, i.written.name]);
}

function stopped(a: PickleStreamAnalysis): boolean {
  return a.findings.some((f) => f.code === 'malformed' || f.code === 'not-a-pickle' || f.code === 'limit') ||
    a.findings.some((f) => f.code === 'dynamic-global') && a.pickles.some((p) => !p.complete);
}

let framesCompared = 0;

/** The machine read past a place where only the pure-Python unpickler goes on (`lenient.ts`). */
function readAsPurePython(a: PickleStreamAnalysis): boolean {
  return a.findings.some((f) => f.message.includes('read on as the pure-Python unpickler reads'));
}

let pureCompared = 0;

/**
 * Streams read past a C failure, compared with the pure-Python unpickler: the C imports
 * come first, and the pure-Python reading imports nothing we did not report (it may stop
 * earlier: elsewhere the machine still reads as C does, which goes on where it fails).
 */
function comparePure(label: string, streams: Uint8Array[], cImports: Array<Array<[string, string]>>): void {
  if (streams.length === 0) return;
  const pure = oracle(streams, 'python');
  streams.forEach((bytes, i) => {
    const got = ours(scan(bytes));
    const where = `${label} (${Buffer.from(bytes).toString('hex')})`;
    assert.deepEqual(got.slice(0, cImports[i]!.length), cImports[i], `C imports first for ${where}`);
    // find_class('', name) (a GLOBAL read at the very end: empty lines) raises "Empty
    // module name" before importing anything; the recording oracle still logs it.
    const real = pure[i]!.imports.filter(([mod]) => mod !== '');
    assert.deepEqual(got.slice(0, real.length), real, `pure-Python imports differ for ${where}; its error: ${pure[i]!.error}`);
    pureCompared++;
  });
}

function compare(label: string, streams: Uint8Array[]): number {
  const expected = oracle(streams);
  assert.equal(expected.length, streams.length);
  let errors = 0;
  const lenient: Uint8Array[] = [];
  const lenientC: Array<Array<[string, string]>> = [];
  streams.forEach((bytes, i) => {
    const a = scan(bytes);
    const exp = expected[i]!;
    const where = `${label} #${i} (${Buffer.from(bytes).toString('hex')})`;
    if (readAsPurePython(a)) {
      assert.ok(exp.error, `the C unpickler raised for ${where}`);
      lenient.push(bytes);
      lenientC.push(exp.imports);
      errors++;
      return;
    }
    // An opcode crossing a frame end is read as the oracle's C Unpickler on io.BytesIO
    // reads it (the frame's unread rest dropped), so CPython's imports must be ours too.
    // What follows the crossing is garbage the generator did not shape: runtime errors
    // the symbolic machine does not model (APPEND onto an int, a MemoryError from a huge
    // memo index) may stop CPython earlier, so there its imports need only be a prefix
    // of ours (we report more, never less) and stop/continue is not compared.
    const crossing = a.findings.some((f) => f.code === 'frame-violation' && f.opcode !== 'STOP' && f.opcode !== 'FRAME');
    if (crossing) {
      const got = ours(a);
      assert.deepEqual(exp.error ? got.slice(0, exp.imports.length) : got, exp.imports, `imports differ after a frame crossing for ${where}; CPython error: ${exp.error}`);
      framesCompared++;
      return;
    }
    assert.deepEqual(ours(a), exp.imports, `imports differ for ${where}; CPython error: ${exp.error}`);
    assert.equal(stopped(a), exp.error !== null, `stop/continue differs for ${where}; CPython error: ${exp.error}; ours: ${JSON.stringify(a.findings)}`);
    if (exp.error) errors++;
  });
  comparePure(label, lenient, lenientC);
  return errors;
}

describe('differential against CPython', () => {
  it('agrees on every committed fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.pkl')).sort();
    assert.ok(files.length >= 12, 'fixtures present');
    const errors = compare('fixture', files.map((f) => readFileSync(join(FIXTURES, f))));
    console.log(`differential: ${files.length} fixtures compared (${errors} where CPython raised)`);
  });

  it(`agrees on ${RANDOM_CASES} seeded random streams`, () => {
    const cases = Array.from({ length: RANDOM_CASES }, (_, i) => generateCase(i + 1).bytes);
    let errors = 0;
    for (let start = 0; start < cases.length; start += 1000) errors += compare('random seed', cases.slice(start, start + 1000));
    const imports = cases.reduce((n, b) => n + ours(scan(b)).length, 0);
    console.log(`differential: ${cases.length} random streams compared, ${imports} imports, ${errors} where CPython raised, ${framesCompared} with an opcode crossing a frame end, ${pureCompared} read on past a C failure as the pure-Python unpickler reads`);
    assert.ok(errors > RANDOM_CASES / 20, 'the generator exercises error paths');
    assert.ok(imports > RANDOM_CASES, 'the generator exercises imports');
  });

  it('is sound on randomly mutated streams: with no violation, neither the C nor the pure-Python unpickler imports anything we did not report', () => {
    const cases = Array.from({ length: RANDOM_CASES / 2 }, (_, i) => mutatedCase(100_000 + i).bytes);
    let clean = 0;
    for (let start = 0; start < cases.length; start += 1000) {
      const batch = cases.slice(start, start + 1000);
      const expected = oracle(batch);
      const pure = oracle(batch, 'python');
      batch.forEach((bytes, i) => {
        const a = scan(bytes);
        if (a.findings.some((f) => isViolation(f.code))) return; // blocked anyway
        clean++;
        const hex = Buffer.from(bytes).toString('hex');
        // Either may stop early on a runtime error we do not model; neither imports more.
        // find_class('' ...) raises before importing anything (see comparePure).
        for (const [who, theirs] of [['C', expected[i]!.imports], ['pure-Python', pure[i]!.imports.filter(([mod]) => mod !== '')]] as const) {
          assert.deepEqual(ours(a).slice(0, theirs.length), theirs, `unsound (${who}) on ${hex}`);
        }
      });
    }
    console.log(`differential: ${cases.length} mutated streams, ${clean} without violations checked for soundness`);
    assert.ok(clean > cases.length / 5);
  });
});
