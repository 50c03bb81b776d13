/**
 * The Node half of a fuzz case: seeds from the fixture folders, one reproducible mutant
 * per (seed, index), and the scanner's local judgement of it (no Python needed).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { presetPolicy } from '../../src/policy/index.js';
import type { Policy } from '../../src/policy/types.js';
import { scanFile, type ScanReport } from '../../src/scan/index.js';
import { selfInconsistent } from './compare.js';
import { makeRng, makeSeed, mutate, type Seed } from './mutate.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SEED_DIRS = ['test/fixtures/models', 'test/fixtures/bypasses'];
const SKIP_EXT = new Set(['.json', '.md', '.py', '.txt', '.yaml']);
const MAX_SEED_BYTES = 2 << 20;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []);
}

/** Every fixture file (sorted, so a seed number means the same case on every machine). */
export function loadSeeds(dirs: readonly string[] = SEED_DIRS): Seed[] {
  return dirs
    .flatMap((d) => walk(join(ROOT, d)))
    .filter((p) => !SKIP_EXT.has(extname(p)) && statSync(p).size <= MAX_SEED_BYTES)
    .sort()
    .map((p) => makeSeed(relative(ROOT, p), readFileSync(p)));
}

export const PRESETS = ['default', 'sklearn'] as const;
export type PresetName = (typeof PRESETS)[number];

export function loadPresets(): Record<PresetName, Policy> {
  return { default: presetPolicy('default'), sklearn: presetPolicy('sklearn') };
}

export interface CaseMutant {
  index: number;
  seed: string;
  steps: string[];
  bytes: Buffer;
  ext: string;
}

/** Case `index` of campaign `seed`: the same bytes on every run. */
export function makeCase(campaignSeed: number, index: number, seeds: readonly Seed[], donors: readonly Seed[] = seeds): CaseMutant {
  const rng = makeRng((Math.imul(campaignSeed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const seed = rng.pick(seeds);
  const m = mutate(rng, seed, donors);
  return { index, seed: seed.name, steps: m.steps, bytes: m.bytes, ext: extname(seed.name) || '.bin' };
}

export interface LocalJudgement {
  /** The first preset that allowed the file, with its report. */
  allowedBy?: { preset: PresetName; report: ScanReport };
  /** The scanner threw (a bug: every error path should be a finding). */
  threw?: string;
  /** `allowed` with a violation finding in the same report (a bug). */
  inconsistent?: PresetName;
}

/** Scans a written mutant with each preset. */
export function judgeLocally(path: string, policies: Record<PresetName, Policy>): LocalJudgement {
  const out: LocalJudgement = {};
  for (const preset of PRESETS) {
    let report: ScanReport;
    try {
      report = scanFile(path, { policy: policies[preset] });
    } catch (err) {
      out.threw = `${preset}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
      return out;
    }
    if (selfInconsistent(report)) out.inconsistent = preset;
    if (report.verdict === 'allowed' && !out.allowedBy) out.allowedBy = { preset, report };
  }
  return out;
}
