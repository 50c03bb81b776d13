#!/usr/bin/env node
/** The `pickle-guard` command: dispatches to scan, explain and policy. */
import { isPickleGuardError } from '../errors.js';
import { explainCommand } from './explain-command.js';
import { HELP_BY_COMMAND, MAIN_HELP, POLICY_HELP } from './help.js';
import { processIO, type CliIO } from './io.js';
import { policyCommand } from './policy-command.js';
import { scanCommand } from './scan-command.js';
import { packageVersion } from './version.js';

const COMMANDS: Record<string, (argv: string[], io: CliIO) => Promise<number>> = {
  scan: scanCommand,
  explain: explainCommand,
  policy: policyCommand,
};

export async function run(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    io.out(topic ? (HELP_BY_COMMAND[topic] ?? MAIN_HELP) : MAIN_HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V') {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    io.err(`pickle-guard: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command === 'policy' ? POLICY_HELP : (HELP_BY_COMMAND[command] ?? MAIN_HELP));
    return 0;
  }
  try {
    return await handler(rest, io);
  } catch (err) {
    // Usage, policy and I/O errors all exit 2; so does a bug (never a silent "allowed").
    const message = err instanceof Error ? err.message : String(err);
    io.err(`pickle-guard ${command}: ${message}\n`);
    if (isPickleGuardError(err) && err.code === 'ERR_PICKLE_GUARD_USAGE') io.err(`(see pickle-guard ${command} --help)\n`);
    return 2;
  }
}

process.exitCode = await run(process.argv.slice(2), processIO());
