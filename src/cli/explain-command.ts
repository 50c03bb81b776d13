/** `pickle-guard explain FILE`: what each pickle in a file would do, with blocked lines marked. */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ScanIOError, UsageError } from '../errors.js';
import { isViolation, type Finding } from '../findings.js';
import { analyzeContainerWith } from '../formats/index.js';
import type { ScannedStream } from '../formats/types.js';
import { withFileSource, type ByteSource } from '../io/byte-source.js';
import { decompile, type DecompiledLine } from '../pickle/decompile.js';
import { disassemble, type DisasmLine } from '../pickle/disasm.js';
import { analyzePickleStream } from '../pickle/index.js';
import type { PickleStreamAnalysis, Value } from '../pickle/types.js';
import type { ScanReport } from '../scan/report.js';
import { buildReport } from '../scan/verdict.js';
import { usage } from './args.js';
import { paint, type CliIO, type Paint } from './io.js';
import { loadPolicy, policyRequest } from './policy-source.js';

/** What explain keeps of one stream while its bytes are still readable. */
interface StreamView {
  /** Copies of the small bytes payloads the decompiler shows as literals, by offset. */
  payloads: Map<number, Uint8Array>;
  disasm?: DisasmLine[];
  /**
   * A joblib-shaped stream as plain `pickle.load` reads it (array bytes run as opcodes),
   * when that reading imports or calls something joblib's reading does not. The report
   * merges its imports and findings; this is for showing its calls.
   */
  plain?: { analysis: PickleStreamAnalysis; payloads: Map<number, Uint8Array> };
}

const JOBLIB_WRAPPER_MODULE = /^(sklearn\.externals\.)?joblib\.numpy_pickle(_compat)?$/;

/** Offsets of the imports and calls of one reading. */
function actionOffsets(analysis: PickleStreamAnalysis): Set<number> {
  const out = new Set(analysis.imports.map((i) => i.offset));
  for (const e of analysis.effects ?? []) if (e.k === 'call') out.add(e.value.offset);
  return out;
}

/**
 * The plain reading of a stream joblib's reading hooked (a wrapper was imported), when it
 * does something joblib's does not: the same second reading the container layer merges
 * (src/formats/raw-pickle.ts), here with effects.
 */
function plainReading(joblib: PickleStreamAnalysis, source: ByteSource, options: Parameters<typeof analyzePickleStream>[1]): StreamView['plain'] {
  if (!options?.afterBuild || !joblib.imports.some((i) => JOBLIB_WRAPPER_MODULE.test(i.module))) return undefined;
  const { afterBuild: _hook, ...rest } = options;
  const plain = analyzePickleStream(source, { ...rest, recordEffects: true });
  const seen = actionOffsets(joblib);
  if ([...actionOffsets(plain)].every((o) => seen.has(o))) return undefined;
  return { analysis: plain, payloads: snapshotPayloads(plain, source) };
}

const MAX_LITERAL = 200;

/** Copies the bytes payloads up to MAX_LITERAL long that the effects reference. */
function snapshotPayloads(analysis: PickleStreamAnalysis, source: ByteSource): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const seen = new Set<object>();
  const visit = (v: Value | undefined): void => {
    if (!v || seen.has(v)) return;
    seen.add(v);
    switch (v.k) {
      case 'bytes':
        // A copy (not Buffer#slice, a view): the source's window is overwritten by later reads.
        if (v.length <= MAX_LITERAL) out.set(v.offset, new Uint8Array(source.read(v.offset, v.length)));
        break;
      case 'tuple':
      case 'list':
      case 'set':
      case 'frozenset':
        v.items.forEach(visit);
        break;
      case 'dict':
        for (const [k, x] of v.entries) (visit(k), visit(x));
        break;
      case 'call':
        (visit(v.fn), visit(v.args), visit(v.kwargs), visit(v.state));
        break;
      case 'persid':
        visit(v.pid);
        break;
    }
  };
  for (const e of analysis.effects ?? []) {
    if (e.k === 'call') visit(e.value);
    else if (e.k === 'build') (visit(e.target), visit(e.state));
    else if (e.k === 'setitem') (visit(e.target), visit(e.key), visit(e.value));
    else if (e.k === 'append') (visit(e.target), visit(e.value));
    else if (e.k === 'persistent-load') (visit(e.pid), visit(e.value));
    else visit(e.value);
  }
  return out;
}

