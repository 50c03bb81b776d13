/**
 * Renders what a pickle would do when loaded as Python-like code, from the effects the
 * symbolic machine recorded (`recordEffects`): imports, calls assigned to variables,
 * BUILD as `obj.__setstate__(...)` (attribute sets when the target is a bare global),
 * SETITEM as `d[k] = v`, APPEND as `l.append(v)`, a persistent id the format's
 * persistent_load resolves as `_pid0 = persistent_load(...)  # -> value`, and each
 * pickle's result.
 *
 * It never executes anything; it only prints. Lines carry the byte offsets of the
 * opcodes behind them, so a caller can mark the lines a policy blocks.
 */
import type { Effect, ImportRecord, PickleStreamAnalysis, Value } from './types.js';

export interface DecompiledLine {
  /** `import` lines come first in each pickle, then `code`; `comment` lines separate pickles. */
  kind: 'import' | 'code' | 'comment';
  text: string;
  /** Offset of the opcode behind the line (member-relative), when there is one. */
  offset?: number;
  /** Why the policy blocks this line (empty when it does not). */
  violations: string[];
}

export interface DecompileOptions {
  /** Violation reasons by opcode offset (from the report's findings). */
  marks?: ReadonlyMap<number, readonly string[]>;
  /** Reasons for imports the policy refuses, by index in `analysis.imports`. */
  blockedImports?: ReadonlyMap<number, string>;
  /** Reads small bytes payloads so they can be shown as `b'...'` literals. */
  readBytes?: (offset: number, length: number) => Uint8Array;
  /** Longest string or bytes literal shown in full (default 200). */
  maxLiteral?: number;
}

type CallValue = Extract<Value, { k: 'call' }>;

const MAX_DEPTH = 32;

/** Python's repr of a str, single-quoted. */
export function pyStr(s: string, max = Infinity): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  // Like repr(): double quotes when the text has ' but no ".
  const quote = cut.includes("'") && !cut.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of cut) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  out += quote;
  return s.length > max ? `${out}<+${s.length - max} chars>` : out;
}

/** Python's repr of bytes. */
export function pyBytes(bytes: Uint8Array): string {
  let out = "b'";
  for (const b of bytes) {
    if (b === 0x5c) out += '\\\\';
    else if (b === 0x27) out += "\\'";
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b < 0x20 || b >= 0x7f) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}'`;
}

