import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readTar } from '../../src/formats/tar.js';
import { bufferSource } from '../../src/io/byte-source.js';
import { codes, record } from './helpers/recorder.js';
import { paxRecord, writeTar } from './helpers/tar-writer.js';
import { writeZip } from './helpers/zip-writer.js';

const L = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const MAGIC = '\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.';
const PROTO = '\x80\x02M\xe9\x03.';
const EVIL = '\x80\x02cposix\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.';

describe('torch legacy (five pickles, then raw storages)', () => {
  it('hands the whole file to the machine with pickleCount 5', () => {
    const file = MAGIC + PROTO + EVIL + EVIL + '\x80\x02]q\x00.' + 'RAWSTORAGEBYTES';
    const { analysis, handed } = record(L(file));
    assert.equal(analysis.format, 'torch-legacy');
    assert.deepEqual(handed.map((h) => [h.member, h.start, h.pickleCount, h.text]), [['', 0, 5, file]]);
  });

  it('recognises the magic written with protocol 4 (FRAME) and protocol 0', () => {
    const p4 = '\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.';
    const p0 = 'L119547037146038801333356L\n.';
    for (const m of [p4, p0]) assert.equal(record(L(m + PROTO)).analysis.format, 'torch-legacy');
  });

  it('a first pickle that is not the magic number is still scanned, as a raw pickle stream', () => {
    const file = EVIL + PROTO;
    const { analysis, handed } = record(L(file));
    assert.equal(analysis.format, 'pickle');
    assert.deepEqual(handed.map((h) => [h.start, h.pickleCount, h.text]), [[0, undefined, file]]);
  });
});

describe('tar', () => {
  it('lists members with ustar prefixes, pax paths and sizes, GNU long names; stops at the zero block', () => {
    const long = 'd/'.repeat(60) + 'long.pkl';
    const tar = writeTar([
      { name: 'a.pkl', data: EVIL },
      { name: 'pax', type: 'x', data: paxRecord('path', 'renamed.pkl') },
      { name: 'short', data: EVIL },
      { name: '././@LongLink', type: 'L', data: long + '\0' },
      { name: 'trunc', data: EVIL },
      { name: 'dir/', type: '5', data: '' },
    ]);
    const result = readTar(bufferSource(tar), 100);
    assert.equal(result.ok, true);
    if (result.ok !== true) return;
    assert.deepEqual(result.members.map((m) => [m.name, m.type, m.size]), [
      ['a.pkl', '0', EVIL.length],
      ['renamed.pkl', '0', EVIL.length],
      [long, '0', EVIL.length],
      ['dir/', '5', 0],
    ]);
  });

  it('scans pickle members of a generic tar and nested containers inside it', () => {
    const zip = writeZip([{ name: 'arch/data.pkl', data: L(EVIL) }]);
    const tar = writeTar([
      { name: 'model.pkl', data: EVIL },
      { name: 'ckpt.pt', data: zip },
      { name: 'readme', data: 'hello' },
    ]);
    const { analysis, handed } = record(tar);
    assert.equal(analysis.format, 'tar');
    assert.deepEqual(handed.map((h) => [h.member, h.format, h.text]), [
      ['model.pkl', 'tar', EVIL],
      ['ckpt.pt/arch/data.pkl', 'torch-zip', EVIL],
    ]);
  });

  it('reads torch tar members sys_info and pickle fully; storages/tensors are walked record by record', () => {
    const tar = writeTar([
      { name: 'sys_info', data: EVIL },
      { name: 'storages', data: '\x80\x02K\x00.' },
      { name: 'tensors', data: '\x80\x02K\x00.' },
      { name: 'pickle', data: EVIL },
    ]);
    const { analysis, handed } = record(tar);
    assert.equal(analysis.format, 'torch-tar');
    assert.deepEqual(handed.map((h) => [h.member, h.pickleCount]), [
      ['sys_info', undefined],
      ['storages', 1],
      ['tensors', 1],
      ['pickle', undefined],
    ]);
    // The recording machine yields no values, so the walkers cannot read the counts: fail closed.
    assert.deepEqual(codes(analysis), ['container-malformed@storages', 'container-malformed@tensors']);
  });

  it('bounds tar members with maxMembers', () => {
    const tar = writeTar([1, 2, 3, 4].map((i) => ({ name: `m${i}`, data: EVIL })));
    assert.deepEqual(codes(record(tar, { limits: { maxMembers: 2 } }).analysis), ['limit:maxMembers@']);
  });

  it('a tar member running past the end of the file is malformed', () => {
    const tar = writeTar([{ name: 'a.pkl', data: 'x'.repeat(2000) }]);
    assert.deepEqual(codes(record(tar.subarray(0, 1024)).analysis), ['container-malformed@']);
  });
});

