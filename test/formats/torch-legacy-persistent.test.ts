/**
 * Persistent ids in torch files, resolved the way each loader's persistent_load does:
 * the legacy format's `('module', cls, source_file, source)` loads as `cls`, so a real
 * `torch.save(model, _use_new_zipfile_serialization=False)` is judged by its globals,
 * not flagged as calls of unknown values. Everything else stays an opaque value.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadPolicyFile, presetPolicy } from '../../src/policy/discover.js';
import { policyFromList } from '../../src/policy/exact-list.js';
import { scanBytes, scanFile } from '../../src/scan/index.js';
import type { ScanReport } from '../../src/scan/report.js';
import { PickleWriter } from '../pickle/writer.js';
import { writeTar } from './helpers/tar-writer.js';
import { writeZip } from './helpers/zip-writer.js';

const FIXTURE = 'test/fixtures/models/torch/whole_model.legacy.pt';
const L = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const MAGIC = L('\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.');
const PROTOCOL = L('\x80\x02M\xe9\x03.');
const SYS_INFO = L('\x80\x02}q\x00.');
const KEYS = L('\x80\x02]q\x00.');

const DEFAULT = presetPolicy('default');

/** A legacy file: magic, protocol, sys_info, `object` and the storage keys; `object` may replace pickle `at`. */
function legacy(object: PickleWriter, at = 3): Uint8Array {
  const pickles = [MAGIC, PROTOCOL, SYS_INFO, KEYS, KEYS];
  pickles.splice(at, 1, [...object.bytes()]);
  return Uint8Array.from(pickles.flat());
}

/** Pushes a persistent id `(tag, <posix.system>, ...rest)` and calls what it loads as with NEWOBJ. */
function idThenNewobj(items: (w: PickleWriter) => void): PickleWriter {
  const w = new PickleWriter().proto(2).mark();
  items(w);
  return w.tuple().binpersid().emptyTuple().newobj().stop();
}

const moduleId = (w: PickleWriter): void => void w.shortBinUnicode('module').global('posix', 'system').shortBinUnicode('x').shortBinUnicode('y');

function violations(report: ScanReport): string[] {
  return report.findings.filter((f) => f.code !== 'persistent-id').map((f) => `${f.code}${f.name ? ` ${f.module}.${f.name}` : ''}`);
}

function usesOf(report: ScanReport, full: string): string[] | undefined {
  return report.globals.find((g) => `${g.module}.${g.name}` === full)?.uses;
}

describe('torch legacy: a real whole-model save', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-legacy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is blocked by the default policy for its user class only, which is called, not an indirect call', () => {
    const report = scanFile(FIXTURE, { policy: DEFAULT });
    assert.equal(report.format, 'torch-legacy');
    assert.equal(report.verdict, 'blocked');
    assert.deepEqual(violations(report), ['global-not-allowed mylab.models.TinyNet']);
    assert.deepEqual(usesOf(report, 'mylab.models.TinyNet'), ['value', 'call:NEWOBJ']);
    for (const cls of ['torch.nn.modules.conv.Conv2d', 'torch.nn.modules.batchnorm.BatchNorm2d', 'torch.nn.modules.linear.Linear', 'torch.nn.modules.activation.ReLU']) {
      assert.ok(usesOf(report, cls)?.includes('call:NEWOBJ'), cls);
    }
    // The informational record of the ids is unchanged.
    assert.ok(report.findings.some((f) => f.code === 'persistent-id'));
  });

  it('is allowed by a policy that extends default and allows the user class', () => {
    const file = join(dir, 'pickle-guard.yaml');
    writeFileSync(file, 'version: 1\nextends: [default]\nallow:\n  - mylab.models.TinyNet\n');
    const report = scanFile(FIXTURE, { policy: loadPolicyFile(file) });
    assert.deepEqual(violations(report), []);
    assert.equal(report.verdict, 'allowed');
  });

  it('is allowed by an exact list of its globals and no other', () => {
    const all = scanFile(FIXTURE, { policy: [] }).globals.map((g) => `${g.module}.${g.name}`);
    assert.equal(scanFile(FIXTURE, { policy: policyFromList(all) }).verdict, 'allowed');
    const withoutUserClass = all.filter((n) => n !== 'mylab.models.TinyNet');
    assert.deepEqual(violations(scanFile(FIXTURE, { policy: policyFromList(withoutUserClass) })), ['global-not-allowed mylab.models.TinyNet']);
  });
});

