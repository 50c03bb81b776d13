/** Small helpers for parsing arguments with node:util parseArgs, reporting mistakes as UsageError. */
import { UsageError } from '../errors.js';

/** Runs a parseArgs call; its TypeErrors (unknown option, missing value) become UsageErrors. */
export function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,3}$/.test(value)) throw new UsageError(`${flag} wants a whole number from 1 to 9999, got ${JSON.stringify(value)}`);
  return Number(value);
}
