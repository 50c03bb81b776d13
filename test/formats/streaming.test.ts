/**
 * Streaming decompression: the native zlib/gzip pull decoder, the windowed source over it,
 * and the container layer reading compressed files through them (caps, corrupt streams,
 * bytes in the middle of a stream, a file that changes between the two passes).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { bzip2PullDecoder, decodeBzip2 } from '../../src/formats/compression/bzip2.js';
import { Xxh32, xxh32 } from '../../src/formats/compression/checksums.js';
import { countDecoded, decodedSource } from '../../src/formats/compression/decoded-source.js';
import { decodeLz4 } from '../../src/formats/compression/lz4.js';
import { lz4PullDecoder } from '../../src/formats/compression/lz4-stream.js';
import { decodeLzmaAlone, lzmaAloneSteps } from '../../src/formats/compression/lzma-alone.js';
import { stepsPullDecoder } from '../../src/formats/compression/steps.js';
import { decodeXz, xzSteps } from '../../src/formats/compression/xz.js';
import type { PullDecoder } from '../../src/formats/compression/output.js';
import { openDecompressed } from '../../src/formats/compression/index.js';
import { streamingZlibAvailable, zlibPullDecoder } from '../../src/formats/compression/zlib-stream.js';
import { analyzeContainer } from '../../src/formats/index.js';
import { bufferSource, type ByteSource } from '../../src/io/byte-source.js';
import { PickleWriter } from '../pickle/writer.js';

const MiB = 1 << 20;

/** Bytes that compress a little but not to nothing (a counter mixed with a cheap hash). */
function pseudo(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (i & 0xf0) ^ (x >>> 28);
  }
  return out;
}

