/**
 * Reading a command line the way a shell and the common Python launchers would, to find
 * (a) whether a Python interpreter is being started and (b) which arguments it gets.
 * Pure string work: no file system access here.
 */
import { basename } from 'node:path';

export interface Command {
  /** The program as written (after `env`, `nohup` ... wrappers). */
  program: string;
  args: string[];
  /** A Python interpreter or a launcher that ends in one. */
  python: boolean;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'busybox']);
/** Prefix commands that run the rest of their arguments as a command. */
const PASS_THROUGH = new Set(['nohup', 'exec', 'time', 'command', 'nice', 'stdbuf', 'timeout', 'xvfb-run']);
/** `<tool> <sub>`: environment managers that run a command (usually python) in an env. */
const RUNNERS: ReadonlyMap<string, string> = new Map([
  ['uv', 'run'],
  ['uvx', ''],
  ['poetry', 'run'],
  ['pipenv', 'run'],
  ['conda', 'run'],
  ['mamba', 'run'],
  ['micromamba', 'run'],
  ['pdm', 'run'],
  ['hatch', 'run'],
  ['accelerate', 'launch'],
  ['pixi', 'run'],
]);
/** Programs that are Python launchers by themselves. */
const PYTHON_TOOLS = new Set(['py', 'torchrun', 'deepspeed', 'ipython', 'pypy', 'pypy3']);
const PYTHON_NAME = /^python(\d+(\.\d+)*)?(d|m|t|w|-dbg)?(\.exe)?$/i;

function programName(program: string): string {
  return basename(program.replace(/\\/g, '/')).toLowerCase();
}

/** An interpreter itself (not a launcher tool): its own flags decide whether the Python-side guard loads. */
export function isPythonInterpreter(program: string): boolean {
  const name = programName(program);
  return PYTHON_NAME.test(name) || name === 'py' || name === 'pypy' || name === 'pypy3';
}

export function isPythonProgram(program: string, extra: readonly string[] = []): boolean {
  const name = programName(program);
  return PYTHON_NAME.test(name) || PYTHON_TOOLS.has(name) || extra.includes(name) || extra.includes(program);
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * Splits a POSIX shell command string into simple commands (split on ; & && || | and
 * newlines), each tokenised with quotes and backslashes honoured. Expansions ($VAR, $(...),
 * globs) are left as written: an argument we cannot resolve is not a file we can check.
 */
export function splitShell(line: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) {
      if (line[i + 1] !== '\n') word += line[i + 1];
      inWord = true;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end < 0 ? line.length : end;
      word += line.slice(i + 1, stop);
      inWord = true;
      i = stop;
    } else if (c === '"') {
      i++;
      for (; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1] as string)) i++;
        word += line[i];
      }
      inWord = true;
    } else if (c === ';' || c === '&' || c === '|' || c === '\n' || c === '(' || c === ')') {
      endCommand();
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '#' && !inWord) {
      const nl = line.indexOf('\n', i);
      i = nl < 0 ? line.length : nl - 1;
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** Options of `env` that take a value. */
const ENV_VALUE_OPTS = new Set(['-u', '--unset', '-C', '--chdir']);

function skipEnv(args: string[]): string[] {
  let i = 0;
  while (i < args.length) {
    const a = args[i] as string;
    if (a === '-S' || a === '--split-string') return [...splitShell(args[i + 1] ?? '').flat(), ...args.slice(i + 2)];
    if (ENV_VALUE_OPTS.has(a)) i += 2;
    else if (a.startsWith('-') || ASSIGNMENT.test(a)) i++;
    else break;
  }
  return args.slice(i);
}

/** Skips `conda run -n env --no-capture-output` style options up to the command. */
function skipRunnerOptions(args: string[]): string[] {
  let i = 0;
  while (i < args.length && (args[i] as string).startsWith('-')) {
    const a = args[i] as string;
    // `-n NAME` / `--name NAME` / `-p PATH` / `--with X`: a value follows unless written as --opt=value.
    i += !a.includes('=') && /^(-[nptew]|--(name|prefix|python|with|env|from|project|directory|num[-_]\w+|config[-_]file))$/.test(a) ? 2 : 1;
  }
  return args.slice(i);
}

/** The simple commands an argv runs, with wrappers and shells looked through. */
export function commandsOf(argv: readonly string[], extra: readonly string[] = [], depth = 0): Command[] {
  let words = [...argv];
  while (words.length > 0 && ASSIGNMENT.test(words[0] as string)) words = words.slice(1);
  const [program, ...args] = words;
  if (program === undefined || depth > 8) return [];
  const name = programName(program);
  if (SHELLS.has(name)) {
    const at = args.findIndex((a) => /^-[a-z]*c[a-z]*$/.test(a));
    const script = at >= 0 ? args[at + 1] : undefined;
    if (script !== undefined) return splitShell(script).flatMap((cmd) => commandsOf(cmd, extra, depth + 1));
    return [{ program, args, python: false }];
  }
  if (name === 'env') return commandsOf(skipEnv(args), extra, depth + 1);
  if (PASS_THROUGH.has(name)) return commandsOf(args.filter((a, i) => !(i === 0 && /^[-+]?\d/.test(a) && name === 'timeout')), extra, depth + 1);
  if (isPythonProgram(program, extra)) return [{ program, args, python: true }];
  const sub = RUNNERS.get(name);
  if (sub !== undefined && (sub === '' || args[0] === sub)) {
    const rest = skipRunnerOptions(sub === '' ? args : args.slice(1));
    // The runner starts Python (directly or through a script entry point): all arguments count.
    return [{ program, args: rest, python: true }, ...commandsOf(rest, extra, depth + 1).filter((c) => c.python)];
  }
  return [{ program, args, python: false }];
}

/** Every string in these arguments that could name a file: the argument itself and the value of `--flag=value`. */
export function pathCandidates(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a.length === 0 || a.length > 4096 || a.includes('\n') || a.includes('\0')) continue;
    out.push(a);
    const eq = a.indexOf('=');
    if (a.startsWith('-') && eq > 0 && eq < a.length - 1) out.push(a.slice(eq + 1));
  }
  return out;
}
