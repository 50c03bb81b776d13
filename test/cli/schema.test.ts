/** The validators themselves: they must reject what is wrong, or the CLI tests prove nothing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportValidator, sarifValidator } from './schemas.js';

const report = {
  version: 1,
  path: 'm.pkl',
  format: 'pickle',
  verdict: 'blocked',
  findings: [{ code: 'global-denied', message: 'posix.system is dangerous', offset: 0, opcode: 'GLOBAL', module: 'posix', name: 'system' }],
  globals: [
    { module: 'posix', name: 'system', origin: 'import', member: '', offset: 0, opcode: 'GLOBAL', uses: ['call:REDUCE'], allowed: false, decision: 'global-denied' },
  ],
  pickles: [{ member: '', index: 0, start: 0, end: 26, protocol: 0, complete: true }],
  policy: { source: 'preset:default', mode: 'enforce' },
};
const doc = { tool: { name: 'pickle-guard', version: '0.1.0' }, version: 1, summary: { files: 1, allowed: 0, blocked: 1, errors: 0 }, results: [report] };

test('report schema accepts a well-formed document', () => {
  const v = reportValidator();
  assert.equal(v(doc), true, JSON.stringify(v.errors));
});

test('report schema rejects unknown codes, allowed verdicts with violations, and stray fields', () => {
  const v = reportValidator();
  const badCode = structuredClone(doc);
  badCode.results[0]!.findings[0]!.code = 'os-system';
  assert.equal(v(badCode), false);
  const lying = structuredClone(doc);
  lying.results[0]!.verdict = 'allowed';
  assert.equal(v(lying), false, 'an allowed report may carry informational findings only');
  const stray = structuredClone(doc) as Record<string, unknown>;
  stray.extra = true;
  assert.equal(v(stray), false);
});

test('SARIF schema rejects a log without version and a result with a bad level', () => {
  const v = sarifValidator();
  const ok = { version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ ruleId: 'r', level: 'error', message: { text: 'm' } }] }] };
  assert.equal(v(ok), true, JSON.stringify(v.errors));
  assert.equal(v({ runs: [] }), false);
  const badLevel = structuredClone(ok);
  badLevel.runs[0]!.results[0]!.level = 'fatal';
  assert.equal(v(badLevel), false);
  const badRegion = structuredClone(ok) as any;
  badRegion.runs[0].results[0].locations = [{ physicalLocation: { artifactLocation: { uri: 'a' }, region: { startLine: 0 } } }];
  assert.equal(v(badRegion), false, 'startLine must be >= 1');
});
