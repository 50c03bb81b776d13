/**
 * Applies a policy to what the container and pickle layers found, producing the report.
 * Pure: analysis + allow-list in, report data out.
 */
import { isViolation, type Finding } from '../findings.js';
import type { ContainerAnalysis } from '../formats/types.js';
import type { ImportRecord } from '../pickle/types.js';
import type { AllowList, Policy } from '../policy/types.js';
import { REPORT_VERSION, type ReportGlobal, type ReportPickle, type ScanReport } from './report.js';

/** `builtins.getattr` used only in the constrained form is judged by its derived imports instead. */
function onlyConstrainedGetattr(imp: ImportRecord): boolean {
  return imp.uses.length > 0 && imp.uses.every((u) => u.kind === 'constrained-getattr');
}

function describeUse(use: ImportRecord['uses'][number]): string {
  return use.kind === 'call' ? `call:${use.via}` : use.kind;
}

function judgeImport(imp: ImportRecord, member: string, allowList: AllowList): { global: ReportGlobal; finding?: Finding } {
  const base = {
    module: imp.module,
    name: imp.name,
    ...(imp.written.module !== imp.module || imp.written.name !== imp.name ? { written: imp.written } : {}),
    origin: imp.origin,
    member,
    offset: imp.offset,
    opcode: imp.opcode,
    uses: imp.uses.map(describeUse),
  };
  if (imp.origin === 'import' && onlyConstrainedGetattr(imp)) {
    return { global: { ...base, allowed: true, decision: 'constrained-getattr' } };
  }
  const decision = allowList.check(imp);
  if (decision.allowed) return { global: { ...base, allowed: true, decision: decision.entry } };
  const finding: Finding = {
    code: decision.code,
    message: decision.suggestion
      ? `${decision.reason}. If you trust this model, add to the policy's allow list: ${decision.suggestion}`
      : decision.reason,
    offset: imp.offset,
    opcode: imp.opcode,
    module: imp.module,
    name: imp.name,
    ...(member ? { member } : {}),
  };
  return { global: { ...base, allowed: false, decision: decision.code }, finding };
}

export function buildReport(analysis: ContainerAnalysis, policy: Policy, path: string | undefined): ScanReport {
  const allowList = policy.forFile(path);
  const findings: Finding[] = [...analysis.findings];
  const globals: ReportGlobal[] = [];
  const pickles: ReportPickle[] = [];
  for (const stream of analysis.streams) {
    const member = stream.member;
    for (const f of stream.analysis.findings) findings.push(member && !f.member ? { ...f, member } : f);
    for (const imp of stream.analysis.imports) {
      const judged = judgeImport(imp, member, allowList);
      globals.push(judged.global);
      if (judged.finding) findings.push(judged.finding);
    }
    for (const p of stream.analysis.pickles) {
      pickles.push({ member, index: p.index, start: p.start, end: p.end, protocol: p.protocol, complete: p.complete });
    }
  }
  // Violations first, in byte order within each group; informational findings after.
  const violations = findings.filter((f) => isViolation(f.code));
  const infos = findings.filter((f) => !isViolation(f.code));
  return {
    version: REPORT_VERSION,
    ...(path !== undefined ? { path } : {}),
    format: analysis.format,
    ...(analysis.compression ? { compression: analysis.compression } : {}),
    verdict: violations.length > 0 ? 'blocked' : 'allowed',
    findings: [...violations, ...infos],
    globals,
    pickles,
    policy: { source: policy.source, mode: policy.mode },
  };
}