describe('torch tar with the real pickle machine', () => {
  const i64 = (n: number): string => Buffer.from(new BigInt64Array([BigInt(n)]).buffer).toString('latin1');
  const i32 = (n: number): string => Buffer.from(new Int32Array([n]).buffer).toString('latin1');
  const storageRecord = '\x80\x02X\x01\x00\x00\x00kX\x03\x00\x00\x00cpuctorch\nFloatStorage\n\x87.';
  // Raw float data that happens to look like a pickle: it must be skipped, not scanned.
  const storageData = i64(4) + EVIL.slice(0, 16);
  const storages = '\x80\x02K\x01.' + storageRecord + storageData + '\x80\x02]q\x00.';
  const tensors = '\x80\x02K\x01.' + '\x80\x02X\x01\x00\x00\x00t.' + '\x80\x02X\x01\x00\x00\x00k.' + i32(1) + i32(0) + i64(4) + i64(1) + i64(0);

  it('walks storages and tensors record by record, skipping raw data, and scans the pickle member', async () => {
    const { analyzeContainer } = await import('../../src/formats/index.js');
    const tar = writeTar([
      { name: 'sys_info', data: '\x80\x02}q\x00.' },
      { name: 'storages', data: storages },
      { name: 'tensors', data: tensors },
      { name: 'pickle', data: EVIL },
    ]);
    const analysis = analyzeContainer(bufferSource(tar));
    assert.equal(analysis.format, 'torch-tar');
    assert.deepEqual(analysis.findings, []);
    const perMember = analysis.streams.map((s) => [s.member, s.analysis.pickles.map((p) => [p.start, p.end]), s.analysis.imports.map((i) => `${i.module}.${i.name}`)]);
    const a = 5; // '\x80\x02K\x01.'
    const b = a + storageRecord.length;
    const c = b + storageData.length;
    assert.deepEqual(perMember, [
      ['sys_info', [[0, 6]], []],
      ['storages', [[0, a]], []],
      ['storages', [[a, b]], ['torch.FloatStorage']],
      ['storages', [[c, c + 6]], []],
      ['tensors', [[0, 5]], []],
      ['tensors', [[5, 14]], []],
      ['tensors', [[14, 23]], []],
      ['pickle', [[0, EVIL.length]], ['posix.system']],
    ]);
  });

  it('fails closed when a storage class is unknown (its data length cannot be known)', async () => {
    const { analyzeContainer } = await import('../../src/formats/index.js');
    const bad = storages.replace('FloatStorage', 'MagicStorage');
    const tar = writeTar([{ name: 'storages', data: bad }, { name: 'tensors', data: tensors }, { name: 'pickle', data: EVIL }]);
    const analysis = analyzeContainer(bufferSource(tar));
    assert.deepEqual(analysis.findings.map((f) => `${f.code}@${f.member}`), ['container-malformed@storages']);
  });
});

describe('torch tar links', () => {
  it('refuses a torch member that is a symlink (torch extracts it and follows it on disk)', () => {
    const tar = writeTar([
      { name: 'storages', data: '\x80\x02K\x00.' },
      { name: 'tensors', data: '\x80\x02K\x00.' },
      { name: 'pickle', type: '2', data: '' },
    ]);
    const { analysis } = record(tar);
    assert.ok(codes(analysis).includes('container-malformed@pickle'));
  });
});
