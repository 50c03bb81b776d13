import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { npy, npyDataStart } from './helpers/npy.js';
import { codes, record } from './helpers/recorder.js';
import { writeZip } from './helpers/zip-writer.js';

const L = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const OBJ_PICKLE = '\x80\x03cbuiltins\nlist\nq\x00)\x85R.';
const OBJ = npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", OBJ_PICKLE);
const NUM = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8));

describe('npz (CPython zipfile semantics)', () => {
  it('scans the pickle of object .npy members only, offsets relative to the member', () => {
    const zip = writeZip([
      { name: 'nums.npy', data: NUM },
      { name: 'objs.npy', data: OBJ, method: 8 },
    ]);
    const { analysis, handed } = record(zip);
    assert.equal(analysis.format, 'npz');
    assert.deepEqual(handed.map((h) => [h.member, h.format, h.start, h.text]), [['objs.npy', 'npy', npyDataStart(OBJ), OBJ_PICKLE]]);
    assert.deepEqual(codes(analysis), ['no-pickle@nums.npy']);
  });

  it('refuses a member whose local name differs from the central one (zipfile raises)', () => {
    const zip = writeZip([{ name: 'objs.npy', localName: 'objx.npy', data: OBJ }]);
    const { analysis, handed } = record(zip);
    assert.deepEqual(codes(analysis), ['container-malformed@objs.npy']);
    assert.equal(handed.length, 1); // still scanned: fail closed either way
  });

  it('refuses encrypted members', () => {
    const zip = writeZip([{ name: 'objs.npy', flags: 1, data: OBJ }]);
    const { analysis, handed } = record(zip);
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['unsupported-compression@objs.npy']);
  });

  it('scans every duplicate of a name (zipfile lets the last one win)', () => {
    const zip = writeZip([
      { name: 'a.npy', data: NUM },
      { name: 'a.npy', data: OBJ },
    ]);
    const { handed } = record(zip);
    assert.deepEqual(handed.map((h) => h.member), ['a.npy']);
    assert.equal(handed[0]?.text, OBJ_PICKLE);
  });

  it('an empty zip (PK\\x05\\x06) has no pickle', () => {
    const { analysis, handed } = record(writeZip([]));
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['no-pickle@']);
  });
});

describe('any other zip, and nesting', () => {
  it('looks at every member by content: pickles, npy, nested zips (member paths joined with /)', () => {
    const inner = writeZip([{ name: 'x.npy', data: OBJ }, { name: 'readme.txt', data: 'hello' }]);
    const outer = writeZip([
      { name: 'model.bin', data: L(OBJ_PICKLE) },
      { name: 'inner.zip', data: inner },
      { name: 'notes.md', data: '# notes' },
    ]);
    const { analysis, handed } = record(outer);
    assert.equal(analysis.format, 'zip');
    assert.deepEqual(handed.map((h) => [h.member, h.format]), [
      ['model.bin', 'zip'],
      ['inner.zip/x.npy', 'npy'],
    ]);
  });

  it('a torch zip inside a zip is read with torch rules', () => {
    const torch = writeZip([{ name: 'arch/data.pkl', data: L(OBJ_PICKLE) }, { name: 'arch/data/0', data: L(OBJ_PICKLE) }]);
    const { handed } = record(writeZip([{ name: 'ckpt.pt', data: torch }]));
    assert.deepEqual(handed.map((h) => [h.member, h.format]), [['ckpt.pt/arch/data.pkl', 'torch-zip']]);
  });

  it('stops at maxNestingDepth with a limit finding naming the member', () => {
    let bytes = writeZip([{ name: 'p.pkl', data: L(OBJ_PICKLE) }]);
    for (let i = 0; i < 3; i++) bytes = writeZip([{ name: `z${i}.zip`, data: bytes }]);
    // z2.zip/z1.zip/z0.zip/p.pkl: three zips nested inside the file
    assert.deepEqual(record(bytes).handed.map((h) => h.member), ['z2.zip/z1.zip/z0.zip/p.pkl']);
    const { analysis, handed } = record(bytes, { limits: { maxNestingDepth: 2 } });
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['limit:maxNestingDepth@z2.zip/z1.zip/z0.zip']);
  });

  it('counts members across nested archives against maxMembers', () => {
    const inner = writeZip([1, 2, 3].map((i) => ({ name: `m${i}.npy`, data: NUM })));
    const outer = writeZip([{ name: 'a.zip', data: inner }, { name: 'b.zip', data: inner }]);
    const { analysis } = record(outer, { limits: { maxMembers: 6 } });
    assert.deepEqual(codes(analysis).filter((c) => c.startsWith('limit')), ['limit:maxMembers@b.zip']);
  });

  it('decompresses a gzip member and scans the pickle inside (depth + 1)', () => {
    const gz = new Uint8Array(gzipSync(Buffer.from(OBJ_PICKLE, 'latin1')));
    const { handed } = record(writeZip([{ name: 'model.pkl.gz', data: gz }, { name: 'other.txt', data: 'x' }]));
    assert.deepEqual(handed.map((h) => [h.member, h.text]), [['model.pkl.gz', OBJ_PICKLE]]);
  });
});

describe('zipfile-only methods (made by CPython zipfile: test/formats/fixtures/make-zip-methods.py)', () => {
  for (const method of ['bzip2', 'lzma']) {
    it(`decodes a ${method} member as np.load would and scans its pickle`, async () => {
      const { readFileSync } = await import('node:fs');
      const { analyzeContainer } = await import('../../src/formats/index.js');
      const { bufferSource } = await import('../../src/io/byte-source.js');
      const bytes = new Uint8Array(readFileSync(new URL(`fixtures/npz-${method}.npz`, import.meta.url)));
      const analysis = analyzeContainer(bufferSource(bytes));
      assert.equal(analysis.format, 'npz');
      assert.deepEqual(analysis.findings, []);
      assert.deepEqual(
        analysis.streams.map((s) => [s.member, s.analysis.imports.map((i) => `${i.module}.${i.name}`)]),
        [['objs.npy', ['builtins.print']]],
      );
    });
  }

  it('torch (miniz) refuses the same methods', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', method: 12, data: L(OBJ_PICKLE) }]);
    assert.deepEqual(codes(record(zip).analysis), ['unsupported-compression@arch/data.pkl']);
  });
});
