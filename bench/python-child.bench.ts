/**
 * Cost of Python-side enforcement, guarded child vs the same child without the bootstrap:
 * interpreter start-up, find_class-heavy pickles (every GLOBAL is a check), plain data
 * pickles (no globals), and torch.load of a real checkpoint when Debian's torch is there.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchContext } from './run.js';
import { preparePythonChild } from '../src/guard/python/index.js';
import { loadPolicyFile } from '../src/policy/index.js';
import { writeFileSync } from 'node:fs';

const TIMING = `
import json, pickle, sys, time
def best(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return min(times)
globals_ = b"\\x80\\x02(" + b"ccollections\\nOrderedDict\\n" * GLOBALS + b"l."
data = pickle.dumps({str(i): [i, float(i), "x" * 10] for i in range(ITEMS)}, protocol=4)
out = {
    "find_class x%d (C)" % GLOBALS: best(lambda: pickle.loads(globals_), REPEAT),
    "find_class x%d (pure Python)" % GLOBALS: best(lambda: pickle._loads(globals_), REPEAT),
    "plain data, %d items (C)" % ITEMS: best(lambda: pickle.loads(data), REPEAT),
}
if len(sys.argv) > 1:
    import torch
    out["torch.load checkpoint.pt"] = best(lambda: torch.load(sys.argv[1], weights_only=False), REPEAT)
print(json.dumps(out))
`;

function run(python: string, code: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(python, ['-c', code, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${python} failed: ${r.stderr}`);
  return r.stdout;
}

function startup(python: string, env: NodeJS.ProcessEnv, n: number): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    run(python, 'pass', [], env);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return best;
}

export default async function bench(ctx: BenchContext): Promise<void> {
  const policyFile = join(ctx.dataDir, 'python-child.policy.yaml');
  writeFileSync(policyFile, 'version: 1\nextends: [pytorch, numpy, python-data]\n');
  const policy = loadPolicyFile(policyFile);
  const root = new URL('..', import.meta.url).pathname;
  const checkpoint = join(root, 'test/fixtures/models/torch/checkpoint.pt');
  const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  const python = hasTorch ? '/usr/bin/python3' : 'python3';
  const code = TIMING.replaceAll('GLOBALS', ctx.quick ? '2000' : '20000')
    .replaceAll('ITEMS', ctx.quick ? '2000' : '50000')
    .replaceAll('REPEAT', ctx.quick ? '3' : '7');
  const args = hasTorch ? [checkpoint] : [];

  const guarded = preparePythonChild({ env: process.env, policy });
  const base = JSON.parse(run(python, code, args, process.env)) as Record<string, number>;
  const withGuard = JSON.parse(run(python, code, args, guarded.env)) as Record<string, number>;
  const n = ctx.quick ? 3 : 10;
  const startBase = startup(python, process.env, n);
  const startGuard = startup(python, guarded.env, n);
  const violations = guarded.afterExit();
  if (violations.length > 0) throw new Error(`benchmark inputs were refused: ${JSON.stringify(violations[0])}`);

  console.log(`${python}${hasTorch ? '' : ' (no torch: torch.load skipped)'}; best of runs, ms`);
  console.log('case'.padEnd(34), 'baseline'.padStart(10), 'guarded'.padStart(10), 'ratio'.padStart(7));
  const row = (name: string, a: number, b: number) =>
    console.log(name.padEnd(34), a.toFixed(2).padStart(10), b.toFixed(2).padStart(10), `${(b / a).toFixed(2)}x`.padStart(7));
  row('interpreter start-up', startBase, startGuard);
  for (const key of Object.keys(base)) row(key, base[key]! * 1000, withGuard[key]! * 1000);
}
