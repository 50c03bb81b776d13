/**
 * Every minimised fuzz finding in test/fixtures/fuzz/ (see docs/fuzzing.md): the loader
 * side is checked on the real bytes with stdlib python3 (the unpickler the loader uses
 * really imports the name), and the scanner must block the file. Cases the scanner does
 * not block yet are `todo` with the reason, so main stays green until the fix lands.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  reader: 'python' | 'c' | 'c_all';
  imports: string[];
  /** Why the scanner does not block it yet (the test still runs; remove once fixed). */
  todo?: string;
}

const FRAME_TODO =
  'src/pickle/machine/frames.ts frame(): a FRAME longer than the bytes left throws truncated before any import, ' +
  'reported as not-a-pickle (C unpickler reading); joblib.load reads with the pure-Python unpickler, which takes the short frame and runs it';

const FLOAT_TODO =
  'the machine reads FLOAT text as the C unpickler does and calls the failure not-a-pickle (src/pickle/machine/findings.ts failureFinding, ' +
  'src/pickle/text.ts parseTextFloat); joblib.load reads with the pure-Python unpickler, whose float() accepts whitespace and underscores';

const LEGACY_TODO =
  'src/formats/torch-legacy.ts: bytes after the storage-key list (and after the last storage) are neither scanned nor flagged; ' +
  'torch ignores them, a reader of pickle sequences (pickle.load until EOF) runs them';

const CASES: Case[] = [
  { file: 'legacy_tail_after_keys.pt', reader: 'c_all', imports: ['posix.system'], todo: LEGACY_TODO },
  { file: 'float_tab_first.pkl', reader: 'python', imports: ['posix.system'], todo: FLOAT_TODO },
  { file: 'float_underscore_first.joblib', reader: 'python', imports: ['posix.system'], todo: FLOAT_TODO },
  { file: 'frame_overdeclared_by_1.pkl', reader: 'python', imports: ['posix.system'], todo: FRAME_TODO },
  { file: 'frame_overdeclared_by_16m.joblib', reader: 'python', imports: ['posix.system'], todo: FRAME_TODO },
];

const READER_NAMES: Record<Case['reader'], string> = {
  python: 'the pure-Python unpickler',
  c: 'the C unpickler',
  c_all: 'pickle.load repeated until EOF',
};

function record(path: string): Record<Case['reader'], { imports: string[][]; error: string | null }> {
  const res = spawnSync('python3', [join(ROOT, 'test/fuzz/record_pure_python.py'), path], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout);
}

describe('fuzz regressions', () => {
  it('the committed fixtures are what scripts/fuzz/make_regressions.py writes', () => {
    const out = mkdtempSync(join(tmpdir(), 'pg-fuzz-'));
    try {
      const res = spawnSync('python3', [join(ROOT, 'scripts/fuzz/make_regressions.py'), out], { encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      for (const c of CASES) assert.deepEqual(readFileSync(join(out, c.file)), readFileSync(join(DIR, c.file)), c.file);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  for (const c of CASES) {
    it(`${c.file}: ${READER_NAMES[c.reader]} imports ${c.imports.join(', ')}`, () => {
      const got = record(join(DIR, c.file))[c.reader];
      assert.deepEqual(got.imports.map(([m, n]) => `${m}.${n}`), c.imports);
    });

    it(`${c.file}: blocked by the default and sklearn presets`, c.todo ? { todo: c.todo } : {}, () => {
      for (const preset of ['default', 'sklearn']) {
        const report = scanFile(join(DIR, c.file), { policy: presetPolicy(preset) });
        assert.equal(report.verdict, 'blocked', `${preset}: ${JSON.stringify(report.findings)}`);
      }
    });
  }
});
