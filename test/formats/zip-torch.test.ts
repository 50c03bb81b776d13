import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codes, record } from './helpers/recorder.js';
import { writeZip } from './helpers/zip-writer.js';

const L = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const DATA_PKL = '\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.';
const EVIL = '\x80\x02cposix\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.';

describe('torch zip (miniz semantics)', () => {
  it('scans data.pkl and never reads tensor data, even when it looks like a pickle', () => {
    const zip = writeZip([
      { name: 'arch/data.pkl', data: L(DATA_PKL) },
      { name: 'arch/data/0', data: L(EVIL) },
      { name: 'arch/version', data: '3\n' },
    ]);
    const { analysis, handed } = record(zip);
    assert.equal(analysis.format, 'torch-zip');
    assert.deepEqual(handed.map((h) => [h.member, h.text, h.format]), [['arch/data.pkl', DATA_PKL, 'torch-zip']]);
    assert.deepEqual(analysis.findings, []);
  });

  it('reads the central-directory name, not the local one (local "data.pkx")', () => {
    const zip = writeZip([
      { name: 'arch/data.pkl', localName: 'arch/data.pkx', data: L(EVIL) },
      { name: 'arch/version', data: '3\n' },
    ]);
    const { handed } = record(zip);
    assert.deepEqual(handed.map((h) => [h.member, h.text]), [['arch/data.pkl', EVIL]]);
  });

  it('scans a member whose LOCAL flags claim encryption (torch ignores local flags)', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', localFlags: 0x41, data: L(EVIL) }]);
    const { analysis, handed } = record(zip);
    assert.deepEqual(handed.map((h) => h.text), [EVIL]);
    assert.deepEqual(codes(analysis), []);
  });

  it('scans a member that Python zipfile refuses (version needed 9.9) but miniz reads', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', versionNeeded: 99, data: L(EVIL) }]);
    assert.deepEqual(record(zip).handed.map((h) => h.text), [EVIL]);
  });

  it('refuses a centrally encrypted / patched / strongly encrypted pickle member', () => {
    for (const flags of [0x1, 0x20, 0x40]) {
      const zip = writeZip([{ name: 'arch/data.pkl', flags, data: L(EVIL) }]);
      const { analysis, handed } = record(zip);
      assert.deepEqual(handed, []);
      assert.deepEqual(codes(analysis), ['unsupported-compression@arch/data.pkl'], `flags ${flags}`);
    }
  });

  it('refuses methods other than stored and deflate', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', method: 12, data: L(EVIL) }]);
    assert.deepEqual(codes(record(zip).analysis), ['unsupported-compression@arch/data.pkl']);
  });

  it('inflates a deflated data.pkl and scans the inflated bytes', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', method: 8, data: L(EVIL) }]);
    assert.deepEqual(record(zip).handed.map((h) => h.text), [EVIL]);
  });

  it('scans every *.pkl / *_pkl member in any case, even under data/', () => {
    const zip = writeZip([
      { name: 'arch/data.pkl', data: L(DATA_PKL) },
      { name: 'arch/CONSTANTS.PKL', data: L(EVIL) },
      { name: 'arch/code/m.py.debug_pkl', data: L(EVIL) },
      { name: 'arch/data/evil.pkl', data: L(EVIL) },
      { name: 'arch/code/m.py', data: 'class M(Module):\n  pass\n' },
    ]);
    const { analysis, handed } = record(zip);
    assert.equal(analysis.format, 'torchscript');
    assert.deepEqual(handed.map((h) => h.member), ['arch/data.pkl', 'arch/CONSTANTS.PKL', 'arch/code/m.py.debug_pkl', 'arch/data/evil.pkl']);
  });

  it('scans a pickle hidden in a non-.pkl member outside data/ (raw pickle saved as .bin)', () => {
    const zip = writeZip([
      { name: 'arch/data.pkl', data: L(DATA_PKL) },
      { name: 'arch/extra/model.bin', data: L(EVIL) },
      { name: 'arch/extra/p0.txt', data: 'cposix\nsystem\n(S\'id\'\ntR.' },
    ]);
    const { handed } = record(zip);
    assert.deepEqual(handed.map((h) => h.member), ['arch/data.pkl', 'arch/extra/model.bin', 'arch/extra/p0.txt']);
    assert.equal(handed[1]?.text, EVIL);
  });

  it('flags names that differ only in case (miniz lookup is case-insensitive) and scans both', () => {
    const zip = writeZip([
      { name: 'arch/data.pkl', data: L(DATA_PKL) },
      { name: 'arch/DATA.pkl', data: L(EVIL) },
    ]);
    const { analysis, handed } = record(zip);
    assert.deepEqual(codes(analysis), ['container-ambiguous@arch/DATA.pkl']);
    assert.deepEqual(handed.map((h) => h.text), [DATA_PKL, EVIL]);
  });

  it('fails closed when the first entry is not in a folder, and still scans', () => {
    const zip = writeZip([
      { name: 'data.pkl', data: L(EVIL) },
      { name: 'arch/data.pkl', data: L(DATA_PKL) },
    ]);
    const { analysis, handed } = record(zip);
    assert.deepEqual(codes(analysis), ['container-malformed@']);
    assert.deepEqual(handed.map((h) => h.member), ['data.pkl', 'arch/data.pkl']);
  });

  it('takes the archive prefix from the FIRST central entry: other folders are still scanned', () => {
    const zip = writeZip([
      { name: 'a/version', data: '3\n' },
      { name: 'b/data.pkl', data: L(EVIL) },
      { name: 'a/data.pkl', data: L(DATA_PKL) },
      { name: 'b/data/0', data: L(EVIL) }, // not under a/data/: looked at by content
    ]);
    const { handed } = record(zip);
    assert.deepEqual(handed.map((h) => h.member), ['b/data.pkl', 'a/data.pkl', 'b/data/0']);
  });

  it('reads zip64 archives (sizes and offsets from the zip64 extra field and record)', () => {
    const zip = writeZip(
      [
        { name: 'arch/data.pkl', data: L(EVIL) },
        { name: 'arch/data/0', data: new Uint8Array(100) },
      ],
      { zip64: true },
    );
    const { analysis, handed } = record(zip);
    assert.deepEqual(codes(analysis), []);
    assert.deepEqual(handed.map((h) => [h.member, h.text]), [['arch/data.pkl', EVIL]]);
  });

  it('stops a deflate bomb at maxDecompressedBytesPerMember without inflating it', () => {
    const big = new Uint8Array(4 << 20); // 4 MiB of zeros, deflates to a few KiB
    const zip = writeZip([{ name: 'arch/data.pkl', method: 8, data: big }]);
    assert.ok(zip.length < 64 * 1024);
    const { analysis, handed } = record(zip, { limits: { maxDecompressedBytesPerMember: 1 << 20 } });
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['limit:maxDecompressedBytesPerMember@arch/data.pkl']);
  });

  it('stops at maxDecompressedBytesTotal across members', () => {
    const part = new Uint8Array(600 * 1024);
    part[0] = 0x80;
    part[1] = 2;
    const zip = writeZip([
      { name: 'arch/a.pkl', method: 8, data: part },
      { name: 'arch/b.pkl', method: 8, data: part },
    ]);
    const { analysis, handed } = record(zip, { limits: { maxDecompressedBytesTotal: 1 << 20 } });
    assert.deepEqual(handed.map((h) => h.member), ['arch/a.pkl']);
    assert.deepEqual(codes(analysis), ['limit:maxDecompressedBytesTotal@arch/b.pkl']);
  });

  it('flags a member that inflates to more than it declares (miniz fails, zipfile truncates)', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', method: 8, data: L(EVIL), uncompressedSize: 5 }]);
    const { analysis, handed } = record(zip);
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['container-ambiguous@arch/data.pkl']);
  });

  it('flags and still scans a member that inflates to less than it declares', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', method: 8, data: L(EVIL), uncompressedSize: 500 }]);
    const { analysis, handed } = record(zip);
    assert.deepEqual(handed.map((h) => h.text), [EVIL]);
    assert.deepEqual(codes(analysis), ['container-ambiguous@arch/data.pkl']);
  });

  it('refuses a stored member whose sizes differ (miniz rejects the archive)', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', data: L(EVIL), uncompressedSize: 4 }]);
    assert.deepEqual(codes(record(zip).analysis), ['container-malformed@arch/data.pkl']);
  });

  it('bounds the member count (maxMembers) before parsing the directory', () => {
    const entries = Array.from({ length: 5 }, (_, i) => ({ name: `arch/data/${i}`, data: 'x' }));
    const zip = writeZip([{ name: 'arch/data.pkl', data: L(DATA_PKL) }, ...entries]);
    const { analysis, handed } = record(zip, { limits: { maxMembers: 3 } });
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['limit:maxMembers@']);
  });

  it('flags bytes before the archive (zipfile shifts offsets, miniz does not)', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', data: L(DATA_PKL) }], { prepend: L('PK\x03\x04junkjunk') });
    assert.deepEqual(codes(record(zip).analysis), ['container-ambiguous@']);
  });

  it('flags a central directory longer than its declared entries (zipfile reads on)', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', data: L(DATA_PKL) }], { centralSlack: new Uint8Array(46) });
    assert.deepEqual(codes(record(zip).analysis), ['container-ambiguous@']);
  });

  it('reports a zip without an end record as malformed', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', data: L(DATA_PKL) }]);
    const cut = zip.subarray(0, zip.length - 22);
    const { analysis, handed } = record(cut);
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['container-malformed@']);
  });
});

describe('torch zip evasions through the real pickle machine', () => {
  it('finds the payload import in the member torch reads, whatever the local header says', async () => {
    const { analyzeContainer } = await import('../../src/formats/index.js');
    const { bufferSource } = await import('../../src/io/byte-source.js');
    const zip = writeZip([
      { name: 'arch/data.pkl', localName: 'arch/data.pkx', localFlags: 1, method: 8, data: L(EVIL) },
      { name: 'arch/data/0', data: L(EVIL) },
    ]);
    const analysis = analyzeContainer(bufferSource(zip));
    assert.deepEqual(
      analysis.streams.map((s) => [s.member, s.analysis.imports.map((i) => `${i.module}.${i.name}`)]),
      [['arch/data.pkl', ['posix.system']]],
    );
  });
});
