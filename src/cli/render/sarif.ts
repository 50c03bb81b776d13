/**
 * SARIF 2.1.0 output for code-scanning dashboards. Rule ids are the finding codes.
 * GitHub needs `region.startLine`; pickles have no lines, so every result is on line 1
 * and carries the byte offset: in `region.byteOffset` when it is an offset in the file
 * itself, and in the logical location (the container member) plus `properties` when it
 * is an offset inside a member.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VIOLATION_CODES, isViolation, type Finding, type FindingCode } from '../../findings.js';
import type { FileResult } from '../results.js';

const RULE_TEXT: Record<FindingCode, string> = {
  'global-not-allowed': 'The pickle imports a global that is not on the allow-list.',
  'global-denied': 'The pickle imports a global that is denied or known to be dangerous.',
  'attribute-traversal': 'The pickle imports a dotted or dunder name; only an exact allow entry may permit it.',
  'dynamic-global': 'The pickle builds an import name at load time, so it cannot be checked.',
  'mutates-global': 'The pickle modifies a module, class or function object (BUILD/SETITEM/APPEND on a global).',
  'indirect-call': 'The pickle calls something that is not a checked global.',
  'extension-registry': 'The pickle uses the copyreg extension registry (EXT1/EXT2/EXT4).',
  'frame-violation': 'An opcode crosses a FRAME boundary, where CPython unpicklers disagree.',
  malformed: 'The pickle is malformed; the part before the error would still run.',
  limit: 'A resource bound was hit before the scan finished.',
  'container-malformed': 'The container cannot be read the way its loader reads it.',
  'container-ambiguous': 'Two loaders could read different bytes from this container.',
  'unsupported-compression': 'Encrypted, or compressed with a method that cannot be decoded.',
  'decompression-failed': 'A compressed stream does not decode.',
  'not-a-pickle': 'Bytes that fail before any import could run (informational).',
  'persistent-id': 'Persistent ids (tensor storages) were seen (informational).',
  'no-pickle': 'A container with no pickle in it (informational).',
};

const ALL_CODES = [...VIOLATION_CODES, 'not-a-pickle', 'persistent-id', 'no-pickle'] as const satisfies readonly FindingCode[];

function artifactLocation(path: string, cwd: string): { uri: string; uriBaseId?: string } {
  const abs = isAbsolute(path) ? path : `${cwd}${sep}${path}`;
  const rel = relative(cwd, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { uri: pathToFileURL(abs).href };
  return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

function fingerprint(parts: Array<string | number | undefined>): string {
  return createHash('sha256').update(parts.map((p) => String(p ?? '')).join('\0')).digest('hex').slice(0, 32);
}

function resultFor(f: Finding, path: string, cwd: string): Record<string, unknown> {
  const full = f.module !== undefined && f.name !== undefined ? `${f.module}.${f.name}` : '';
  const subject = full && !f.message.includes(full) ? `${full}: ` : '';
  const where = [f.member ? `member ${f.member}` : '', f.offset !== undefined ? `byte offset ${f.offset}` : '', f.opcode ?? '']
    .filter(Boolean)
    .join(', ');
  const location: Record<string, unknown> = {
    physicalLocation: {
      artifactLocation: artifactLocation(path, cwd),
      region: { startLine: 1, ...(f.offset !== undefined && !f.member ? { byteOffset: f.offset } : {}) },
    },
  };
  if (f.member) location.logicalLocations = [{ name: f.member, fullyQualifiedName: `${path}!/${f.member}`, kind: 'resource' }];
  return {
    ruleId: f.code,
    ruleIndex: (ALL_CODES as readonly string[]).indexOf(f.code),
    level: isViolation(f.code) ? 'error' : 'note',
    message: { text: `${subject}${f.message}${where ? ` (${where})` : ''}` },
    locations: [location],
    partialFingerprints: { 'pickleGuardFinding/v1': fingerprint([f.code, path, f.member, f.module, f.name, f.offset]) },
    properties: {
      ...(f.member ? { member: f.member } : {}),
      ...(f.offset !== undefined ? { byteOffset: f.offset } : {}),
      ...(f.opcode ? { opcode: f.opcode } : {}),
      ...(f.module !== undefined ? { module: f.module } : {}),
      ...(f.name !== undefined ? { name: f.name } : {}),
      ...(f.limit ? { limit: f.limit } : {}),
    },
  };
}

export function sarifDocument(results: readonly FileResult[], toolVersion: string, cwd: string): Record<string, unknown> {
  const sarifResults: Array<Record<string, unknown>> = [];
  const notifications: Array<Record<string, unknown>> = [];
  for (const r of results) {
    if ('error' in r) {
      notifications.push({
        level: 'error',
        message: { text: `${r.path}: ${r.error.message}` },
        locations: [{ physicalLocation: { artifactLocation: artifactLocation(r.path, cwd) } }],
        properties: { code: r.error.code },
      });
      continue;
    }
    for (const f of r.report.findings) sarifResults.push(resultFor(f, r.path, cwd));
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pickle-guard',
            version: toolVersion,
            semanticVersion: toolVersion,
            informationUri: 'https://www.npmjs.com/package/pickle-guard',
            rules: ALL_CODES.map((code) => ({
              id: code,
              name: code.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase()),
              shortDescription: { text: RULE_TEXT[code] },
              fullDescription: { text: RULE_TEXT[code] },
              defaultConfiguration: { level: isViolation(code) ? 'error' : 'note' },
              properties: { tags: ['security'], ...(isViolation(code) ? { 'security-severity': '9.0' } : {}) },
            })),
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(cwd.endsWith(sep) ? cwd : cwd + sep).href } },
        invocations: [{ executionSuccessful: notifications.length === 0, toolExecutionNotifications: notifications }],
        results: sarifResults,
      },
    ],
  };
}
