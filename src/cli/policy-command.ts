/** `pickle-guard policy check [FILE]` and `pickle-guard policy suggest PATH...`. */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { isViolation } from '../findings.js';
import { checkPolicy } from '../policy/index.js';
import { suggestAllowEntries } from '../scan/index.js';
import type { ScanReport } from '../scan/report.js';
import { usage } from './args.js';
import { collectTargets } from './collect.js';
import type { CliIO } from './io.js';
import { loadPolicy, policyRequest } from './policy-source.js';
import { scanOne } from './scan-one.js';
import { fileLooksLikeModel } from './sniff.js';

function checkCommand(argv: string[], io: CliIO): number {
  const { positionals } = usage(() => parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} }));
  if (positionals.length > 1) throw new UsageError('policy check takes at most one FILE');
  const file = positionals[0];
  // checkPolicy discovers from the process's cwd and env, which are the CLI's own.
  const { policy, effective } = checkPolicy(file);
  // stdout is the effective policy alone (it can be saved as a file); the verdict goes to stderr.
  io.out(effective.endsWith('\n') ? effective : `${effective}\n`);
  io.err(`policy ${policy.source} is valid (mode: ${policy.mode})\n`);
  return 0;
}

/** Violations an allow entry cannot fix (malformed streams, limits, indirect calls ...). */
function unfixable(report: ScanReport): string[] {
  return report.findings
    .filter((f) => isViolation(f.code) && f.code !== 'global-not-allowed' && f.code !== 'global-denied' && f.code !== 'attribute-traversal')
    .map((f) => `${report.path ?? ''}: ${f.code}${f.offset !== undefined ? ` at ${f.offset}` : ''}: ${f.message.split('\n')[0]}`);
}

function suggestCommand(argv: string[], io: CliIO): number {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        policy: { type: 'string' },
        include: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
      },
    }),
  );
  if (positionals.length === 0) throw new UsageError('policy suggest needs at least one PATH of models you trust');
  const policy = loadPolicy(policyRequest(io, values.policy));
  const collected = collectTargets(positionals, {
    include: values.include ?? [],
    exclude: values.exclude ?? [],
    looksLikeModel: fileLooksLikeModel,
    isArtifactPath: (p) => policy.isArtifactPath(p),
    cwd: io.cwd,
  });
  let failed = collected.errors.length > 0;
  for (const e of collected.errors) io.err(`error: ${e.path}: ${e.message}\n`);
  const reports: ScanReport[] = [];
  for (const path of collected.files) {
    const r = scanOne(path, policy, io.cwd);
    if ('error' in r) {
      failed = true;
      io.err(`error: ${path}: ${r.error.message}\n`);
    } else reports.push(r.report);
  }
  const { entries, refused } = suggestAllowEntries(reports, policy);
  const blockers = reports.flatMap(unfixable);
  for (const x of refused) io.err(`warning: not suggesting ${x.name}: ${x.why}\n`);
  for (const b of blockers) io.err(`warning: no allow entry can fix ${b}\n`);

  io.out(`# Scanned ${reports.length} file${reports.length === 1 ? '' : 's'} under ${policy.source}.\n`);
  if (entries.length === 0) io.out('# Nothing to add: the current policy already allows every import these files make.\n');
  else {
    io.out('# Add these under allow: in your pickle-guard.yaml if you trust these models:\nallow:\n');
    for (const e of entries) io.out(`  - ${/^[A-Za-z0-9_.:*]+$/.test(e) ? e : JSON.stringify(e)}\n`);
  }
  if (failed) return 2;
  return refused.length > 0 || blockers.length > 0 ? 1 : 0;
}

export async function policyCommand(argv: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'check') return checkCommand(rest, io);
  if (sub === 'suggest') return suggestCommand(rest, io);
  throw new UsageError(`policy wants a subcommand, check or suggest${sub ? `, not ${JSON.stringify(sub)}` : ''}`);
}
