import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport } from '../../src/scan/verdict.js';
import { policyFromList } from '../../src/policy/exact-list.js';
import type { ContainerAnalysis } from '../../src/formats/types.js';
import type { ImportRecord, PickleStreamAnalysis } from '../../src/pickle/types.js';

function imp(partial: Partial<ImportRecord> & Pick<ImportRecord, 'index' | 'module' | 'name'>): ImportRecord {
  return {
    written: { module: partial.module, name: partial.name },
    origin: 'import',
    opcode: 'STACK_GLOBAL',
    offset: 0,
    pickleIndex: 0,
    traversal: partial.name.includes('.'),
    dunder: false,
    uses: [{ kind: 'value' }],
    ...partial,
  };
}

function container(member: string, analysis: Partial<PickleStreamAnalysis>): ContainerAnalysis {
  return {
    format: 'torch-zip',
    streams: [
      {
        member,
        format: 'torch-zip',
        analysis: { imports: [], findings: [], pickles: [], persistentIds: [], end: 0, ...analysis },
      },
    ],
    findings: [],
  };
}

test('an import on the list is allowed and names the entry that allowed it', () => {
  const report = buildReport(
    container('archive/data.pkl', { imports: [imp({ index: 0, module: 'collections', name: 'OrderedDict', offset: 7 })] }),
    policyFromList(['collections.OrderedDict']),
    '/m/model.pt',
  );
  assert.equal(report.verdict, 'allowed');
  assert.deepEqual(report.findings, []);
  assert.equal(report.globals[0]?.decision, 'collections.OrderedDict');
  assert.equal(report.globals[0]?.member, 'archive/data.pkl');
  assert.equal(report.path, '/m/model.pt');
});

test('an import off the list blocks, with member, offset and the line to add', () => {
  const report = buildReport(
    container('archive/data.pkl', { imports: [imp({ index: 0, module: 'mylab.models', name: 'TinyNet', offset: 42, uses: [{ kind: 'call', via: 'REDUCE', offset: 60 }] })] }),
    policyFromList([]),
    undefined,
  );
  assert.equal(report.verdict, 'blocked');
  const [finding] = report.findings;
  assert.equal(finding?.code, 'global-not-allowed');
  assert.equal(finding?.member, 'archive/data.pkl');
  assert.equal(finding?.offset, 42);
  assert.match(finding?.message ?? '', /- mylab\.models\.TinyNet/);
  assert.deepEqual(report.globals[0]?.uses, ['call:REDUCE']);
});

test('a known-dangerous import is denied and never gets the line to add', () => {
  const report = buildReport(container('', { imports: [imp({ index: 0, module: 'posix', name: 'system' })] }), policyFromList([]), undefined);
  assert.equal(report.findings[0]?.code, 'global-denied');
  assert.doesNotMatch(report.findings[0]?.message ?? '', /add to the policy/);
});

test('a dotted name is judged as attribute traversal: a walk to a dangerous name is denied, a benign walk gets its module:qualname line', () => {
  const dangerous = buildReport(container('', { imports: [imp({ index: 0, module: 'numpy', name: 'os.system' })] }), policyFromList(['numpy.ndarray']), undefined);
  assert.equal(dangerous.findings[0]?.code, 'global-denied');
  assert.doesNotMatch(dangerous.findings[0]?.message ?? '', /add to the policy/);
  const walk = buildReport(container('', { imports: [imp({ index: 0, module: 'mylab', name: 'models.TinyNet' })] }), policyFromList(['mylab.models.TinyNet']), undefined);
  assert.equal(walk.findings[0]?.code, 'attribute-traversal');
  assert.match(walk.findings[0]?.message ?? '', /- mylab:models\.TinyNet/);
});