describe('torch legacy: crafted persistent ids', () => {
  it("('module', <posix.system>, 'x', 'y') then NEWOBJ: posix.system is reported as called, and blocked", () => {
    const report = scanBytes(legacy(idThenNewobj(moduleId)), { policy: DEFAULT });
    assert.equal(report.format, 'torch-legacy');
    assert.equal(report.verdict, 'blocked');
    assert.deepEqual(usesOf(report, 'posix.system'), ['value', 'call:NEWOBJ']);
    assert.equal(report.globals.find((g) => g.name === 'system')?.allowed, false);
    assert.ok(!violations(report).includes('indirect-call'));
    // Allowed by name, the call of the loaded class passes too: it is judged as that global.
    assert.deepEqual(violations(scanBytes(legacy(idThenNewobj(moduleId)), { policy: ['posix.system'] })), []);
  });

  it('sources written as None (torch could not read them) resolve too', () => {
    const ids = idThenNewobj((w) => void w.shortBinUnicode('module').global('posix', 'system').none().none());
    assert.deepEqual(violations(scanBytes(legacy(ids), { policy: ['posix.system'] })), []);
  });

  const otherShapes: Array<[string, (w: PickleWriter) => void]> = [
    ['three items', (w) => void w.shortBinUnicode('module').global('posix', 'system').shortBinUnicode('x')],
    ['five items', (w) => void w.shortBinUnicode('module').global('posix', 'system').shortBinUnicode('x').shortBinUnicode('y').none()],
    ['another tag', (w) => void w.shortBinUnicode('modules').global('posix', 'system').shortBinUnicode('x').shortBinUnicode('y')],
    ['a storage id', (w) => void w.shortBinUnicode('storage').global('posix', 'system').shortBinUnicode('x').shortBinUnicode('cpu').binint1(1).none()],
    ['the tag as bytes', (w) => void w.shortBinBytes(L('module')).global('posix', 'system').shortBinUnicode('x').shortBinUnicode('y')],
    ['sources that are not str or None', (w) => void w.shortBinUnicode('module').global('posix', 'system').binint1(1).binint1(2)],
  ];
  for (const [what, items] of otherShapes) {
    it(`a persistent id of another shape (${what}) then NEWOBJ: still an indirect-call`, () => {
      const report = scanBytes(legacy(idThenNewobj(items)), { policy: ['posix.system'] });
      assert.deepEqual(violations(report), ['indirect-call']);
      assert.deepEqual(usesOf(report, 'posix.system'), ['value']);
    });
  }

  it("('module', <not a global>, 'x', 'y') then NEWOBJ: still an indirect-call", () => {
    const callResult = idThenNewobj((w) => void w.shortBinUnicode('module').global('posix', 'system').shortBinUnicode('id').tuple1().reduce().shortBinUnicode('x').shortBinUnicode('y'));
    const str = idThenNewobj((w) => void w.shortBinUnicode('module').shortBinUnicode('posix.system').shortBinUnicode('x').shortBinUnicode('y'));
    for (const object of [callResult, str]) {
      const report = scanBytes(legacy(object), { policy: ['posix.system'] });
      assert.deepEqual(violations(report), ['indirect-call']);
    }
  });

  it('only the object pickle has a persistent_load: the same id in sys_info stays opaque', () => {
    const report = scanBytes(legacy(idThenNewobj(moduleId), 2), { policy: ['posix.system'] });
    assert.equal(report.format, 'torch-legacy');
    assert.deepEqual(violations(report), ['indirect-call']);
  });
});

describe("other torch formats' persistent_load", () => {
  it("torch zip (data.pkl) only loads 'storage' ids: a 'module' id called is still an indirect-call", () => {
    const zip = writeZip([{ name: 'arch/data.pkl', data: idThenNewobj(moduleId).bytes() }]);
    const report = scanBytes(zip, { policy: ['posix.system'] });
    assert.equal(report.format, 'torch-zip');
    assert.deepEqual(violations(report), ['indirect-call']);
  });

  it('TorchScript archives likewise', () => {
    const zip = writeZip([
      { name: 'arch/data.pkl', data: idThenNewobj(moduleId).bytes() },
      { name: 'arch/constants.pkl', data: Uint8Array.from(KEYS) },
    ]);
    const report = scanBytes(zip, { policy: ['posix.system'] });
    assert.equal(report.format, 'torchscript');
    assert.deepEqual(violations(report), ['indirect-call']);
  });

  it("the tar format's pickle member: (cls, source_file, source) loads as cls", () => {
    const object = new PickleWriter().proto(2).mark().global('posix', 'system').shortBinUnicode('x').none().tuple().binpersid().emptyTuple().newobj().stop();
    const members = (pickle: PickleWriter) =>
      writeTar([
        { name: 'sys_info', data: Uint8Array.from(SYS_INFO) },
        { name: 'pickle', data: pickle.bytes() },
        { name: 'storages', data: Uint8Array.from([...L('K\x00.'), ...KEYS]) },
        { name: 'tensors', data: Uint8Array.from(L('K\x00.')) },
      ]);
    const report = scanBytes(members(object), { policy: ['posix.system'] });
    assert.equal(report.format, 'torch-tar');
    assert.deepEqual(violations(report), []);
    assert.deepEqual(usesOf(report, 'posix.system'), ['value', 'call:NEWOBJ']);
    assert.equal(scanBytes(members(object), { policy: DEFAULT }).verdict, 'blocked');
    // A storage key (not a tuple) loads as a storage: calling it stays indirect.
    const key = new PickleWriter().proto(2).global('posix', 'system').pop().shortBinUnicode('0').binpersid().emptyTuple().newobj().stop();
    assert.deepEqual(violations(scanBytes(members(key), { policy: ['posix.system'] })), ['indirect-call']);
  });
});
