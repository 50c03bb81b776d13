import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { looksLikeModel, looksLikePickle, sniffHead } from '../../src/formats/sniff.js';
import { codes, record } from './helpers/recorder.js';
import { writeTar } from './helpers/tar-writer.js';

const L = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const EVIL = '\x80\x02cposix\nsystem\nX\x02\x00\x00\x00idq\x00\x85R.';

describe('sniff by content', () => {
  it('knows each magic', () => {
    const cases: Array<[string, string]> = [
      ['PK\x03\x04rest', 'zip'],
      ['PK\x05\x06' + '\0'.repeat(18), 'zip'],
      ['\x93NUMPY\x01\x00', 'npy'],
      ['ZF0x1234', 'joblib-zf'],
      ['\x78\x9c', 'compressed:zlib'],
      ['\x1f\x8b\x08', 'compressed:gzip'],
      ['BZh91AY', 'compressed:bz2'],
      ['\xfd7zXZ\x00', 'compressed:xz'],
      ['\x5d\x00\x00\x80', 'compressed:lzma'],
      ['\x04\x22\x4d\x18', 'compressed:lz4'],
      ['\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.', 'torch-legacy'],
      [EVIL, 'pickle'],
      ['\x80\x05\x95', 'pickle'],
      ['cposix\nsystem\n(S"id"\ntR.', 'pickle'],
      ['(lp0\nI1\na.', 'pickle'],
      ['}q\x00.', 'pickle'],
      ['\x80\x07', 'unknown'], // protocol 7 does not exist: the unpickler refuses it first
      ['class Foo(Module):\n', 'unknown'],
      ['const x = 1;\n', 'unknown'],
      ['{"json": true}', 'unknown'],
      ['hello world', 'unknown'],
      ['little', 'unknown'],
      ['3\n', 'unknown'],
      ['', 'unknown'],
    ];
    for (const [head, want] of cases) {
      const s = sniffHead(L(head));
      assert.equal(s.kind === 'compressed' ? `compressed:${s.compression}` : s.kind, want, JSON.stringify(head));
    }
  });

  it('sees a tar by its header checksum (tarfile does not need the ustar magic)', () => {
    const tar = writeTar([{ name: 'pickle', data: EVIL }]);
    assert.equal(sniffHead(tar.subarray(0, 512)).kind, 'tar');
    const broken = tar.slice(0, 512);
    broken[0] = 0x71; // change the name: checksum no longer matches
    assert.notEqual(sniffHead(broken).kind, 'tar');
  });

  it('looksLikeModel answers from 16 bytes for every model kind, not for text', () => {
    for (const m of ['PK\x03\x04', '\x93NUMPY', '\x80\x04\x95', 'cos\nsystem\n', '\x1f\x8b', 'BZh9', 'ZF', '\x04\x22\x4d\x18']) {
      assert.equal(looksLikeModel(L(m.padEnd(16, '\0'))), true, JSON.stringify(m));
    }
    for (const t of ['import x from y', '{"a": 1}', '<!doctype html>', '# README\n', 'class A:\n    pass']) {
      assert.equal(looksLikeModel(L(t.slice(0, 16))), false, t);
    }
  });

  it('looksLikePickle checks a GLOBAL argument looks importable', () => {
    assert.equal(looksLikePickle(L('ctorch._utils\n_rebuild_tensor_v2\n')), true);
    assert.equal(looksLikePickle(L('class Foo:\n')), false);
    assert.equal(looksLikePickle(L("S'abc'\np0\n.")), true);
    assert.equal(looksLikePickle(L('Some text')), false);
  });
});

