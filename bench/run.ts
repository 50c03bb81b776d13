/**
 * `npm run bench`: runs every bench/*.bench.ts (or those whose name contains an argument).
 * Each bench file default-exports `async (ctx) => void` and prints its own figures,
 * always as ratios against a baseline run side by side, never as pass/fail timings.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdirSync } from 'node:fs';

export interface BenchContext {
  /** Scratch folder for generated data (git-ignored). */
  dataDir: string;
  /** Quick mode (BENCH_QUICK=1): smaller inputs, for a smoke run. */
  quick: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const ctx: BenchContext = { dataDir: join(here, '.data'), quick: process.env.BENCH_QUICK === '1' };
mkdirSync(ctx.dataDir, { recursive: true });

for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: (c: BenchContext) => Promise<void> };
  await mod.default(ctx);
}
if (files.length === 0) console.log('no benchmarks matched');
