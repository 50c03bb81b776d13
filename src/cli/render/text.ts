/** Human-readable scan output: one line per file, its violations beneath, then a summary. */
import { isViolation, type Finding } from '../../findings.js';
import type { Paint } from '../io.js';
import type { FileResult, Summary } from '../results.js';

function where(f: Finding): string {
  const parts: string[] = [];
  if (f.member) parts.push(`member ${f.member}`);
  if (f.offset !== undefined) parts.push(`offset ${f.offset}`);
  if (f.opcode) parts.push(f.opcode);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function findingLines(f: Finding, p: Paint): string[] {
  const subject = f.module !== undefined && f.name !== undefined ? ` ${f.module}.${f.name}` : '';
  const code = isViolation(f.code) ? p.red(f.code) : p.dim(f.code);
  const head = `    ${code}${p.bold(subject)}${p.dim(where(f))}${f.limit ? ` limit ${f.limit}` : ''}`;
  return [head, ...f.message.split('\n').map((line) => `      ${line}`)];
}

export function renderResultText(r: FileResult, p: Paint): string {
  if ('error' in r) return `${p.yellow('error  ')}  ${r.path}\n    ${r.error.message}\n`;
  const rep = r.report;
  const format = rep.compression ? `${rep.format}, ${rep.compression}` : rep.format;
  const counts = `${rep.globals.length} global${rep.globals.length === 1 ? '' : 's'}`;
  const verdict = rep.verdict === 'allowed' ? p.green('allowed') : p.red('blocked');
  const lines = [`${verdict}  ${r.path} ${p.dim(`(${format}, ${counts})`)}`];
  const violations = rep.findings.filter((f) => isViolation(f.code));
  for (const f of violations) lines.push(...findingLines(f, p));
  const notes = rep.findings.length - violations.length;
  if (notes > 0 && rep.verdict === 'blocked') lines.push(p.dim(`    (${notes} informational finding${notes === 1 ? '' : 's'}; --json shows them)`));
  return `${lines.join('\n')}\n`;
}

export function renderSummaryText(s: Summary, policySource: string, p: Paint): string {
  const parts = [`${s.allowed} allowed`, `${s.blocked} blocked`, `${s.errors} error${s.errors === 1 ? '' : 's'}`];
  const colored = [s.allowed ? p.green(parts[0]!) : parts[0]!, s.blocked ? p.red(parts[1]!) : parts[1]!, s.errors ? p.yellow(parts[2]!) : parts[2]!];
  return `\n${s.files} file${s.files === 1 ? '' : 's'} scanned: ${colored.join(', ')}. Policy: ${policySource}\n`;
}
