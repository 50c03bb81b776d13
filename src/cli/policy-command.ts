/** `pickle-guard policy check|suggest`. PLACEHOLDER until the policy layer lands. */
import { UsageError } from '../errors.js';
import type { CliIO } from './io.js';

export async function policyCommand(argv: string[], _io: CliIO): Promise<number> {
  const [sub] = argv;
  if (sub !== 'check' && sub !== 'suggest') throw new UsageError('policy wants a subcommand: check or suggest');
  throw new UsageError(`policy ${sub} is not available in this build yet`);
}