function sameMember(f: Finding, member: string): boolean {
  return (f.member ?? '') === member;
}

/** Violation reasons by offset, for the findings of one member. */
function marksFor(report: ScanReport, member: string): Map<number, string[]> {
  const marks = new Map<number, string[]>();
  for (const f of report.findings) {
    if (!isViolation(f.code) || f.offset === undefined || !sameMember(f, member)) continue;
    const list = marks.get(f.offset) ?? [];
    list.push(`${f.code}: ${f.message}`);
    marks.set(f.offset, list);
  }
  return marks;
}

/** Imports of one reading of a stream that the report blocked, by import index. */
function blockedImports(stream: ScannedStream, report: ScanReport, analysis = stream.analysis): Map<number, string> {
  const blocked = new Map<number, string>();
  for (const imp of analysis.imports) {
    const g = report.globals.find(
      (x) => x.member === stream.member && x.offset === imp.offset && x.module === imp.module && x.name === imp.name,
    );
    if (g && !g.allowed) blocked.set(imp.index, g.decision);
  }
  return blocked;
}

interface Marked {
  offset?: number;
  text: string;
  violations: readonly string[];
  dim?: boolean;
}

/** `offsets`: show the offset column (the disassembly carries its own). */
function renderMarked(lines: readonly Marked[], p: Paint, offsets: boolean): string[] {
  const width = offsets ? Math.max(4, ...lines.map((l) => String(l.offset ?? '').length)) : 0;
  return lines.map((l) => {
    const blocked = l.violations.length > 0;
    const gutter = offsets ? `${blocked ? p.red('!') : ' '} ${String(l.offset ?? '').padStart(width)} | ` : `${blocked ? p.red('!') : ' '} `;
    const text = l.dim ? p.dim(l.text) : blocked ? p.red(l.text) : l.text;
    const pad = offsets ? `${' '.repeat(width + 2)} |     ` : '         ';
    const why = l.violations.map((v) => `\n${pad}${p.red(`^ BLOCKED ${v.split('\n')[0]}`)}`).join('');
    return `${gutter}${text}${why}`;
  });
}

function decompiled(
  analysis: PickleStreamAnalysis,
  payloads: ReadonlyMap<number, Uint8Array> | undefined,
  marks: ReadonlyMap<number, readonly string[]>,
  blocked: ReadonlyMap<number, string>,
): Marked[] {
  return fromDecompiled(
    decompile(analysis, {
      marks,
      blockedImports: blocked,
      maxLiteral: MAX_LITERAL,
      readBytes: (offset, length) => payloads?.get(offset)?.subarray(0, length) ?? new Uint8Array(0),
    }),
  );
}

function fromDecompiled(lines: readonly DecompiledLine[]): Marked[] {
  return lines.map((l) => ({ ...(l.offset !== undefined ? { offset: l.offset } : {}), text: l.text, violations: l.violations, dim: l.kind === 'comment' }));
}

function fromDisasm(lines: readonly DisasmLine[], marks: ReadonlyMap<number, readonly string[]>): Marked[] {
  // The listing already shows offsets in its own column.
  return lines.map((l) => ({ text: l.text, violations: l.offset !== undefined ? (marks.get(l.offset) ?? []) : [], dim: l.offset === undefined && !l.error }));
}

/** Findings no line shows (no offset, or an offset no line carries). */
function unplaced(report: ScanReport, member: string, shownOffsets: ReadonlySet<number | undefined>): Finding[] {
  return report.findings.filter((f) => sameMember(f, member) && (f.offset === undefined || !shownOffsets.has(f.offset)));
}

