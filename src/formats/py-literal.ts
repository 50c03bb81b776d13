/**
 * A tiny parser for the Python literals in a `.npy` header (what `ast.literal_eval`
 * accepts there): dicts, tuples, lists, strings, ints, True/False/None. No eval; any
 * other syntax is an error, and the caller fails closed.
 */

export type PyLiteral =
  | { k: 'str'; v: string }
  | { k: 'bytes'; v: string }
  | { k: 'int'; v: bigint }
  | { k: 'bool'; v: boolean }
  | { k: 'none' }
  | { k: 'tuple' | 'list'; items: PyLiteral[] }
  | { k: 'dict'; entries: Array<[PyLiteral, PyLiteral]> };

export class PyLiteralError extends Error {}

const MAX_DEPTH = 64;

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '',
};

class Parser {
  private at = 0;
  constructor(
    private readonly text: string,
    /** Python 2 longs (`3L`), which numpy filters out of version 1/2 headers. */
    private readonly allowLongSuffix: boolean,
  ) {}

  parse(): PyLiteral {
    const value = this.value(0);
    this.space();
    if (this.at !== this.text.length) this.fail('unexpected text after the literal');
    return value;
  }

  private fail(why: string): never {
    throw new PyLiteralError(`${why} at character ${this.at}`);
  }

  private space(): void {
    while (this.at < this.text.length && ' \t\n\r\f\v'.includes(this.text[this.at] as string)) this.at++;
  }

  private value(depth: number): PyLiteral {
    if (depth > MAX_DEPTH) this.fail('literal nested too deeply');
    this.space();
    const c = this.text[this.at];
    if (c === undefined) this.fail('unexpected end of header');
    if (c === '{') return this.dict(depth);
    if (c === '(') return this.sequence(depth, ')', 'tuple');
    if (c === '[') return this.sequence(depth, ']', 'list');
    if (this.stringKind() !== undefined) return this.strings();
    if (c === '-' || c === '+' || (c >= '0' && c <= '9')) return this.int();
    for (const [word, lit] of [
      ['True', { k: 'bool', v: true }],
      ['False', { k: 'bool', v: false }],
      ['None', { k: 'none' }],
    ] as const) {
      if (this.text.startsWith(word, this.at) && !/[A-Za-z0-9_]/.test(this.text[this.at + word.length] ?? '')) {
        this.at += word.length;
        return lit;
      }
    }
    return this.fail(`unsupported syntax '${c}'`);
  }

  /** 'str' or 'bytes' when a string literal (optionally u/b-prefixed) starts here. */
  private stringKind(): 'str' | 'bytes' | undefined {
    const c = this.text[this.at];
    if (c === "'" || c === '"') return 'str';
    const quoted = /['"]/.test(this.text[this.at + 1] ?? '');
    if ((c === 'u' || c === 'U') && quoted) return 'str';
    if ((c === 'b' || c === 'B') && quoted) return 'bytes';
    return undefined;
  }

  /** Adjacent literals concatenate, as in Python (`'<' 'O'` is `'<O'`); str and bytes do not mix. */
  private strings(): PyLiteral {
    const kind = this.stringKind() as 'str' | 'bytes';
    let v = '';
    for (;;) {
      const k = this.stringKind();
      if (k === undefined) break;
      if (k !== kind) this.fail('cannot mix bytes and str literals');
      if (this.text[this.at] !== "'" && this.text[this.at] !== '"') this.at++; // prefix
      v += this.string();
      this.space();
    }
    return { k: kind, v };
  }

  private int(): PyLiteral {
    const m = /^([-+]?)\s*(0|[1-9][0-9_]*)([lL]?)/.exec(this.text.slice(this.at));
    if (!m || (m[3] && !this.allowLongSuffix)) this.fail('bad integer');
    const next = this.text[this.at + m[0].length] ?? '';
    if (/[.eExXoObBjJ0-9A-Za-z]/.test(next)) this.fail('only decimal integers are supported');
    this.at += m[0].length;
    const digits = (m[2] as string).replace(/_/g, '');
    const v = BigInt(digits);
    return { k: 'int', v: m[1] === '-' ? -v : v };
  }

  private sequence(depth: number, close: string, k: 'tuple' | 'list'): PyLiteral {
    this.at++; // opening bracket
    const items: PyLiteral[] = [];
    let sawComma = false;
    for (;;) {
      this.space();
      if (this.text[this.at] === close) {
        this.at++;
        break;
      }
      if (items.length > 0 && !sawComma) this.fail(`expected ',' or '${close}'`);
      items.push(this.value(depth + 1));
      this.space();
      sawComma = this.text[this.at] === ',';
      if (sawComma) this.at++;
    }
    // `(x)` is just x in Python; `(x,)` is a tuple.
    if (k === 'tuple' && items.length === 1 && !sawComma) return items[0] as PyLiteral;
    return { k, items };
  }

  private dict(depth: number): PyLiteral {
    this.at++;
    const entries: Array<[PyLiteral, PyLiteral]> = [];
    let sawComma = true;
    for (;;) {
      this.space();
      if (this.text[this.at] === '}') {
        this.at++;
        return { k: 'dict', entries };
      }
      if (!sawComma) this.fail("expected ',' or '}'");
      const key = this.value(depth + 1);
      this.space();
      if (this.text[this.at] !== ':') this.fail("expected ':'");
      this.at++;
      entries.push([key, this.value(depth + 1)]);
      this.space();
      sawComma = this.text[this.at] === ',';
      if (sawComma) this.at++;
    }
  }

  private string(): string {
    const quote = this.text[this.at] as string;
    const triple = this.text.startsWith(quote.repeat(3), this.at);
    this.at += triple ? 3 : 1;
    let out = '';
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined) this.fail('unterminated string');
      if (triple ? this.text.startsWith(quote.repeat(3), this.at) : c === quote) {
        this.at += triple ? 3 : 1;
        return out;
      }
      if (c === '\n' && !triple) this.fail('newline in string');
      if (c !== '\\') {
        out += c;
        this.at++;
        continue;
      }
      const e = this.text[this.at + 1];
      if (e === undefined) this.fail('unterminated escape');
      if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        this.at += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = this.text.slice(this.at + 2, this.at + 2 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail('bad escape');
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) this.fail('bad code point');
        out += String.fromCodePoint(cp);
        this.at += 2 + n;
      } else if (e >= '0' && e <= '7') {
        const oct = /^[0-7]{1,3}/.exec(this.text.slice(this.at + 1))?.[0] as string;
        out += String.fromCharCode(parseInt(oct, 8));
        this.at += 1 + oct.length;
      } else {
        out += `\\${e}`; // Python keeps unknown escapes as written
        this.at += 2;
      }
    }
  }
}

export function parsePyLiteral(text: string, options: { allowLongSuffix?: boolean } = {}): PyLiteral {
  return new Parser(text, options.allowLongSuffix ?? false).parse();
}
