/** `pickle-guard explain FILE`: what each pickle in a file would do, with blocked lines marked. */
import { ScanIOError, UsageError } from '../errors.js';
import { isViolation, type Finding } from '../findings.js';
import { analyzeContainer } from '../formats/index.js';
import type { ScannedStream } from '../formats/types.js';
import { withFileSource, type ByteSource } from '../io/byte-source.js';
import { decompile, type DecompiledLine } from '../pickle/decompile.js';
import { disassemble } from '../pickle/disasm.js';
import type { ScanReport } from '../scan/report.js';
import { buildReport } from '../scan/verdict.js';
import { parseArgs } from 'node:util';
import { usage } from './args.js';
import { paint, type CliIO, type Paint } from './io.js';
import { loadPolicy } from './policy-source.js';

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

/** Imports of one stream that the report blocked, by import index. */
function blockedImports(stream: ScannedStream, report: ScanReport): Map<number, string> {
  const blocked = new Map<number, string>();
  for (const imp of stream.analysis.imports) {
    const g = report.globals.find(
      (x) => x.member === stream.member && x.offset === imp.offset && x.module === imp.module && x.name === imp.name,
    );
    if (g && !g.allowed) blocked.set(imp.index, `${g.decision}`);
  }
  return blocked;
}

function renderLines(lines: readonly DecompiledLine[], p: Paint): string[] {
  const width = Math.max(4, ...lines.map((l) => String(l.offset ?? '').length));
  return lines.map((l) => {
    const gutter = `${l.violations.length > 0 ? p.red('!') : ' '} ${String(l.offset ?? '').padStart(width)} | `;
    const text = l.kind === 'comment' ? p.dim(l.text) : l.violations.length > 0 ? p.red(l.text) : l.text;
    const why = l.violations.map((v) => `\n${' '.repeat(width + 2)} |     ${p.red(`^ BLOCKED ${v.split('\n')[0]}`)}`).join('');
    return `${gutter}${text}${why}`;
  });
}

/** Findings no line shows (no offset, or an offset no line carries). */
function unplaced(report: ScanReport, member: string, lines: readonly DecompiledLine[]): Finding[] {
  const shown = new Set(lines.filter((l) => l.violations.length > 0).map((l) => l.offset));
  return report.findings.filter((f) => sameMember(f, member) && (f.offset === undefined || !shown.has(f.offset)));
}

function copyReader(source: ByteSource): (offset: number, length: number) => Uint8Array {
  return (offset, length) => source.read(offset, length).slice();
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
  const policy = loadPolicy({ cwd: io.cwd, env: { ...io.env }, ...(values.policy !== undefined ? { explicit: values.policy } : {}) });
  const p = paint(io.color && !values['no-color']);
  const abs = path.startsWith('/') ? path : `${io.cwd}/${path}`;

  let opened = false;
  const out: string[] = [];
  let verdict: ScanReport['verdict'];
  try {
    verdict = withFileSource(abs, (source) => {
      opened = true;
      const analysis = analyzeContainer(source, { recordEffects: true });
      const report = buildReport(analysis, policy, path);
      const streams = analysis.streams.filter((s) => values.member === undefined || s.member === values.member);
      if (values.member !== undefined && streams.length === 0) {
        const known = analysis.streams.map((s) => s.member || '(the file itself)').join(', ');
        throw new UsageError(`no pickle stream in member ${JSON.stringify(values.member)}; streams: ${known || 'none'}`);
      }
      out.push(p.bold(`${path}: ${report.format}${report.compression ? ` (${report.compression})` : ''}, ${report.verdict === 'allowed' ? p.green('allowed') : p.red('blocked')} by ${report.policy.source}`));
      for (const stream of streams) {
        out.push('', p.bold(`== ${stream.member || '(file)'} [${stream.format}] ==`));
        // Container members are read from the container's own bytes; payload literals
        // are shown only for the file itself, where offsets are file offsets.
        const readBytes = stream.member === '' ? copyReader(source) : undefined;
        if (values.disasm) {
          out.push(...disassemble(source, stream, readBytes));
          continue;
        }
        const lines = decompile(stream.analysis, {
          marks: marksFor(report, stream.member),
          blockedImports: blockedImports(stream, report),
          ...(readBytes ? { readBytes } : {}),
        });
        out.push(...renderLines(lines, p));
        const rest = unplaced(report, stream.member, lines);
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
        for (const f of containerFindings) out.push(`  ${isViolation(f.code) ? p.red(f.code) : p.dim(f.code)} ${f.member ?? ''}: ${f.message}`);
      }
      return report.verdict;
    });
  } catch (err) {
    if (!opened) throw new ScanIOError(path, `cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    throw err;
  }
  io.out(`${out.join('\n')}\n`);
  return verdict === 'allowed' ? 0 : 1;
}
