/**
 * Shrinks a disagreement (research tool, not a test):
 *
 *   npx tsx scripts/fuzz/minimize.ts FILE LOADER OUT [--rounds 40]
 *
 * Keeps a candidate while the scanner still ALLOWS it (default or sklearn preset) and
 * LOADER still imports a name the report does not list. Each round builds every
 * candidate of the current size class (drop a chunk of bytes, halving the chunk size
 * when nothing shrinks), runs them through loader_diff.py in one batch, and keeps the
 * smallest survivor.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { judgeLocally, loadPresets, ROOT } from './campaign.js';
import { disagreements, type LoaderRow } from './compare.js';

const [file, loader, out, ...rest] = process.argv.slice(2);
if (!file || !loader || !out) throw new Error('usage: minimize.ts FILE LOADER OUT [--rounds N]');
const rounds = rest[0] === '--rounds' ? Number(rest[1]) : 40;
const policies = loadPresets();
const work = `/tmp/pg-minimize-${process.pid}`;
mkdirSync(work, { recursive: true });
const ext = extname(file) || '.bin';

function harness(paths: string[]): LoaderRow[] {
  const res = spawnSync('/usr/bin/python3', [join(ROOT, 'scripts/fuzz/loader_diff.py'), '--timeout', '8', '--loaders', loader!, '--stdin'], {
    input: paths.join('\n'), encoding: 'utf8', maxBuffer: 256 << 20,
  });
  return res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LoaderRow);
}

/** Candidates the scanner allows, written to disk, with their reports. */
function allowedCandidates(cands: Buffer[]): Array<{ path: string; bytes: Buffer; report: NonNullable<ReturnType<typeof judgeLocally>['allowedBy']>['report'] }> {
  const outList = [];
  for (const [i, bytes] of cands.entries()) {
    const path = join(work, `c${i}${ext}`);
    writeFileSync(path, bytes);
    const j = judgeLocally(path, policies);
    if (j.allowedBy) outList.push({ path, bytes, report: j.allowedBy.report });
  }
  return outList;
}

let best = readFileSync(file);
let chunk = Math.max(1, best.length >> 1);
for (let r = 0; r < rounds && chunk >= 1; r++) {
  const cands: Buffer[] = [];
  for (let at = 0; at < best.length; at += chunk) cands.push(Buffer.concat([best.subarray(0, at), best.subarray(at + chunk)]));
  const allowed = allowedCandidates(cands);
  const rows = allowed.length ? harness(allowed.map((a) => a.path)) : [];
  const survivors = allowed.filter((a) => disagreements(a.report, rows.filter((row) => row.file === a.path)).length > 0);
  survivors.sort((a, b) => a.bytes.length - b.bytes.length);
  const win = survivors[0];
  if (win) best = Buffer.from(win.bytes);
  else chunk >>= 1;
  console.log(`round ${r}: chunk ${chunk}, ${cands.length} candidates, ${allowed.length} allowed, ${survivors.length} disagree, size ${best.length}`);
}
writeFileSync(out, best);
rmSync(work, { recursive: true, force: true });
console.log(`wrote ${out} (${best.length} bytes)`);