function decodeAll(kind: 'zlib' | 'gzip', input: Uint8Array, outChunk: number): Uint8Array {
  const d = zlibPullDecoder(kind, bufferSource(input));
  const parts: Uint8Array[] = [];
  const out = new Uint8Array(outChunk);
  try {
    for (;;) {
      const n = d.read(out);
      if (n === 0) break;
      parts.push(out.slice(0, n));
    }
  } finally {
    d.close();
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** A source whose bytes become `later` once a read has reached its end (the counting pass). */
function switchingSource(first: Uint8Array, later: Uint8Array): ByteSource & { switched: boolean } {
  const s = {
    switched: false,
    size: first.length,
    read(offset: number, length: number) {
      const bytes = s.switched ? later : first;
      if (offset + length >= first.length) s.switched = true;
      return bytes.subarray(offset, Math.min(bytes.length, offset + length));
    },
  };
  return s;
}

describe('native zlib pull decoder', () => {
  it('is available on this Node (else compressed files fall back to whole-stream decoding)', () => {
    assert.equal(streamingZlibAvailable(), true);
  });

  it('decodes zlib and gzip exactly as inflateSync/gunzipSync, whatever the output chunk', () => {
    const data = pseudo(3 * MiB + 12345);
    for (const chunk of [1, 777, 65536, 4 * MiB]) {
      const small = chunk === 1 ? data.subarray(0, 5000) : data;
      assert.deepEqual(decodeAll('zlib', deflateSync(small), chunk), new Uint8Array(small), `zlib, chunk ${chunk}`);
      assert.deepEqual(decodeAll('gzip', gzipSync(small), chunk), new Uint8Array(small), `gzip, chunk ${chunk}`);
    }
  });

  it('decodes an empty stream to nothing', () => {
    assert.equal(decodeAll('zlib', deflateSync(new Uint8Array(0)), 100).length, 0);
  });

  it('refuses a truncated stream and bytes after a zlib stream', () => {
    const z = deflateSync(pseudo(200_000));
    assert.throws(() => decodeAll('zlib', z.subarray(0, z.length - 10), 65536), /unexpected end of file/);
    assert.throws(() => decodeAll('zlib', Buffer.concat([z, Buffer.from('junk')]), 65536), /4 bytes follow the end of the zlib stream/);
    assert.throws(() => decodeAll('zlib', Buffer.from('not zlib at all'), 65536), /incorrect header check/);
  });

  it('reads gzip members back to back and ignores trailing zero padding, as gunzipSync does', () => {
    const a = pseudo(70_000, 2);
    const b = pseudo(90_000, 3);
    const both = Buffer.concat([gzipSync(a), gzipSync(b), Buffer.alloc(7)]);
    assert.deepEqual(decodeAll('gzip', both, 4096), new Uint8Array(Buffer.concat([a, b])));
  });
});

describe('gzip trailing bytes: the stream decides as gunzipSync (the whole-buffer decoder before) did', () => {
  const member = gzipSync(pseudo(300_000, 6));
  const cases: Array<[string, Uint8Array]> = [
    ['junk after the member', Buffer.concat([member, Buffer.from('junk!')])],
    ['a lone 0x1f after the member', Buffer.concat([member, Buffer.from([0x1f, 0, 1, 2])])],
    ['zero padding then junk', Buffer.concat([member, Buffer.alloc(3), Buffer.from('x')])],
    ['a second header cut after its magic', Buffer.concat([member, Buffer.from([0x1f, 0x8b])])],
    ['zero padding only', Buffer.concat([member, Buffer.alloc(9)])],
  ];
  for (const [name, input] of cases) {
    it(name, () => {
      let reference: string;
      try {
        reference = `ok ${gunzipSync(input).length}`;
      } catch (e) {
        reference = `failed: ${(e as Error).message}`;
      }
      const r = openDecompressed('gzip', bufferSource(input), 1 << 30);
      assert.equal(r.ok ? `ok ${r.value.source.size}` : r.message.replace(/^gzip stream does not decode: /, 'failed: '), reference);
    });
  }
});

describe('decoded source', () => {
  const data = pseudo(5 * MiB + 333);
  const z = new Uint8Array(deflateSync(data));
  const open = () => zlibPullDecoder('zlib', bufferSource(z));

  it('counts the size and keeps exact copies of the first and last windows', () => {
    const c = countDecoded(open, 1 << 30);
    assert.equal(c.size, data.length);
    assert.deepEqual(c.head, data.subarray(0, c.head.length));
    assert.deepEqual(c.tail, data.subarray(c.tailStart));
    assert.ok(c.head.length >= MiB && c.tail.length >= MiB);
  });

  it('stops counting at the cap, one byte past it', () => {
    assert.throws(() => countDecoded(open, data.length - 1), /exceeds the limit of/);
    assert.equal(countDecoded(open, data.length).size, data.length);
  });

  it('serves head and tail reads without a decoder, middle reads with one forward decoder', () => {
    const src = decodedSource(open, countDecoded(open, 1 << 30));
    assert.deepEqual(src.read(0, 100), data.subarray(0, 100));
    assert.deepEqual(src.read(data.length - 50, 1000), data.subarray(data.length - 50));
    assert.equal(src.starts(), 0);
    // Forward in 1 MiB windows, as the pickle reader goes.
    for (let at = 0; at < data.length; at += MiB) assert.deepEqual(src.read(at, MiB), data.subarray(at, at + MiB), `window at ${at}`);
    assert.equal(src.starts(), 1);
    src.close();
  });

  it('restarts for a read behind its window and keeps a small look-back', () => {
    const src = decodedSource(open, countDecoded(open, 1 << 30));
    const mid = 2 * MiB + 5;
    assert.deepEqual(src.read(mid, 10), data.subarray(mid, mid + 10));
    assert.deepEqual(src.read(mid - 1000, 10), data.subarray(mid - 1000, mid - 990)); // look-back: no restart
    assert.equal(src.starts(), 1);
    assert.deepEqual(src.read(MiB + 1, 10), data.subarray(MiB + 1, MiB + 11)); // behind: restart
    assert.equal(src.starts(), 2);
    // A read bigger than the window, straddling the middle.
    assert.deepEqual(src.read(MiB + 7, 3 * MiB), data.subarray(MiB + 7, 4 * MiB + 7));
    assert.equal(src.error(), undefined);
    src.close();
  });

  it('random reads all return the right bytes', () => {
    const src = decodedSource(open, countDecoded(open, 1 << 30));
    let x = 7;
    for (let i = 0; i < 60; i++) {
      x = (x * 48271) % 2147483647;
      const at = x % data.length;
      const len = 1 + (x % 300_000);
      assert.deepEqual(src.read(at, len), data.subarray(at, at + len), `read ${at}+${len}`);
    }
    src.close();
  });

  it('stops short and says why when a later decoding disagrees with the count', () => {
    const other = new Uint8Array(deflateSync(data.subarray(0, 3 * MiB)));
    let opens = 0;
    const changing = () => zlibPullDecoder('zlib', bufferSource(opens++ === 0 ? z : other));
    const src = decodedSource(changing, countDecoded(changing, 1 << 30));
    const got = src.read(3 * MiB + 5, 10); // past the 3 MiB the second decoding has, before the kept tail
    assert.equal(got.length, 0);
    assert.match(src.error() ?? '', /ended after 3145728 of the 5243213 bytes counted before/);
    src.close();
  });
});

/** A pickle: [bytes(A), os.system, bytes(B)] with the import in the middle of a big stream. */
function pickleWithMiddleImport(before: number, after: number): Uint8Array {
  const head = new PickleWriter().proto(4).mark().binBytes8Header(before).bytes();
  const mid = new PickleWriter().shortBinUnicode('os').shortBinUnicode('system').stackGlobal().binBytes8Header(after).bytes();
  const tail = new PickleWriter().list().stop().bytes();
  return Buffer.concat([head, pseudo(before, 4), mid, pseudo(after, 5), tail]);
}

describe('compressed containers read through the stream', () => {
  it('finds an import in the middle of a 6 MiB zlib stream (outside the kept head and tail)', () => {
    const p = pickleWithMiddleImport(3 * MiB, 3 * MiB);
    const a = analyzeContainer(bufferSource(deflateSync(p)));
    assert.equal(a.compression, 'zlib');
    assert.deepEqual(a.findings, []);
    assert.deepEqual(a.streams.map((s) => s.analysis.imports.map((i) => `${i.module}.${i.name}`)), [['os.system']]);
    assert.deepEqual(a.streams[0]!.analysis.findings, []);
  });

  it('the same through gzip', () => {
    const p = pickleWithMiddleImport(2 * MiB, 2 * MiB);
    const a = analyzeContainer(bufferSource(gzipSync(p)));
    assert.equal(a.compression, 'gzip');
    assert.deepEqual(a.streams.map((s) => s.analysis.imports.map((i) => `${i.module}.${i.name}`)), [['os.system']]);
  });

  it('opens zlib and gzip as streaming sources, with the exact decoded bytes', () => {
    const p = pickleWithMiddleImport(MiB, 2 * MiB);
    for (const [kind, bytes] of [['zlib', deflateSync(p)], ['gzip', gzipSync(p)]] as const) {
      const r = openDecompressed(kind, bufferSource(bytes), 1 << 30);
      assert.ok(r.ok);
      assert.equal(r.value.streaming, true);
      assert.equal(r.value.source.size, p.length);
      assert.deepEqual(r.value.source.read(0, p.length), new Uint8Array(p));
      r.value.close();
    }
  });

  it('a zlib bomb stops at maxDecompressedBytesPerMember while it is decoded', () => {
    const bomb = deflateSync(Buffer.alloc(64 * MiB), { level: 9 });
    const a = analyzeContainer(bufferSource(bomb), { limits: { maxDecompressedBytesPerMember: 4 * MiB } });
    assert.equal(a.streams.length, 0);
    assert.equal(a.findings.length, 1);
    assert.equal(a.findings[0]!.code, 'limit');
    assert.equal(a.findings[0]!.limit, 'maxDecompressedBytesPerMember');
  });

  it('maxDecompressedBytesTotal bounds the stream too', () => {
    const p = pickleWithMiddleImport(MiB, MiB);
    const a = analyzeContainer(bufferSource(deflateSync(p)), { limits: { maxDecompressedBytesTotal: MiB } });
    assert.equal(a.findings[0]?.limit, 'maxDecompressedBytesTotal');
    assert.equal(a.streams.length, 0);
  });

  it('a truncated or corrupt stream is decompression-failed, nothing scanned', () => {
    const z = deflateSync(pickleWithMiddleImport(MiB, MiB));
    const cut = analyzeContainer(bufferSource(z.subarray(0, z.length >> 1)));
    assert.deepEqual(cut.findings.map((f) => f.code), ['decompression-failed']);
    assert.equal(cut.streams.length, 0);
    const flipped = Buffer.from(z);
    flipped[z.length >> 1] = flipped[z.length >> 1]! ^ 0xff;
    const bad = analyzeContainer(bufferSource(flipped));
    assert.ok(bad.findings.some((f) => f.code === 'decompression-failed'));
  });

  it('a file whose bytes change after the counting pass is reported, not allowed', () => {
    const p = pickleWithMiddleImport(3 * MiB, 3 * MiB);
    const first = deflateSync(p);
    // Same length, different content: the second decoding fails (or disagrees).
    const later = Buffer.from(first);
    later.fill(0x41, 1000, first.length - 1000);
    const source = switchingSource(first, later);
    const a = analyzeContainer(source);
    assert.equal(source.switched, true);
    const failed = a.findings.filter((f) => f.code === 'decompression-failed');
    assert.equal(failed.length, 1, JSON.stringify(a.findings));
    assert.match(failed[0]!.message, /^zlib: decoding again failed/);
  });

  it('decodes each zlib input the way inflateSync does (the reference)', () => {
    const p = pickleWithMiddleImport(100, 100);
    const r = openDecompressed('zlib', bufferSource(deflateSync(p)), 1 << 20);
    assert.ok(r.ok);
    assert.deepEqual(r.value.source.read(0, 1 << 20), new Uint8Array(inflateSync(deflateSync(p))));
  });
});

const FIXTURES = new URL('../fixtures/compression/', import.meta.url).pathname;
const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;

function pullAll(open: () => PullDecoder, chunk: number): Uint8Array {
  const d = open();
  const parts: Uint8Array[] = [];
  const out = new Uint8Array(chunk);
  try {
    for (;;) {
      const n = d.read(out);
      if (n === 0) break;
      parts.push(out.slice(0, n));
    }
  } finally {
    d.close();
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** The bytes a decoder produced, or the message it failed with, for comparing two decoders. */
function outcome(f: () => Uint8Array): { ok: true; bytes: Uint8Array } | { ok: false; message: string } {
  try {
    return { ok: true, bytes: f() };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

describe('incremental xxHash32', () => {
  it('equals the one-shot xxh32 for any split of the input', () => {
    const data = pseudo(1000, 9);
    for (const len of [0, 1, 15, 16, 17, 33, 1000]) {
      const whole = xxh32(data, 0, len);
      for (const step of [1, 3, 16, 17, 64]) {
        const h = new Xxh32();
        for (let i = 0; i < len; i += step) h.update(data, i, Math.min(len, i + step));
        assert.equal(h.digest(), whole, `length ${len}, pieces of ${step}`);
      }
    }
  });
});

describe('lz4 pull decoder (block by block) against the whole-stream decoder', () => {
  const lz4Files = readdirSync(FIXTURES).filter((f) => f.endsWith('.lz4')).map((f) => join(FIXTURES, f));
  lz4Files.push(join(MODELS, 'joblib/bundle.lz4.joblib'));

  for (const path of lz4Files) {
    it(`decodes ${path.split('/').slice(-2).join('/')} to the same bytes`, () => {
      const input = new Uint8Array(readFileSync(path));
      const whole = decodeLz4(input, 1 << 30);
      assert.deepEqual(pullAll(() => lz4PullDecoder(bufferSource(input)), 100_000), whole);
    });
  }

  it('agrees on every truncation and on flipped bytes (fail or the same output)', () => {
    const input = new Uint8Array(readFileSync(join(FIXTURES, 'text-all-checks.lz4')));
    const cuts = [0, 3, 4, 6, 10, 11, 12, 15, 16, 100, input.length >> 1, input.length - 5, input.length - 4, input.length - 1];
    const variants: Array<[string, Uint8Array]> = cuts.map((n) => [`cut at ${n}`, input.subarray(0, n)]);
    for (const at of [4, 5, 6, 14, 15, 16, 20, 200, input.length >> 1, input.length - 2]) {
      const copy = input.slice();
      copy[at] = copy[at]! ^ 0x41;
      variants.push([`flip at ${at}`, copy]);
    }
    variants.push(['junk after the frame', new Uint8Array(Buffer.concat([input, Buffer.from('junk')]))]);
    for (const [name, bytes] of variants) {
      const a = outcome(() => decodeLz4(bytes, 1 << 30));
      const b = outcome(() => pullAll(() => lz4PullDecoder(bufferSource(bytes)), 65536));
      assert.equal(b.ok, a.ok, `${name}: whole ${a.ok ? 'ok' : a.message}, stream ${b.ok ? 'ok' : b.message}`);
      if (a.ok && b.ok) assert.deepEqual(b.bytes, a.bytes, name);
      else if (!a.ok && !b.ok) assert.equal(b.message, a.message, name);
    }
  });

  it('holds one block plus 64 KiB, not the frame: a 16 MiB frame of zeros stops at the cap', () => {
    const input = new Uint8Array(readFileSync(join(FIXTURES, 'zeros-16m.lz4')));
    const open = () => lz4PullDecoder(bufferSource(input));
    assert.equal(countDecoded(open, 1 << 30).size, 16 << 20);
    assert.throws(() => countDecoded(open, 1 << 20), /exceeds the limit of 1048576 bytes/);
    const r = openDecompressed('lz4', bufferSource(input), 1 << 30);
    assert.ok(r.ok && r.value.streaming);
  });

  it('scans the real lz4 joblib fixture through the stream with the same result as before', () => {
    const input = new Uint8Array(readFileSync(join(MODELS, 'joblib/bundle.lz4.joblib')));
    const a = analyzeContainer(bufferSource(input));
    const inner = analyzeContainer(bufferSource(decodeLz4(input, 1 << 30)));
    assert.equal(a.compression, 'lz4');
    assert.deepEqual(a.findings, inner.findings);
    assert.deepEqual(
      a.streams.map((s) => s.analysis.imports.map((i) => `${i.module}.${i.name}`)),
      inner.streams.map((s) => s.analysis.imports.map((i) => `${i.module}.${i.name}`)),
    );
    assert.ok(a.streams[0]!.analysis.imports.length > 0);
  });
});

describe('bzip2 pull decoder (block by block) against the whole-stream decoder', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.bz2')).map((f) => join(FIXTURES, f));
  files.push(join(MODELS, 'joblib/bundle.bz2.joblib'));

  for (const path of files) {
    it(`decodes ${path.split('/').slice(-2).join('/')} to the same bytes`, () => {
      const input = new Uint8Array(readFileSync(path));
      const whole = outcome(() => decodeBzip2(input, 1 << 30));
      const pulled = outcome(() => pullAll(() => bzip2PullDecoder(input), 100_000));
      assert.equal(pulled.ok, whole.ok, `${pulled.ok ? 'ok' : pulled.message} vs ${whole.ok ? 'ok' : whole.message}`);
      if (whole.ok && pulled.ok) assert.deepEqual(pulled.bytes, whole.bytes);
    });
  }

  it('agrees on truncations, flipped bytes and trailing junk (fail with the same message, or the same output)', () => {
    const input = new Uint8Array(readFileSync(join(MODELS, 'joblib/bundle.bz2.joblib')));
    const variants: Array<[string, Uint8Array]> = [0, 2, 3, 4, 10, 40, input.length >> 1, input.length - 4, input.length - 1].map((n) => [`cut at ${n}`, input.subarray(0, n)]);
    for (const at of [3, 4, 8, 12, 20, 60, input.length >> 1, input.length - 6, input.length - 2]) {
      const copy = input.slice();
      copy[at] = copy[at]! ^ 0x10;
      variants.push([`flip at ${at}`, copy]);
    }
    variants.push(['junk after the stream', new Uint8Array(Buffer.concat([input, Buffer.from('junk')]))]);
    variants.push(['two streams', new Uint8Array(Buffer.concat([input, input]))]);
    for (const [name, bytes] of variants) {
      const a = outcome(() => decodeBzip2(bytes, 1 << 30));
      const b = outcome(() => pullAll(() => bzip2PullDecoder(bytes), 65536));
      assert.equal(b.ok, a.ok, `${name}: whole ${a.ok ? 'ok' : a.message}, stream ${b.ok ? 'ok' : b.message}`);
      if (a.ok && b.ok) assert.deepEqual(b.bytes, a.bytes, name);
      else if (!a.ok && !b.ok) assert.equal(b.message, a.message, name);
    }
  });

  it('streams bz2 through the container layer with the same result as the whole decoding', () => {
    const input = new Uint8Array(readFileSync(join(MODELS, 'joblib/bundle.bz2.joblib')));
    const r = openDecompressed('bz2', bufferSource(input), 1 << 30);
    assert.ok(r.ok && r.value.streaming);
    const a = analyzeContainer(bufferSource(input));
    const inner = analyzeContainer(bufferSource(decodeBzip2(input, 1 << 30)));
    assert.equal(a.compression, 'bz2');
    assert.deepEqual(a.findings, inner.findings);
    assert.deepEqual(
      a.streams.map((s) => s.analysis.imports.map((i) => `${i.module}.${i.name}`)),
      inner.streams.map((s) => s.analysis.imports.map((i) => `${i.module}.${i.name}`)),
    );
  });

  it('bz2 input larger than the cap is refused before reading it', () => {
    const input = new Uint8Array(readFileSync(join(MODELS, 'joblib/bundle.bz2.joblib')));
    const r = openDecompressed('bz2', bufferSource(input), 100);
    assert.ok(!r.ok && r.code === 'limit');
  });
});

describe('xz and .lzma pull decoders (dictionary kept, older output dropped) against the whole-stream decoders', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.xz') || f.endsWith('.lzma')).map((f) => join(FIXTURES, f));
  files.push(join(MODELS, 'joblib/bundle.xz.joblib'), join(MODELS, 'joblib/bundle.lzma.joblib'));
  const kindOf = (path: string): 'xz' | 'lzma' => (path.endsWith('.xz') || path.endsWith('.xz.joblib') ? 'xz' : 'lzma');
  const pullOf = (kind: 'xz' | 'lzma', bytes: Uint8Array, cap = 1 << 30) =>
    kind === 'xz' ? () => stepsPullDecoder((out) => xzSteps(bytes, out)) : () => stepsPullDecoder((out) => lzmaAloneSteps(bytes, out, cap, 65536));
  const whole = (kind: 'xz' | 'lzma', bytes: Uint8Array) => (kind === 'xz' ? decodeXz(bytes, 1 << 30) : decodeLzmaAlone(bytes, 1 << 30));

  for (const path of files) {
    it(`decodes ${path.split('/').slice(-2).join('/')} with the same outcome`, () => {
      const input = new Uint8Array(readFileSync(path));
      const kind = kindOf(path);
      const a = outcome(() => whole(kind, input));
      const b = outcome(() => pullAll(pullOf(kind, input), 100_000));
      assert.equal(b.ok, a.ok, `${b.ok ? 'ok' : b.message} vs ${a.ok ? 'ok' : a.message}`);
      if (a.ok && b.ok) assert.deepEqual(b.bytes, a.bytes);
      else if (!a.ok && !b.ok) assert.equal(b.message, a.message);
    });
  }

  it('agrees on truncations, flipped bytes and junk (xz and .lzma)', () => {
    for (const path of [join(FIXTURES, 'text-sha256.xz'), join(FIXTURES, 'text-crc64.xz'), join(FIXTURES, 'text.lzma')]) {
      const input = new Uint8Array(readFileSync(path));
      const kind = kindOf(path);
      const variants: Array<[string, Uint8Array]> = [0, 5, 12, 13, 20, 40, input.length >> 1, input.length - 13, input.length - 1].map((n) => [`cut at ${n}`, input.subarray(0, n)]);
      for (const at of [6, 9, 13, 14, 30, input.length >> 1, input.length - 20, input.length - 3]) {
        const copy = input.slice();
        copy[at] = copy[at]! ^ 0x08;
        variants.push([`flip at ${at}`, copy]);
      }
      variants.push(['junk after', new Uint8Array(Buffer.concat([input, Buffer.from('junk')]))]);
      variants.push(['twice', new Uint8Array(Buffer.concat([input, input]))]);
      for (const [name, bytes] of variants) {
        const a = outcome(() => whole(kind, bytes));
        const b = outcome(() => pullAll(pullOf(kind, bytes), 65536));
        const label = `${path.split('/').pop()} ${name}`;
        assert.equal(b.ok, a.ok, `${label}: whole ${a.ok ? 'ok' : a.message}, stream ${b.ok ? 'ok' : b.message}`);
        if (a.ok && b.ok) assert.deepEqual(b.bytes, a.bytes, label);
        else if (!a.ok && !b.ok) assert.equal(b.message, a.message, label);
      }
    }
  });

  const probe = spawnSync('python3', ['-c', 'import lzma'], { encoding: 'utf8' });
  it('decodes multi-MB streams with a 64 KiB dictionary exactly (matches reach across dropped output)', { skip: probe.status !== 0 ? 'python3 with lzma not available' : false }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-stream-'));
    try {
      const script = [
        'import lzma, random, sys',
        'r = random.Random(5)',
        "words = [bytes(r.choice(b'abcdefghij') for _ in range(r.randint(2, 9))) for _ in range(3000)]",
        "data = b' '.join(r.choice(words) for _ in range(700000))",
        "filters = [{'id': lzma.FILTER_LZMA2, 'dict_size': 65536, 'preset': 6}]",
        "open(sys.argv[1] + '/raw', 'wb').write(data)",
        "open(sys.argv[1] + '/a.xz', 'wb').write(lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, filters=filters))",
        "alone = [{'id': lzma.FILTER_LZMA1, 'dict_size': 65536, 'preset': 6}]",
        "open(sys.argv[1] + '/a.lzma', 'wb').write(lzma.compress(data, format=lzma.FORMAT_ALONE, filters=alone))",
      ].join('\n');
      const gen = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      const raw = new Uint8Array(readFileSync(join(dir, 'raw')));
      assert.ok(raw.length > 4 * MiB);
      for (const kind of ['xz', 'lzma'] as const) {
        const input = new Uint8Array(readFileSync(join(dir, `a.${kind}`)));
        assert.deepEqual(pullAll(pullOf(kind, input), 100_000), raw, kind);
        const r = openDecompressed(kind, bufferSource(input), 1 << 30);
        assert.ok(r.ok && r.value.streaming, kind);
        const src = r.value.source;
        for (const at of [3 * MiB + 17, 2 * MiB, 4 * MiB - 5]) assert.deepEqual(src.read(at, 1000), raw.subarray(at, at + 1000), `${kind} at ${at}`);
        r.value.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a 64 MiB xz and .lzma bomb stops at the cap; a declared .lzma size over the cap stops before decoding', () => {
    for (const name of ['zeros-64m.xz', 'zeros-64m.lzma']) {
      const input = new Uint8Array(readFileSync(join(FIXTURES, name)));
      const r = openDecompressed(name.endsWith('.xz') ? 'xz' : 'lzma', bufferSource(input), 4 * MiB);
      assert.ok(!r.ok && r.code === 'limit', name);
    }
    const declared = new Uint8Array(readFileSync(join(FIXTURES, 'text.lzma'))).slice();
    new DataView(declared.buffer).setUint32(5, 10 * MiB, true);
    new DataView(declared.buffer).setUint32(9, 0, true);
    assert.throws(() => pullAll(pullOf('lzma', declared, MiB), 4096), /exceeds the limit of 1048576 bytes/);
  });

  it('scans the real xz and .lzma joblib fixtures through the stream with the same result as before', () => {
    for (const name of ['bundle.xz.joblib', 'bundle.lzma.joblib']) {
      const input = new Uint8Array(readFileSync(join(MODELS, 'joblib', name)));
      const kind = kindOf(name);
      const a = analyzeContainer(bufferSource(input));
      const inner = analyzeContainer(bufferSource(whole(kind, input)));
      assert.equal(a.compression, kind);
      assert.deepEqual(a.findings, inner.findings);
      assert.deepEqual(
        a.streams.map((s) => s.analysis.imports.map((i) => `${i.module}.${i.name}`)),
        inner.streams.map((s) => s.analysis.imports.map((i) => `${i.module}.${i.name}`)),
      );
      assert.ok(a.streams[0]!.analysis.imports.length > 0);
    }
  });
});
