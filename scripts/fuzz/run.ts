/**
 * Loader-differential fuzzing campaign (research tool, not a test):
 *
 *   npx tsx scripts/fuzz/run.ts [--seconds 300] [--seed 1] [--out DIR] [--batch 48] [--no-python]
 *                               [--seeds torch/,.npz] [--skip-known] [--only I]
 *
 * Mutates the fixtures in test/fixtures/models and test/fixtures/bypasses, scans each
 * mutant with the default and sklearn presets, and sends every mutant some preset ALLOWS
 * to scripts/fuzz/loader_diff.py (torch 1.13 / joblib / numpy / pickle, under
 * /usr/bin/python3). A DISAGREEMENT is an allowed mutant for which a real loader imported
 * a name the report does not list. Disagreements (and scanner throws or self-inconsistent
 * reports) are kept in OUT/keep/ with OUT/findings.jsonl; everything else is deleted.
 * Seeded: case i of seed s is the same bytes on every run (`--only i` re-makes one).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeLocally, loadPresets, loadSeeds, makeCase, ROOT, type LocalJudgement } from './campaign.js';
import { disagreements, type LoaderRow } from './compare.js';
import type { ScanReport } from '../../src/scan/index.js';

interface Options {
  seconds: number;
  seed: number;
  out: string;
  batch: number;
  python: boolean;
  only?: number;
  /** Substrings: only seeds whose path contains one of them. */
  seedFilter: string[];
  /** Do not send mutants whose report already shows a known, committed root cause. */
  skipKnown: boolean;
}

/** Root causes already minimised in test/fixtures/fuzz (docs/fuzzing.md): more of them teach nothing. */
const KNOWN: RegExp[] = [/not a pickle: pickle data was truncated \(FRAME declares/, /not a pickle: could not convert string to float/];

function isKnown(report: ScanReport): boolean {
  return report.findings.some((f) => KNOWN.some((k) => k.test(f.message)));
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 60, seed: 1, out: '', batch: 48, python: true, seedFilter: [], skipKnown: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = (): string => argv[++i] ?? '';
    if (a === '--seconds') o.seconds = Number(v());
    else if (a === '--seed') o.seed = Number(v());
    else if (a === '--out') o.out = v();
    else if (a === '--batch') o.batch = Number(v());
    else if (a === '--no-python') o.python = false;
    else if (a === '--only') o.only = Number(v());
    else if (a === '--seeds') o.seedFilter = v().split(',');
    else if (a === '--skip-known') o.skipKnown = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.out) o.out = `/tmp/pg-fuzz-${o.seed}`;
  return o;
}

interface Pending {
  path: string;
  index: number;
  seed: string;
  steps: string[];
  judged: LocalJudgement;
}

const stats = {
  cases: 0, allowed: 0, threw: 0, inconsistent: 0, disagreements: 0, crashes: 0,
  loaders: {} as Record<string, Record<string, number>>,
};

function record(o: Options, entry: object): void {
  appendFileSync(join(o.out, 'findings.jsonl'), `${JSON.stringify(entry)}\n`);
}

function keep(o: Options, p: Pending): string {
  const dest = join(o.out, 'keep', p.path.split('/').pop()!);
  renameSync(p.path, dest);
  return dest;
}

function runHarness(paths: string[]): LoaderRow[] {
  const res = spawnSync('/usr/bin/python3', [join(ROOT, 'scripts/fuzz/loader_diff.py'), '--timeout', '8', '--stdin'], {
    input: paths.join('\n'), encoding: 'utf8', maxBuffer: 256 << 20, timeout: 60_000 + paths.length * 40_000,
  });
  if (res.status !== 0) process.stderr.write(`harness exit ${res.status}: ${res.stderr.slice(-2000)}\n`);
  return res.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LoaderRow);
}

/** Groups disagreements by likely root cause: which loaders, and the report's findings with numbers blanked. */
function signature(report: ScanReport, found: readonly { loader: string }[]): string {
  const loaders = found.map((d) => d.loader).sort().join(',');
  const findings = report.findings.map((f) => `${f.code}:${f.message.replace(/\d+/g, 'N').slice(0, 80)}`).join(' | ');
  return `${loaders} :: ${report.format} :: ${findings}`;
}

