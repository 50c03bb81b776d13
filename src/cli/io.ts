/**
 * Where the CLI writes, and whether it may color. Commands get this instead of touching
 * `process` so they stay plain functions.
 */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal and color is allowed (not piped, no NO_COLOR, TERM not dumb). */
  readonly color: boolean;
  /** stderr is a terminal (progress lines go there). */
  readonly errIsTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export function colorAllowed(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return isTTY && env.TERM !== 'dumb';
}

/** Exit status of a process killed by SIGPIPE, what Unix tools report when their reader goes away. */
export const CLOSED_PIPE_EXIT = 128 + 13;

/**
 * A reader that goes away (`pickle-guard scan . | head`) is not a crash: stop quietly with
 * the status a SIGPIPE'd tool has, never 0, so `set -o pipefail` cannot read it as "allowed".
 */
function exitOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(CLOSED_PIPE_EXIT);
  });
}

export function processIO(): CliIO {
  exitOnClosedPipe(process.stdout);
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    color: colorAllowed(Boolean(process.stdout.isTTY), process.env),
    errIsTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

export interface Paint {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;

export function paint(color: boolean): Paint {
  if (!color) {
    const id = (s: string) => s;
    return { red: id, green: id, yellow: id, bold: id, dim: id };
  }
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
}
