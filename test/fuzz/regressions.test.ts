/**
 * Every minimised fuzz finding in test/fixtures/fuzz/ (see docs/fuzzing.md): the loader
 * side is checked on the real bytes with stdlib python3 (the unpickler the loader uses
 * really imports the name), and the scanner must block the file. Cases the scanner does
 * not block yet are `todo` with the reason, so main stays green until the fix lands.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { presetPolicy } from '../../src/policy/index.js';
import { scanFile } from '../../src/scan/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'test/fixtures/fuzz');

interface Case {
  file: string;
  /**
   * Which stdlib reading stands for the loader: `python` = pickle._Unpickler (joblib.load),
   * `c` = one pickle.load, `c_all` = pickle.load repeated until EOF.
   */
  reader?: 'python' | 'c' | 'c_all';
  /** Not an import: the loader itself misbehaves (checked by NUMPY_CHECK when NumPy is there). */
  numpy?: string;
  imports: string[];
  /** Why the scanner does not block it yet (the test still runs; remove once fixed). */
  todo?: string;
}




// Fixed at HEAD: frame and FLOAT in 7a02b71 (pure-Python reading where only it goes on),
// the legacy tail in 14e32fc; these are hard tests now.
const CASES: Case[] = [
  // the fuzzer's own mutant (seed 61, case 31267: one flipped byte of models/numpy/structured_object.npy)
  { file: 'numpy_structured_object_shape_flip.npy', imports: [], numpy: 'segfault' },
  { file: 'numpy_object_array_shape_past_list.pkl', imports: [], numpy: 'reads past the list' },
  { file: 'legacy_tail_after_keys.pt', reader: 'c_all', imports: ['posix.system'] },
  { file: 'float_tab_first.pkl', reader: 'python', imports: ['posix.system'] },
  { file: 'float_underscore_first.joblib', reader: 'python', imports: ['posix.system'] },
  { file: 'frame_overdeclared_by_1.pkl', reader: 'python', imports: ['posix.system'] },
  { file: 'frame_overdeclared_by_16m.joblib', reader: 'python', imports: ['posix.system'] },
];

const READER_NAMES: Record<NonNullable<Case['reader']>, string> = {
  python: 'the pure-Python unpickler',
  c: 'the C unpickler',
  c_all: 'pickle.load repeated until EOF',
};

function record(path: string): Record<NonNullable<Case['reader']>, { imports: string[][]; error: string | null }> {
  const res = spawnSync('python3', [join(ROOT, 'test/fuzz/record_pure_python.py'), path], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout);
}

const HAS_NUMPY = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
// Loads the file with NumPy only (numpy globals resolve, nothing else) and says whether the
// object array holds an item the pickled list did not (the slot past the list).
const NUMPY_CHECK = [
  'import sys, numpy as np',
  'p = sys.argv[1]',
  'a = np.load(p, allow_pickle=True)',
  "items = list(a.ravel()) if a.dtype.names is None else [x for r in a.ravel() for x in r.tolist()]",
  "print('past-list' if any(x not in (None, 'x') and not isinstance(x, int) for x in items) else 'ok')",
].join('\n');

describe('fuzz regressions', () => {
  it('the committed fixtures are what scripts/fuzz/make_regressions.py writes', () => {
    const out = mkdtempSync(join(tmpdir(), 'pg-fuzz-'));
    try {
      const res = spawnSync('python3', [join(ROOT, 'scripts/fuzz/make_regressions.py'), out], { encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      const written = readdirSync(out);
      assert.ok(written.length >= 6, written.join(','));
      for (const f of written) assert.deepEqual(readFileSync(join(out, f)), readFileSync(join(DIR, f)), f);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  for (const c of CASES) {
    const reader = c.reader;
    if (reader) {
      it(`${c.file}: ${READER_NAMES[reader]} imports ${c.imports.join(', ')}`, () => {
        const got = record(join(DIR, c.file))[reader];
        assert.deepEqual(got.imports.map(([m, n]) => `${m}.${n}`), c.imports);
      });
    }
    if (c.numpy) {
      it(`${c.file}: NumPy misbehaves loading it (${c.numpy})`, HAS_NUMPY ? {} : { skip: 'needs /usr/bin/python3 with NumPy' }, () => {
        const res = spawnSync('/usr/bin/python3', ['-c', NUMPY_CHECK, join(DIR, c.file)], { encoding: 'utf8' });
        // a crash (signal) or an array holding an object the list did not have
        assert.ok(res.signal !== null || res.stdout.trim() === 'past-list', `${res.status} ${res.signal} ${res.stdout} ${res.stderr}`);
      });
    }

    it(`${c.file}: blocked by the default and sklearn presets`, c.todo ? { todo: c.todo } : {}, () => {
      for (const preset of ['default', 'sklearn']) {
        const report = scanFile(join(DIR, c.file), { policy: presetPolicy(preset) });
        assert.equal(report.verdict, 'blocked', `${preset}: ${JSON.stringify(report.findings)}`);
      }
    });
  }
});