export async function explainCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        member: { type: 'string' },
        disasm: { type: 'boolean' },
        policy: { type: 'string' },
        'no-color': { type: 'boolean' },
      },
    }),
  );
  if (positionals.length !== 1) throw new UsageError('explain needs exactly one FILE');
  const path = positionals[0]!;
  const policy = loadPolicy(policyRequest(io, values.policy));
  const p = paint(io.color && !values['no-color']);
  const abs = path.startsWith('/') ? path : `${io.cwd}/${path}`;

  // The container layer hands each pickle stream to this machine, in the order the
  // streams are reported; keep what needs the stream's bytes before they go away.
  const views: StreamView[] = [];
  const machine = (source: ByteSource, options: Parameters<typeof analyzePickleStream>[1]) => {
    const analysis = analyzePickleStream(source, options);
    const view: StreamView = { payloads: snapshotPayloads(analysis, source) };
    const plain = plainReading(analysis, source, options);
    if (plain) view.plain = plain;
    if (values.disasm) {
      const starts = analysis.pickles.length > 0 ? analysis.pickles.map((x) => x.start) : [options?.start ?? 0];
      view.disasm = disassemble(source, starts);
    }
    views.push(view);
    return analysis;
  };

  let regular = false;
  try {
    regular = statSync(abs).isFile();
  } catch (err) {
    throw new ScanIOError(path, `cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  if (!regular) throw new ScanIOError(path, 'not a regular file (a FIFO or device would block or never end)');
  let opened = false;
  let analysis: ReturnType<typeof analyzeContainerWith>;
  try {
    analysis = withFileSource(abs, (source) => {
      opened = true;
      return analyzeContainerWith(source, { recordEffects: true }, machine);
    });
  } catch (err) {
    if (opened) throw err; // not an I/O problem: let it surface as what it is (exit 2)
    throw new ScanIOError(path, `cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  const report = buildReport(analysis, policy, path);
  const chosen = analysis.streams.map((s, i) => ({ stream: s, view: views[i] })).filter((x) => values.member === undefined || x.stream.member === values.member);
  if (values.member !== undefined && chosen.length === 0) {
    const known = analysis.streams.map((s) => s.member || '(the file itself)').join(', ');
    throw new UsageError(`no pickle stream in member ${JSON.stringify(values.member)}; streams: ${known || 'none'}`);
  }

  const out: string[] = [];
  const verdict = report.verdict === 'allowed' ? p.green('allowed') : p.red('blocked');
  out.push(p.bold(`${path}: ${report.format}${report.compression ? ` (${report.compression})` : ''}, ${verdict} by ${report.policy.source}`));
  for (const { stream, view } of chosen) {
    out.push('', p.bold(`== ${stream.member || '(file)'} [${stream.format}] ==`));
    const marks = marksFor(report, stream.member);
    let marked: Marked[];
    if (values.disasm) {
      marked = fromDisasm(view?.disasm ?? [], marks);
    } else {
      marked = decompiled(stream.analysis, view?.payloads, marks, blockedImports(stream, report));
      if (view?.plain) {
        const plain = view.plain;
        marked.push(
          { text: '', violations: [] },
          { text: '# the same bytes read by plain pickle.load (pandas.read_pickle, np.load, torch.load ...): the array bytes run as opcodes', violations: [], dim: true },
          ...decompiled(plain.analysis, plain.payloads, marks, blockedImports(stream, report, plain.analysis)),
        );
      }
    }
    out.push(...renderMarked(marked, p, !values.disasm));
    const shown = new Set(marked.filter((l) => l.violations.length > 0).map((l) => l.offset));
    if (values.disasm) for (const l of view?.disasm ?? []) if (l.offset !== undefined && marks.has(l.offset)) shown.add(l.offset);
    const rest = unplaced(report, stream.member, shown);
    if (rest.length > 0) {
      out.push('', 'other findings:');
      for (const f of rest) {
        const tag = isViolation(f.code) ? p.red(f.code) : p.dim(f.code);
        out.push(`  ${tag}${f.offset !== undefined ? ` at ${f.offset}` : ''}: ${f.message.split('\n')[0]}`);
      }
    }
  }
  const containerFindings = report.findings.filter((f) => !analysis.streams.some((s) => sameMember(f, s.member)));
  if (values.member === undefined && containerFindings.length > 0) {
    out.push('', 'container findings:');
    for (const f of containerFindings) {
      out.push(`  ${isViolation(f.code) ? p.red(f.code) : p.dim(f.code)}${f.member ? ` ${f.member}` : ''}: ${f.message.split('\n')[0]}`);
    }
  }
  io.out(`${out.join('\n')}\n`);
  return report.verdict === 'allowed' ? 0 : 1;
}
