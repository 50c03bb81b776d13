#!/usr/bin/env node
// `npm run demo`: builds nothing itself (npm runs the build first), then
//  1. writes a benign and a malicious model into a fresh temp folder (pure JS bytes),
//  2. runs app.cjs under `node --require <repo>/dist/guard/register.js`: the app reads both
//     models with fs.readFileSync and hands both to a stdlib python3 child that unpickles them,
//  3. shows the evidence for the malicious one (`pickle-guard explain`),
//  4. prints a summary; exits 0 only when the benign model loaded both ways, the malicious
//     one was stopped both ways, and its payload never ran.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benignModel, maliciousModel } from './models.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const register = join(root, 'dist', 'guard', 'register.js');
const cliMain = join(root, 'dist', 'cli', 'main.js');
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code) => (s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const [green, red, bold, dim] = [paint(32), paint(31), paint(1), paint(2)];

if (!existsSync(register) || !existsSync(cliMain)) {
  console.error(red(`The demo needs the build: ${existsSync(register) ? cliMain : register} is missing. Run "npm run build" (npm run demo does it).`));
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'pickle-guard-demo-'));
const marker = join(work, 'PWNED');
const benign = join(work, 'benign.pkl');
const malicious = join(work, 'malicious.pkl');
writeFileSync(benign, benignModel());
writeFileSync(malicious, maliciousModel(`touch ${marker}`));

// An explicit policy, so a pickle-guard.yaml somewhere above the temp folder cannot change the demo.
const env = { ...process.env, PICKLE_GUARD_POLICY: 'preset:default' };
delete env.PICKLE_GUARD_MODE;
delete env.NODE_OPTIONS;
delete env.PICKLE_GUARD_DEMO_WITHOUT_GUARD;

console.log(bold('pickle-guard demo'));
console.log(dim(`models in ${work}`));
// PICKLE_GUARD_DEMO_WITHOUT_GUARD=1 runs the app unguarded: the demo must then FAIL (the
// payload runs, harmlessly touching a file in the temp folder). Tests use it to prove the checks bite.
const guard = process.env.PICKLE_GUARD_DEMO_WITHOUT_GUARD === '1' ? [] : ['--require', register];
console.log(dim(`$ node ${guard.join(' ')} examples/demo/app.cjs benign.pkl malicious.pkl\n`));
const app = spawnSync(process.execPath, [...guard, join(here, 'app.cjs'), benign, malicious], {
  cwd: work,
  env,
  encoding: 'utf8',
  timeout: 120_000,
});
if (app.error) {
  console.error(red(`could not start the app: ${app.error.message}`));
  process.exit(1);
}
const steps = new Map();
for (const line of app.stdout.split('\n')) {
  if (!line.startsWith('{')) continue;
  try {
    const s = JSON.parse(line);
    steps.set(s.name, s);
  } catch {
    // not one of the app's step lines
  }
}
for (const s of steps.values()) {
  const head = s.ok ? green('loaded ') : red('stopped');
  console.log(`${head}  ${s.name}${s.code ? dim(` (${s.code})`) : ''}`);
  for (const l of String(s.detail).split('\n').slice(0, 8)) console.log(dim(`           ${l}`));
}
if (app.status !== 0) console.log(red(`app exited with status ${app.status}\n${app.stderr}`));

console.log(bold('\nEvidence: what malicious.pkl would have done when loaded'));
console.log(dim('$ pickle-guard explain malicious.pkl'));
const explain = spawnSync(process.execPath, [cliMain, 'explain', malicious], { cwd: work, env: { ...env, NO_COLOR: color ? '' : '1' }, encoding: 'utf8' });
process.stdout.write(explain.stdout.replaceAll(work + '/', ''));

const stoppedByGuard = (s) => s && !s.ok && s.code === 'ERR_PICKLE_GUARD_VIOLATION';
const checks = [
  ['benign model read by JS', steps.get('js-read benign')?.ok === true],
  ['benign model unpickled by a Python child', steps.get('python benign')?.ok === true && /OrderedDict/.test(steps.get('python benign').detail)],
  ['malicious model stopped at the JS read', stoppedByGuard(steps.get('js-read malicious'))],
  ['malicious model stopped before the Python child started', stoppedByGuard(steps.get('python malicious'))],
  ['its payload never ran (no marker file)', !existsSync(marker)],
  ['explain shows the os.system call and exits 1', explain.status === 1 && /system\('touch /.test(explain.stdout)],
];
console.log(bold('\nSummary'));
for (const [what, ok] of checks) console.log(`  ${ok ? green('PASS') : red('FAIL')}  ${what}`);
const allOk = checks.every(([, ok]) => ok);
console.log(allOk ? green('\nThe guard behaved: the benign model loaded, the malicious one was stopped with its evidence.') : red('\nThe demo did NOT behave as expected (see FAIL above).'));
rmSync(work, { recursive: true, force: true });
process.exit(allOk ? 0 : 1);
