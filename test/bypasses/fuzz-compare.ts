/**
 * Scans the mutants written by `scripts/fixtures/bypasses_fuzz.py` and reports every one
 * the scanner allows although the real loader reaches something it should not (a research
 * tool, not a test: `npx tsx test/bypasses/fuzz-compare.ts OUTDIR/cases.json`).
 *   pickle mode: CPython asked for a global the report does not list, or for anything
 *                outside the default preset, or (joblib mode) the loader crashed, while
 *                the verdict is `allowed`;
 *   container mode (zip, npy): the loader's reader sees the evil pickle, and the verdict is `allowed`.
 */
import { readFileSync } from 'node:fs';
import { presetPolicy } from '../../src/policy/index.js';
import { scanFile } from '../../src/scan/index.js';

interface PickleCase { path: string; imports: string[][]; crashed?: boolean }
interface ZipCase { path: string; evil_for: string[] }

const policy = presetPolicy('default');
const { mode, cases } = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { mode: 'pickle' | 'container'; cases: Array<PickleCase | ZipCase> };
let bad = 0;
for (const c of cases) {
  const report = scanFile(c.path, { policy });
  if (mode === 'container') {
    if (report.verdict === 'allowed') {
      bad++;
      console.log(`ALLOWED ${c.path}: the evil pickle is read by ${(c as ZipCase).evil_for.join(', ')}`);
    }
    continue;
  }
  const listed = new Set(report.globals.flatMap((g) => [`${g.module}.${g.name}`, ...(g.written ? [`${g.written.module}.${g.written.name}`] : [])]));
  const imports = (c as PickleCase).imports.map(([m, n]) => `${m}.${n}`);
  const unlisted = imports.filter((i) => !listed.has(i));
  const judged = new Map(report.globals.map((g) => [`${g.module}.${g.name}`, g.allowed]));
  const disallowed = imports.filter((i) => judged.get(i) === false);
  const crashed = (c as PickleCase).crashed === true;
  if (report.verdict === 'allowed' && (unlisted.length > 0 || disallowed.length > 0 || crashed)) {
    bad++;
    console.log(`ALLOWED ${c.path}: ${crashed ? 'the loader crashed; ' : ''}CPython imported ${imports.join(', ')}`);
  }
}
console.log(`${mode}: ${cases.length} mutants, ${bad} allowed although the loader reached something it should not`);
process.exitCode = bad > 0 ? 1 : 0;
