/**
 * Scripts started by name: `./train.py`, or a pip console script such as `transformers-cli`
 * found on PATH, are Python launches because of their `#!` line. Finds the program file
 * the way execvp would and reads that line.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { asGuard } from './state.js';

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** The file a launch of `program` would execute (relative to `cwd`, or searched on PATH). */
export function findProgram(program: string, cwd: string, pathEnv: string | undefined): string | undefined {
  return asGuard(() => {
    if (program.includes('/')) {
      const abs = resolve(cwd, program);
      return isFile(abs) ? abs : undefined;
    }
    for (const dir of (pathEnv ?? '').split(delimiter)) {
      if (!dir) continue;
      const candidate = resolve(cwd, join(dir, program));
      if (isFile(candidate)) return candidate;
    }
    return undefined;
  });
}

/**
 * The interpreter words of a `#!` line (`['/usr/bin/env', 'python3']`), or undefined.
 * Like Linux, everything after the interpreter is one argument; `env -S` splits it later.
 */
export function shebangOf(file: string): string[] | undefined {
  const head = Buffer.alloc(256);
  let got = 0;
  asGuard(() => {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      got = readSync(fd, head, 0, head.length, 0);
    } catch {
      got = 0;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  });
  if (got < 3 || head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const end = head.subarray(0, got).indexOf(0x0a);
  const line = head.subarray(2, end < 0 ? got : end).toString('utf8').trim();
  if (!line) return undefined;
  const space = line.search(/[ \t]/);
  if (space < 0) return [line];
  return [line.slice(0, space), line.slice(space).trim()].filter((w) => w.length > 0);
}