test('getattr used only in the constrained form is judged by the derived name', () => {
  const getattr = imp({ index: 0, module: 'builtins', name: 'getattr', uses: [{ kind: 'constrained-getattr', offset: 30, derived: 2 }] });
  const cls = imp({ index: 1, module: 'mylab', name: 'Color' });
  const derived = imp({ index: 2, module: 'mylab', name: 'Color.RED', origin: 'getattr', opcode: 'REDUCE', offset: 30, traversal: false });
  const allowed = buildReport(container('', { imports: [getattr, cls, derived] }), policyFromList(['mylab.Color', 'mylab.Color.RED']), undefined);
  assert.equal(allowed.verdict, 'allowed');
  assert.equal(allowed.globals[0]?.decision, 'constrained-getattr');

  const blocked = buildReport(container('', { imports: [getattr, cls, derived] }), policyFromList(['mylab.Color']), undefined);
  assert.equal(blocked.verdict, 'blocked');
  assert.deepEqual(blocked.findings.map((f) => `${f.module}.${f.name}`), ['mylab.Color.RED']);
});

test('getattr used any other way is judged as builtins.getattr itself', () => {
  const getattr = imp({
    index: 0,
    module: 'builtins',
    name: 'getattr',
    uses: [{ kind: 'constrained-getattr', offset: 30, derived: 1 }, { kind: 'call', via: 'REDUCE', offset: 50 }],
  });
  const report = buildReport(container('', { imports: [getattr] }), policyFromList([]), undefined);
  assert.equal(report.verdict, 'blocked');
  assert.equal(report.findings[0]?.name, 'getattr');
});

test('machine findings block, carry the member, and informational ones come last', () => {
  const report = buildReport(
    container('arr_0.npy', {
      findings: [
        { code: 'not-a-pickle', message: 'no code can run' },
        { code: 'frame-violation', message: 'crosses a frame', offset: 12, opcode: 'BINUNICODE' },
      ],
    }),
    policyFromList([]),
    undefined,
  );
  assert.equal(report.verdict, 'blocked');
  assert.deepEqual(report.findings.map((f) => f.code), ['frame-violation', 'not-a-pickle']);
  assert.equal(report.findings[0]?.member, 'arr_0.npy');
});

test('informational findings alone leave the file allowed', () => {
  const report = buildReport(container('', { findings: [{ code: 'not-a-pickle', message: 'x' }] }), policyFromList([]), undefined);
  assert.equal(report.verdict, 'allowed');
});

test('a limit given to the scanner reaches the pickle machine and is named when hit (maxImports)', async () => {
  const { scanBytes } = await import('../../src/scan/index.js');
  const { PickleWriter } = await import('../pickle/writer.js');
  const w = new PickleWriter().proto(4);
  for (const name of ['OrderedDict', 'Counter', 'deque']) w.global('collections', name).pop();
  const bytes = w.none().stop().bytes();
  const allow = ['collections.OrderedDict', 'collections.Counter', 'collections.deque'];
  assert.equal(scanBytes(bytes, { policy: allow }).verdict, 'allowed');
  const limited = scanBytes(bytes, { policy: allow, limits: { maxImports: 2 } });
  assert.equal(limited.verdict, 'blocked');
  assert.deepEqual(limited.findings.filter((f) => f.code === 'limit').map((f) => f.limit), ['maxImports']);
});

test('every pickle limit given to the scanner reaches the machine (maxCallUses)', async () => {
  const { scanBytes } = await import('../../src/scan/index.js');
  const { PickleWriter } = await import('../pickle/writer.js');
  const w = new PickleWriter().proto(4).global('collections', 'OrderedDict').memoize();
  for (let i = 0; i < 3; i++) w.emptyTuple().reduce().pop().binget(0);
  const bytes = w.pop().none().stop().bytes();
  const allow = ['collections.OrderedDict'];
  assert.equal(scanBytes(bytes, { policy: allow }).verdict, 'allowed');
  const limited = scanBytes(bytes, { policy: allow, limits: { maxCallUses: 2 } });
  assert.deepEqual(limited.findings.filter((f) => f.code === 'limit').map((f) => f.limit), ['maxCallUses']);
});