describe('dispatch of compressed files', () => {
  it('decompresses a gzip pickle and scans what it holds (format compressed, gzip)', () => {
    const { analysis, handed } = record(new Uint8Array(gzipSync(Buffer.from(EVIL, 'latin1'))));
    assert.equal(analysis.format, 'compressed');
    assert.equal(analysis.compression, 'gzip');
    assert.deepEqual(handed.map((h) => [h.member, h.text]), [['', EVIL]]);
  });

  it('names the bound when a zlib bomb passes maxDecompressedBytesPerMember', () => {
    const bomb = new Uint8Array(deflateSync(Buffer.alloc(8 << 20)));
    const { analysis, handed } = record(bomb, { limits: { maxDecompressedBytesPerMember: 1 << 20 } });
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['limit:maxDecompressedBytesPerMember@']);
  });

  it('a stream that does not decode is a violation', () => {
    const { analysis } = record(L('\x1f\x8b\x08\x00garbagegarbage'));
    assert.deepEqual(codes(analysis), ['decompression-failed@']);
  });

  it('bytes that are no container are handed over as a raw pickle stream', () => {
    const { analysis, handed } = record(L('hello'));
    assert.equal(analysis.format, 'pickle'); // the recording machine says nothing; the real one says not-a-pickle
    assert.deepEqual(handed.map((h) => h.text), ['hello']);
  });
});

describe('joblib ZF files', () => {
  it('decodes the legacy ZF container (zlib with a hex length header) and scans the pickle', () => {
    const body = Buffer.from(EVIL, 'latin1');
    const header = Buffer.from('ZF' + `0x${body.length.toString(16)}`.padEnd(19, ' '), 'latin1');
    const file = new Uint8Array(Buffer.concat([header, deflateSync(body)]));
    const { analysis, handed } = record(file);
    assert.equal(analysis.format, 'joblib');
    assert.equal(analysis.compression, 'zlib');
    assert.deepEqual(handed.map((h) => h.text), [EVIL]);
  });

  it('refuses compressed input larger than the decompression cap before reading it', () => {
    const file = new Uint8Array(deflateSync(Buffer.from(EVIL.repeat(100), 'latin1')));
    const { analysis, handed } = record(file, { limits: { maxDecompressedBytesPerMember: file.length - 1 } });
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['limit:maxDecompressedBytesPerMember@']);
  });
});

describe('pickle starts the unpickler accepts', () => {
  it('accepts a GLOBAL whose module line runs past the sniff window, INT with whitespace, FLOAT inf', () => {
    assert.equal(looksLikePickle(L(`c${'a.'.repeat(200)}b\nname\n`)), true);
    assert.equal(looksLikePickle(L('I 42\n.')), true);
    assert.equal(looksLikePickle(L('Finf\n.')), true);
    assert.equal(looksLikePickle(L('In the beginning')), false);
  });
});

describe('edge dispatch', () => {
  it('a text file is format unknown with the real machine (nothing could run)', async () => {
    const { analyzeContainer } = await import('../../src/formats/index.js');
    const { bufferSource } = await import('../../src/io/byte-source.js');
    const analysis = analyzeContainer(bufferSource(L('just some notes\n')));
    assert.equal(analysis.format, 'unknown');
    assert.ok(analysis.streams[0]?.analysis.findings.some((f) => f.code === 'not-a-pickle'));
  });

  it('a tar whose first bytes also start a pickle is scanned both ways', () => {
    // A member named like a protocol-0 GLOBAL: tarfile sees a tar, pickle.load a GLOBAL.
    const tar = writeTar([{ name: 'cposix\nsystem\n', data: EVIL }]);
    const { analysis, handed } = record(tar);
    assert.equal(analysis.format, 'tar');
    assert.deepEqual(handed.map((h) => [h.member, h.text.length]), [
      ['', tar.length],
      ['cposix\nsystem\n', EVIL.length],
    ]);
  });

  it('looksLikeModel sees a tar when given its 512-byte header', () => {
    const tar = writeTar([{ name: 'storages', data: 'x' }]);
    assert.equal(looksLikeModel(tar.subarray(0, 512)), true);
    assert.equal(looksLikeModel(tar.subarray(0, 16)), false);
  });
});
