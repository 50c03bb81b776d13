/**
 * Overhead of the installed guard, measured side by side with no guard in the same
 * process: rounds alternate uninstalled / installed, and the median of each is compared.
 * Prints ratios (guarded / unguarded); nothing here passes or fails.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './run.js';
import { install, uninstall } from '../src/guard/install.js';
import type { Policy } from '../src/policy/types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/**
 * Runs `op` `n` times per round, alternating unguarded and guarded rounds. Returns per-op
 * medians in µs of this process's CPU time (user + system, all its threads): on a shared
 * machine wall time mostly measures the other tenants. `wall` measures wall time instead,
 * for work done in a child process (spawnSync).
 */
async function sideBySide(rounds: number, n: number, op: () => unknown | Promise<unknown>, policy: string | Policy, wall = false, warm = true) {
  const now = () => {
    if (wall) return performance.now() * 1000;
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  const plain: number[] = [];
  const guarded: number[] = [];
  // Four leading rounds (two of each) are discarded: they pay for the JIT, not the guard.
  for (let r = -4; r < rounds; r++) {
    for (const on of r % 2 === 0 ? [false, true] : [true, false]) {
      if (on) install({ policy, children: false });
      else uninstall();
      // Warm up: the first guarded read of a model scans it, later ones use the cache. Without
      // it (warm = false) every round starts from a freshly installed policy: first reads.
      if (warm) await op();
      const t0 = now();
      for (let i = 0; i < n; i++) await op();
      const per = (now() - t0) / n;
      if (r >= 0) (on ? guarded : plain).push(per);
    }
  }
  uninstall();
  return { plain: median(plain), guarded: median(guarded) };
}

function line(name: string, m: { plain: number; guarded: number }): void {
  const ratio = m.guarded / m.plain;
  const sign = ratio >= 1 ? '+' : '';
  console.log(
    `${name.padEnd(52)} ratio ${ratio.toFixed(3)} (${sign}${((ratio - 1) * 100).toFixed(1)}%)   no guard ${m.plain.toFixed(1).padStart(8)} µs   guard ${m.guarded.toFixed(1).padStart(8)} µs`,
  );
}

/** A tree of CommonJS modules: a root requiring `width` children, each requiring `width` leaves. */
function moduleTree(dir: string, width: number): string {
  fs.mkdirSync(dir, { recursive: true });
  const kids: string[] = [];
  for (let i = 0; i < width; i++) {
    const leaves: string[] = [];
    for (let j = 0; j < width; j++) {
      fs.writeFileSync(join(dir, `leaf${i}_${j}.js`), `module.exports = ${i * width + j};\n`);
      leaves.push(`require('./leaf${i}_${j}.js')`);
    }
    fs.writeFileSync(join(dir, `kid${i}.js`), `module.exports = [${leaves.join(', ')}];\n`);
    kids.push(`require('./kid${i}.js')`);
  }
  fs.writeFileSync(join(dir, 'root.js'), `module.exports = [${kids.join(', ')}];\n`);
  return join(dir, 'root.js');
}

function perFile(count: number, m: { plain: number; guarded: number }) {
  return { plain: m.plain / count, guarded: m.guarded / count };
}

export default async function (ctx: BenchContext): Promise<void> {
  const dir = join(ctx.dataDir, 'guard');
  fs.mkdirSync(dir, { recursive: true });
  const policyFile = join(dir, 'pickle-guard.yaml');
  fs.writeFileSync(policyFile, 'version: 1\nallow:\n  - collections.OrderedDict\n  - torch._utils._rebuild_tensor_v2\n  - torch.FloatStorage\n  - torch.LongStorage\n');
  const small = join(dir, 'config.json');
  fs.writeFileSync(small, JSON.stringify({ name: 'x', values: Array.from({ length: 64 }, (_, i) => i) }));
  const model = join(ROOT, 'test/fixtures/models/torch/state_dict.pt');
  // Steady state: one loaded policy object installed in every guarded round, as an app
  // installs once (a policy file path would be parsed again per round, and its garbage
  // collected inside the timed loop). First reads use the file: a fresh policy per round.
  const policy = install({ policy: policyFile, children: false });
  uninstall();
  const rounds = ctx.quick ? 6 : 20;
  // Quick mode cuts rounds, not reads per round: short rounds measure the JIT, not the guard.
  const n = ctx.quick ? 2000 : 3000;

  console.log(`small file ${fs.statSync(small).size} B; model ${model.slice(ROOT.length)} ${fs.statSync(model).size} B; ${rounds} alternating rounds${ctx.quick ? ' (BENCH_QUICK: smoke run, noisy)' : ''}`);
  console.log('ratio = guard / no guard, medians of per-op CPU time (target for small non-model reads: <= 1.030)');
  line('readFileSync(small, "utf8")', await sideBySide(rounds, n, () => fs.readFileSync(small, 'utf8'), policy));
  line('readFileSync(small) Buffer', await sideBySide(rounds, n, () => fs.readFileSync(small), policy));
  line('readFile(small) callback', await sideBySide(rounds, n / 5, () => new Promise((res, rej) => fs.readFile(small, (e, b) => (e ? rej(e) : res(b)))), policy));
  line('promises.readFile(small)', await sideBySide(rounds, n / 5, () => fs.promises.readFile(small), policy));

  // First reads: the name decision is made once per path per installed policy, so these
  // rounds read paths the freshly installed policy has not seen (no warm-up read).
  const many = Array.from({ length: ctx.quick ? 50 : 200 }, (_, i) => join(dir, 'many', `file${i}.json`));
  fs.mkdirSync(join(dir, 'many'), { recursive: true });
  for (const f of many) fs.writeFileSync(f, '{"a": 1}\n');
  line(`readFileSync first read of ${many.length} new paths (per file)`, perFile(many.length, await sideBySide(rounds, 1, () => {
    for (const f of many) fs.readFileSync(f, 'utf8');
  }, policyFile, false, false)));

  // A symlinked name is judged by its current target on every read (not remembered).
  const link = join(dir, 'linked-config.json');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(small, link);
  line('readFileSync(symlink to small) Buffer', await sideBySide(rounds, n / 5, () => fs.readFileSync(link), policy));

  // The module cache is emptied before each require; the warm-up load has already made the
  // name decisions (first reads are the line above).
  const width = ctx.quick ? 5 : 10;
  const tree = moduleTree(join(dir, `tree${width}`), width);
  const req = createRequire(tree);
  const treeFiles = 1 + width + width * width;
  line(`require() of a ${treeFiles}-module tree (module cache emptied)`, await sideBySide(rounds, ctx.quick ? 5 : 20, () => {
    for (const k of Object.keys(req.cache)) if (k.startsWith(join(dir, `tree${width}`))) delete req.cache[k];
    return req(tree);
  }, policy));

  line('readFileSync(model) repeated (cached verdict)', await sideBySide(rounds, n / 10, () => fs.readFileSync(model), policy));

  const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;
  if (hasPython) {
    line('spawnSync("python3", ["-c", "pass"]) wall', await sideBySide(ctx.quick ? 4 : 8, 3, () => spawnSync('python3', ['-c', 'pass']), policy, true));
  }
}
