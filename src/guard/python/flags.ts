/**
 * Python command-line flags that stop the bootstrap from loading: `-E` and `-I` ignore
 * PYTHONPATH, `-S` skips `site` (so no sitecustomize). The guard can refuse such a launch.
 */

/** Options that take a value (the next argument when not attached). */
const WITH_VALUE = new Set(['W', 'X']);
const DEFEATING = new Set(['E', 'I', 'S']);

/** The flags in `args` (python's arguments, without the executable) that defeat the guard, e.g. `['-I']`. */
export function pythonFlagsDefeatingGuard(args: readonly string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-' || arg === '--' || !arg.startsWith('-') || arg.startsWith('--')) {
      if (arg.startsWith('--') && arg !== '--') continue; // --version, --help ...
      break; // the script (or stdin): the rest are its own arguments
    }
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j]!;
      if (DEFEATING.has(flag)) found.push(`-${flag}`);
      if (flag === 'c' || flag === 'm') return found; // the rest is the command / module's argv
      if (WITH_VALUE.has(flag)) {
        if (j === arg.length - 1) i++; // value is the next argument
        break;
      }
    }
  }
  return found;
}