/** Python's repr of a float. */
export function pyFloat(v: number): string {
  if (Number.isNaN(v)) return "float('nan')";
  if (!Number.isFinite(v)) return v > 0 ? "float('inf')" : "float('-inf')";
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names the imports of one pickle get in the rendering, with their import lines. */
function nameImports(imports: readonly ImportRecord[]): { expr: Map<number, string>; lines: Array<{ imp: ImportRecord; text: string }> } {
  const expr = new Map<number, string>();
  const lines: Array<{ imp: ImportRecord; text: string }> = [];
  const taken = new Map<string, string>(); // local name -> 'module:first segment'
  for (const imp of imports) {
    if (imp.origin !== 'import') continue; // derived `Class.NAME` imports show as their getattr call
    const [first = '', ...rest] = imp.name.split('.');
    const key = `${imp.module}:${first}`;
    let local = IDENT.test(first) ? first : 'g';
    if (taken.get(local) !== key) {
      const base = local;
      for (let i = 2; taken.has(local) && taken.get(local) !== key; i++) local = `${base}_${i}`;
    }
    const fresh = !taken.has(local);
    taken.set(local, key);
    expr.set(imp.index, [local, ...rest].join('.'));
    if (fresh || rest.length > 0) {
      const alias = local === first ? '' : ` as ${local}`;
      const note = rest.length > 0 ? `  # find_class walks attributes: ${imp.module} + ${imp.name}` : '';
      const nameText = IDENT.test(first) ? first : pyStr(first);
      lines.push({ imp, text: `from ${imp.module} import ${nameText}${alias}${note}` });
    }
  }
  return { expr, lines };
}

class Renderer {
  readonly vars = new Map<object, string>();
  /** Variables of calls by offset: a derived `Class.NAME` import stands for its getattr call's result. */
  readonly callVars = new Map<number, string>();
  private visiting = new Set<object>();

  constructor(
    private readonly importExpr: ReadonlyMap<number, string>,
    private readonly imports: readonly ImportRecord[],
    private readonly options: DecompileOptions,
  ) {}

  expr(v: Value, depth = 0): string {
    const named = this.vars.get(v);
    if (named) return named;
    if (depth > MAX_DEPTH || this.visiting.has(v)) return '...';
    this.visiting.add(v);
    try {
      return this.literal(v, depth + 1);
    } finally {
      this.visiting.delete(v);
    }
  }

  private items(items: readonly Value[], omitted: number, depth: number): string[] {
    const out = items.map((x) => this.expr(x, depth));
    if (omitted > 0) out.push(`<+${omitted} more>`);
    return out;
  }

  private literal(v: Value, depth: number): string {
    const max = this.options.maxLiteral ?? 200;
    switch (v.k) {
      case 'none':
        return 'None';
      case 'bool':
        return v.v ? 'True' : 'False';
      case 'int':
        return String(v.v);
      case 'float':
        return pyFloat(v.v);
      case 'str':
        return pyStr(v.v, max);
      case 'bytes': {
        const ctor = v.mutable ? 'bytearray' : 'bytes';
        if (this.options.readBytes && v.length <= max) {
          const lit = pyBytes(this.options.readBytes(v.offset, v.length));
          return v.mutable ? `bytearray(${lit})` : lit;
        }
        return `${ctor}(<${v.length} bytes at offset ${v.offset}>)`;
      }
      case 'tuple': {
        const parts = this.items(v.items, v.omitted, depth);
        return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
      }
      case 'list':
        return `[${this.items(v.items, v.omitted, depth).join(', ')}]`;
      case 'set':
        return v.items.length + v.omitted === 0 ? 'set()' : `{${this.items(v.items, v.omitted, depth).join(', ')}}`;
      case 'frozenset':
        return v.items.length + v.omitted === 0 ? 'frozenset()' : `frozenset({${this.items(v.items, v.omitted, depth).join(', ')}})`;
      case 'dict': {
        const parts = v.entries.map(([k, x]) => `${this.expr(k, depth)}: ${this.expr(x, depth)}`);
        if (v.omitted > 0) parts.push(`<+${v.omitted} more>`);
        return `{${parts.join(', ')}}`;
      }
      case 'global':
        return this.importExpr.get(v.imp) ?? this.derivedName(v.imp);
      case 'call':
        return this.call(v, depth);
      case 'persid':
        return `persistent_load(${this.expr(v.pid, depth)})`;
      case 'buffer':
        return 'next_buffer()';
      case 'unknown':
        return `<unknown: ${v.why}>`;
    }
  }

  private derivedName(index: number): string {
    const imp = this.imports[index];
    if (!imp) return `<import #${index}>`;
    return (imp.origin === 'getattr' ? this.callVars.get(imp.offset) : undefined) ?? `${imp.module}.${imp.name}`;
  }

  private args(args: Value, depth: number): string[] {
    if (args.k === 'tuple') return this.items(args.items, args.omitted, depth);
    return [`*${this.expr(args, depth)}`];
  }

  private kwargs(kwargs: Value | undefined, depth: number): string[] {
    if (!kwargs) return [];
    if (kwargs.k === 'dict' && kwargs.entries.every(([k]) => k.k === 'str' && IDENT.test(k.v))) {
      const out = kwargs.entries.map(([k, x]) => `${(k as { v: string }).v}=${this.expr(x, depth)}`);
      if (kwargs.omitted > 0) out.push(`<+${kwargs.omitted} more>`);
      return out;
    }
    return [`**${this.expr(kwargs, depth)}`];
  }

  call(v: CallValue, depth = 0): string {
    const fn = this.expr(v.fn, depth);
    const args = [...this.args(v.args, depth), ...this.kwargs(v.kwargs, depth)];
    if (v.via === 'NEWOBJ' || v.via === 'NEWOBJ_EX') return `${fn}.__new__(${[fn, ...args].join(', ')})`;
    return `${fn}(${args.join(', ')})`;
  }
}

function isLiteralContainer(v: Value): boolean {
  return v.k === 'dict' || v.k === 'list' || v.k === 'set' || v.k === 'frozenset';
}

/** True when the machine already folded this SETITEM/APPEND into the literal (same value objects). */
function alreadyInLiteral(effect: Effect): boolean {
  if (effect.k === 'setitem' && effect.target.k === 'dict') {
    return effect.target.entries.some(([k, x]) => k === effect.key && x === effect.value);
  }
  if (effect.k === 'append' && (effect.target.k === 'list' || effect.target.k === 'set')) {
    return effect.target.items.includes(effect.value);
  }
  return false;
}

/** Splits the effects at each `result` (one group per pickle). */
function groupByPickle(effects: readonly Effect[]): Effect[][] {
  const groups: Effect[][] = [[]];
  for (const e of effects) {
    groups[groups.length - 1]!.push(e);
    if (e.k === 'result') groups.push([]);
  }
  if (groups[groups.length - 1]!.length === 0) groups.pop();
  return groups;
}

/**
 * Decompiles one stream. Without recorded effects it renders only the imports (and says so).
 */
export function decompile(analysis: PickleStreamAnalysis, options: DecompileOptions = {}): DecompiledLine[] {
  const marks = options.marks ?? new Map<number, readonly string[]>();
  const blocked = options.blockedImports ?? new Map<number, string>();
  const lines: DecompiledLine[] = [];
  const reasonsAt = (offset: number): string[] => [...(marks.get(offset) ?? [])];

  const groups = analysis.effects ? groupByPickle(analysis.effects) : [];
  const lastImport = analysis.imports.reduce((m, imp) => Math.max(m, imp.pickleIndex + 1), 0);
  const pickleCount = Math.max(groups.length, analysis.pickles.length, lastImport, analysis.effects ? 0 : 1);
  let nextVar = 0;
  let nextPid = 0;
  for (let p = 0; p < pickleCount; p++) {
    const info = analysis.pickles[p];
    if (pickleCount > 1 || info) {
      const where = info ? ` (bytes ${info.start}-${info.end}, protocol ${info.protocol}${info.complete ? '' : ', incomplete'})` : '';
      lines.push({ kind: 'comment', text: `# pickle ${p}${where}`, violations: [] });
    }
    const own = analysis.imports.filter((imp) => imp.pickleIndex === p);
    const named = nameImports(own);
    for (const { imp, text } of named.lines) {
      const reasons = reasonsAt(imp.offset);
      const why = blocked.get(imp.index);
      if (why && reasons.length === 0) reasons.push(why); // findings at the offset already say why
      lines.push({ kind: 'import', text, offset: imp.offset, violations: reasons });
    }
    const r = new Renderer(named.expr, analysis.imports, options);
    const code = (text: string, offset: number | undefined, extra: string[] = []): void => {
      const violations = offset === undefined ? [...extra] : [...reasonsAt(offset), ...extra.filter((x) => !reasonsAt(offset).includes(x))];
      lines.push({ kind: 'code', text, ...(offset !== undefined ? { offset } : {}), violations });
    };
    /** Gives a literal container a variable before a statement mutates it. */
    const target = (v: Value): string => {
      if (!r.vars.has(v) && isLiteralContainer(v)) {
        const name = `_v${nextVar++}`;
        code(`${name} = ${r.expr(v)}`, undefined);
        r.vars.set(v, name);
      }
      return r.expr(v);
    };
    for (const e of groups[p] ?? []) {
      switch (e.k) {
        case 'call': {
          const fn = e.value.fn;
          const extra: string[] = [];
          if (fn.k === 'global') {
            const why = blocked.get(fn.imp);
            const imp = analysis.imports[fn.imp];
            if (why && imp) extra.push(`calls ${imp.module}.${imp.name}: ${why}`);
          }
          const text = r.call(e.value);
          const name = `_v${nextVar++}`;
          r.vars.set(e.value, name);
          r.callVars.set(e.value.offset, name);
          // INST imports and calls at one offset: the import line already shows that offset's findings.
          const sameAsImport = fn.k === 'global' && analysis.imports[fn.imp]?.offset === e.value.offset;
          if (sameAsImport) lines.push({ kind: 'code', text: `${name} = ${text}`, offset: e.value.offset, violations: extra });
          else code(`${name} = ${text}`, e.value.offset, extra);
          break;
        }
        case 'build': {
          if (e.target.k === 'global' && e.state.k === 'dict') {
            const t = r.expr(e.target);
            for (const [k, x] of e.state.entries) {
              const attr = k.k === 'str' && IDENT.test(k.v) ? `${t}.${k.v} = ${r.expr(x)}` : `setattr(${t}, ${r.expr(k)}, ${r.expr(x)})`;
              code(attr, e.offset);
            }
            if (e.state.entries.length === 0) code(`${t}.__setstate__(${r.expr(e.state)})`, e.offset);
          } else {
            code(`${target(e.target)}.__setstate__(${r.expr(e.state)})`, e.offset);
          }
          break;
        }
        case 'setitem':
          if (!alreadyInLiteral(e) || reasonsAt(e.offset).length > 0) code(`${target(e.target)}[${r.expr(e.key)}] = ${r.expr(e.value)}`, e.offset);
          break;
        case 'append':
          if (!alreadyInLiteral(e) || reasonsAt(e.offset).length > 0) {
            code(`${target(e.target)}.${e.target.k === 'set' ? 'add' : 'append'}(${r.expr(e.value)})`, e.offset);
          }
          break;
        case 'persistent-load':
          // The loader's persistent_load turns the id into this value: show where it came from.
          // An opaque answer (a torch storage) already renders inline as persistent_load(...).
          if (e.value.k === 'persid') break;
          code(`_pid${nextPid++} = persistent_load(${r.expr(e.pid)})  # -> ${r.expr(e.value)}`, e.offset);
          break;
        case 'result':
          code(`${pickleCount > 1 ? `result_${e.pickleIndex}` : 'result'} = ${r.expr(e.value)}`, undefined);
          break;
      }
    }
    if (!analysis.effects && p === 0) {
      lines.push({ kind: 'comment', text: '# (effects were not recorded: only the imports are shown)', violations: [] });
    }
  }
  return lines;
}
