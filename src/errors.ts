/**
 * The one error hierarchy of pickle-guard. Every error carries a stable `code`.
 *
 * `instanceof` is answered by a brand registered with `Symbol.for`, so it keeps
 * working when an app ends up with two copies of the package (the guard installed
 * by one copy, the error caught with the class of another).
 */

export type PickleGuardErrorCode =
  | 'ERR_PICKLE_GUARD_VIOLATION'
  | 'ERR_PICKLE_GUARD_POLICY'
  | 'ERR_PICKLE_GUARD_IO'
  | 'ERR_PICKLE_GUARD_USAGE'
  | 'ERR_PICKLE_GUARD_INTERNAL';

const BRANDS = Symbol.for('pickle-guard.error.brands');

type Branded = { [BRANDS]?: readonly string[] };

function brandsOf(value: unknown): readonly string[] {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return [];
  return (value as Branded)[BRANDS] ?? [];
}

/** Makes `instanceof Cls` true for any object branded with `name`, whatever copy created it. */
function brandCheck(name: string) {
  return (value: unknown): boolean => brandsOf(value).includes(name);
}

export class PickleGuardError extends Error {
  readonly code: PickleGuardErrorCode;

  constructor(code: PickleGuardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    // Record every class in the chain as a brand, so each level answers instanceof.
    const brands: string[] = [];
    for (let proto = new.target; proto && proto !== (Error as unknown); proto = Object.getPrototypeOf(proto)) {
      if (typeof proto === 'function' && proto.name) brands.push(`pickle-guard:${proto.name}`);
    }
    Object.defineProperty(this, BRANDS, { value: brands, enumerable: false });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(`pickle-guard:${this.name}`)(value);
  }
}

/** Where in a policy file something went wrong. Lines and columns are 1-based. */
export interface SourcePosition {
  file: string;
  line?: number;
  column?: number;
}

/** A policy file that cannot be used. Never answered by falling back to a weaker policy. */
export class PolicyError extends PickleGuardError {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** What to write instead, when we can tell. */
  readonly hint: string | undefined;

  constructor(message: string, position: SourcePosition, hint?: string, options?: { cause?: unknown }) {
    const where = `${position.file}${position.line ? `:${position.line}` : ''}${position.column ? `:${position.column}` : ''}`;
    super('ERR_PICKLE_GUARD_POLICY', `${where}: ${message}${hint ? `\n  hint: ${hint}` : ''}`, options);
    this.file = position.file;
    this.line = position.line;
    this.column = position.column;
    this.hint = hint;
  }
}

/** Bad arguments or options given to the API or the CLI. */
export class UsageError extends PickleGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PICKLE_GUARD_USAGE', message, options);
  }
}

/** A file could not be read for scanning (missing, unreadable, a directory ...). */
export class ScanIOError extends PickleGuardError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('ERR_PICKLE_GUARD_IO', `${path}: ${message}`, options);
    this.path = path;
  }
}

/** A bug in pickle-guard itself. Scanning code turns these into `malformed` findings, never into "allowed". */
export class InternalError extends PickleGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PICKLE_GUARD_INTERNAL', message, options);
  }
}

export function isPickleGuardError(value: unknown): value is PickleGuardError {
  return value instanceof PickleGuardError;
}