const signatures: Record<string, number> = {};

function flush(o: Options, batch: Pending[]): void {
  if (batch.length === 0) return;
  const rows = runHarness(batch.map((p) => p.path));
  for (const p of batch) {
    const mine = rows.filter((r) => r.file === p.path);
    for (const r of mine) {
      const per = (stats.loaders[r.loader] ??= {});
      per[r.status] = (per[r.status] ?? 0) + 1;
    }
    const report = p.judged.allowedBy!.report;
    const found = disagreements(report, mine);
    if (found.length > 0) {
      stats.disagreements++;
      const sig = signature(report, found);
      const seen = (signatures[sig] = (signatures[sig] ?? 0) + 1);
      if (seen > 3) {
        rmSync(p.path, { force: true });
        continue;
      }
      const kept = keep(o, p);
      record(o, { kind: 'disagreement', signature: sig, file: kept, index: p.index, seed: p.seed, steps: p.steps, preset: p.judged.allowedBy!.preset, found, listed: report.globals.map((g) => `${g.module}.${g.name}`), rows: mine });
      console.log(`DISAGREEMENT case ${p.index} (${p.seed} ${p.steps.join('+')}): ${found.map((d) => `${d.loader} imported ${d.unlisted.join(', ')}`).join('; ')}`);
    } else if (mine.some((r) => r.status === 'crash') && stats.crashes++ < 5) {
      // a loader process dying on a file the scanner allows (native crash, not a Python error)
      const kept = keep(o, p);
      record(o, { kind: 'loader-crash', file: kept, index: p.index, seed: p.seed, steps: p.steps, preset: p.judged.allowedBy!.preset, rows: mine });
      console.log(`LOADER CRASH case ${p.index} (${p.seed} ${p.steps.join('+')}): ${mine.filter((r) => r.status === 'crash').map((r) => `${r.loader}: ${r.error}`).join('; ')}`);
    } else {
      rmSync(p.path, { force: true });
    }
  }
  batch.length = 0;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(join(o.out, 'keep'), { recursive: true });
  mkdirSync(join(o.out, 'tmp'), { recursive: true });
  const all = loadSeeds();
  const seeds = o.seedFilter.length ? all.filter((s) => o.seedFilter.some((f) => s.name.includes(f))) : all;
  if (seeds.length === 0) throw new Error('no seed matches --seeds');
  const policies = loadPresets();
  const deadline = Date.now() + o.seconds * 1000;
  const batch: Pending[] = [];
  const first = o.only ?? 0;
  for (let index = first; o.only === undefined ? Date.now() < deadline : index === first; index++) {
    const c = makeCase(o.seed, index, seeds, all);
    const path = join(o.out, 'tmp', `s${o.seed}-c${index}${c.ext}`);
    writeFileSync(path, c.bytes);
    stats.cases++;
    const judged = judgeLocally(path, policies);
    const p: Pending = { path, index, seed: c.seed, steps: c.steps, judged };
    if (judged.threw || judged.inconsistent) {
      if (judged.threw) stats.threw++;
      if (judged.inconsistent) stats.inconsistent++;
      const kept = keep(o, p);
      record(o, { kind: judged.threw ? 'threw' : 'inconsistent', file: kept, index, seed: c.seed, steps: c.steps, detail: judged.threw ?? judged.inconsistent });
      console.log(`SCANNER BUG case ${index}: ${judged.threw ?? `allowed with a violation under ${judged.inconsistent}`}`);
      continue;
    }
    if (!judged.allowedBy || !o.python || (o.skipKnown && isKnown(judged.allowedBy.report))) {
      rmSync(path, { force: true });
      if (judged.allowedBy) stats.allowed++;
      continue;
    }
    stats.allowed++;
    batch.push(p);
    if (batch.length >= o.batch) flush(o, batch);
  }
  flush(o, batch);
  console.log(JSON.stringify({ seed: o.seed, ...stats, signatures }, null, 1));
}

main();
