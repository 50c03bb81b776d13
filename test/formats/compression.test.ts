import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { crc32, crc64, xxh32 } from '../../src/formats/compression/checksums.js';
import { decompressSync, detectCompression, type CompressionKind } from '../../src/formats/compression/index.js';

const DIR = new URL('../fixtures/compression/', import.meta.url).pathname;
const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;

interface Entry {
  codec: string;
  payload: string;
  options: string;
}
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { files: Record<string, Entry> };
const isBomb = (e: Entry) => e.payload.startsWith('zeros:');
const bombs = Object.entries(manifest.files).filter(([, e]) => isBomb(e));
const regular = Object.entries(manifest.files).filter(([, e]) => !isBomb(e));

function read(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(DIR, name)));
}

function kindOf(entry: Entry): CompressionKind {
  return (entry.codec === 'xz-unsupported' ? 'xz' : entry.codec) as CompressionKind;
}

function decodedOrThrow(kind: CompressionKind, input: Uint8Array, cap = 1 << 30): Uint8Array {
  const r = decompressSync(kind, input, cap);
  if (!r.ok) assert.fail(`${r.code}: ${r.message}`);
  return r.bytes;
}

describe('checksums against published check values', () => {
  const check = new TextEncoder().encode('123456789');
  it('CRC32 and CRC64/XZ of "123456789"', () => {
    assert.equal(crc32(check), 0xcbf43926);
    const { lo, hi } = crc64(check);
    assert.equal(hi * 2 ** 32 + lo, 0x995dc9bbdf1939fa);
    // lengths that exercise the four-byte loop and its tail
    const long = new Uint8Array(1027).map((_, i) => (i * 7) & 0xff);
    const bytewise = (b: Uint8Array) => {
      let c = 0xffffffffffffffffn;
      for (const x of b) {
        c ^= BigInt(x);
        for (let k = 0; k < 8; k++) c = c & 1n ? 0xc96c5795d7870f42n ^ (c >> 1n) : c >> 1n;
      }
      return c ^ 0xffffffffffffffffn;
    };
    for (const n of [0, 1, 3, 4, 5, 1027]) {
      const r = crc64(long.subarray(0, n));
      assert.equal((BigInt(r.hi) << 32n) | BigInt(r.lo), bytewise(long.subarray(0, n)), `length ${n}`);
    }
  });
  it('xxHash32 (seed 0) of "" and "123456789"', () => {
    assert.equal(xxh32(new Uint8Array(0)), 0x02cc5d05);
    assert.equal(xxh32(check), 0x937bad67);
  });
});

describe('decompressSync on files written by Python', () => {
  for (const [name, entry] of regular) {
    it(`${name} (${entry.options})`, () => {
      const r = decompressSync(kindOf(entry), read(name), 1 << 30);
      if (entry.codec === 'xz-unsupported') {
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.code, 'unsupported-compression');
        return;
      }
      assert.ok(r.ok, !r.ok ? r.message : '');
      assert.deepEqual(Buffer.from(r.bytes), readFileSync(join(DIR, entry.payload)));
    });
  }

  it('covers every codec joblib writes', () => {
    const codecs = new Set(Object.values(manifest.files).map((e) => e.codec));
    for (const c of ['zlib', 'gzip', 'bz2', 'xz', 'lzma', 'lz4']) assert.ok(codecs.has(c), c);
  });
});

describe('detectCompression', () => {
  it('reads the magic prefixes in joblib order', () => {
    const cases: Array<[number[], ReturnType<typeof detectCompression>]> = [
      [[0x78, 0x9c], 'zlib'],
      [[0x1f, 0x8b, 8], 'gzip'],
      [[0x42, 0x5a, 0x68, 0x39], 'bz2'],
      [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
      [[0x5d, 0x00, 0x00, 0x80], 'lzma'],
      [[0x04, 0x22, 0x4d, 0x18], 'lz4'],
      [[0x5a, 0x46, 0x30, 0x78], 'joblib-zf'],
      [[0x80, 0x04, 0x95], undefined],
      [[0x42, 0x5a], undefined], // 'BZ' without 'h' is not bz2 for joblib
      [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01], undefined],
      [[], undefined],
    ];
    for (const [head, want] of cases) assert.equal(detectCompression(new Uint8Array(head)), want, Buffer.from(head).toString('hex'));
  });

  it('agrees with the compression recorded for the real joblib fixtures', () => {
    const models = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as {
      files: Record<string, { format: string; compression?: string }>;
    };
    let checked = 0;
    for (const [path, f] of Object.entries(models.files)) {
      if (!path.startsWith('joblib/')) continue;
      const head = new Uint8Array(readFileSync(join(MODELS, path)).subarray(0, 8));
      assert.equal(detectCompression(head), f.format === 'compressed' ? f.compression : undefined, path);
      checked++;
    }
    assert.ok(checked > 0);
  });
});

describe('the output cap is enforced while decoding', () => {
  const zeros = new Uint8Array(4 << 20);
  it('zlib and gzip bombs stop at the cap', () => {
    for (const [kind, bytes] of [
      ['zlib', deflateSync(zeros)],
      ['gzip', gzipSync(zeros)],
    ] as const) {
      const r = decompressSync(kind, bytes, 1 << 20);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'limit', kind);
    }
  });

  it('bombs from every codec stop at a 1 MiB cap', () => {
    assert.ok(bombs.length >= 3);
    for (const [name, entry] of bombs) {
      const r = decompressSync(kindOf(entry), read(name), 1 << 20);
      assert.equal(!r.ok && r.code, 'limit', name);
    }
  });

  it('a cap of 0 allows only empty output', () => {
    assert.equal(decompressSync('zlib', deflateSync(Buffer.from('x')), 0).ok, false);
    assert.equal(decompressSync('gzip', gzipSync(Buffer.from('x')), 0).ok, false);
    const empty = decompressSync('zlib', deflateSync(Buffer.alloc(0)), 0);
    assert.ok(empty.ok && empty.bytes.length === 0);
    assert.ok(decompressSync('xz', read('empty.xz'), 0).ok);
  });

  it('every fixture fails with `limit` under a cap one byte short of its size, and decodes at exactly its size', () => {
    for (const [name, entry] of regular) {
      if (entry.codec === 'xz-unsupported') continue;
      const size = readFileSync(join(DIR, entry.payload)).length;
      if (size === 0) continue;
      const short = decompressSync(kindOf(entry), read(name), size - 1);
      assert.equal(!short.ok && short.code, 'limit', name);
      assert.equal(decompressSync(kindOf(entry), read(name), size).ok, true, name);
    }
  });
});

describe('broken streams are decompression-failed, never bytes', () => {
  const checked = ['text-crc64.xz', 'text-sha256.xz', 'text-all-checks.lz4', 'text.bz2', 'text.gz', 'text.zlib', 'text.lzma'];
  for (const [name] of regular.filter(([, e]) => !e.codec.includes('unsupported'))) {
    it(`${name} truncated`, () => {
      const bytes = read(name);
      if (bytes.length < 40) return;
      for (const cut of [bytes.length >> 1, bytes.length - 1]) {
        const r = decompressSync(kindOf(manifest.files[name]!), bytes.subarray(0, cut), 1 << 30);
        assert.equal(!r.ok && r.code, 'decompression-failed', `${name} cut at ${cut}`);
      }
    });
  }
  for (const name of checked) {
    it(`${name} with one byte flipped in the middle`, () => {
      const bytes = read(name).slice();
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x55;
      const r = decompressSync(kindOf(manifest.files[name]!), bytes, 1 << 30);
      assert.equal(!r.ok && r.code, 'decompression-failed', name);
    });
  }
  it('bytes after a finished stream are refused (zlib, xz, lzma, bz2, lz4)', () => {
    for (const name of ['text.zlib', 'text-crc64.xz', 'text.lzma', 'text.bz2', 'text.lz4']) {
      const bytes = Buffer.concat([read(name), Buffer.from('GARBAGE!')]);
      const r = decompressSync(kindOf(manifest.files[name]!), bytes, 1 << 30);
      assert.equal(!r.ok && r.code, 'decompression-failed', name);
    }
  });
  it('an unknown codec name is refused', () => {
    const r = decompressSync('zstd' as CompressionKind, new Uint8Array(10), 100);
    assert.equal(!r.ok && r.code, 'unsupported-compression');
  });
});

describe("joblib's legacy ZF container", () => {
  const data = Buffer.from('\x80\x02]q\x00(K\x01K\x02e.', 'latin1');
  function zf(lengthField: string, extraSpace = false): Uint8Array {
    return Buffer.concat([Buffer.from('ZF'), Buffer.from(lengthField.padEnd(19)), Buffer.from(extraSpace ? ' ' : ''), deflateSync(data)]);
  }
  it('decodes the declared length, with or without the extra space of joblib <= 0.8.4', () => {
    const hex = `0x${data.length.toString(16)}`;
    assert.deepEqual(Buffer.from(decodedOrThrow('joblib-zf', zf(hex))), data);
    assert.deepEqual(Buffer.from(decodedOrThrow('joblib-zf', zf(hex, true))), data);
  });
  it('refuses a length that does not match, or that is no hex number', () => {
    const wrong = decompressSync('joblib-zf', zf('0x3'), 1 << 20);
    assert.equal(!wrong.ok && wrong.code, 'decompression-failed');
    const junk = decompressSync('joblib-zf', zf('zz'), 1 << 20);
    assert.equal(!junk.ok && junk.code, 'decompression-failed');
    const big = decompressSync('joblib-zf', zf('0xffffffffffff'), 1 << 20);
    assert.equal(!big.ok && big.code, 'limit');
  });
});

/** Random round trips through the real codecs of the stdlib python3 (skipped when python3 is absent). */
describe('round trips through python3', () => {
  const probe = spawnSync('python3', ['-c', 'import lzma, bz2, zlib, gzip'], { encoding: 'utf8' });
  const skip = probe.status !== 0 ? 'python3 with lzma/bz2 not available' : false;
  it('random data and options (plus run-length edge cases) through xz, lzma, bz2, zlib and gzip decode byte-exact', { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-compression-'));
    try {
      const script = String.raw`
import bz2, gzip, lzma, os, random, sys, zlib
out = sys.argv[1]
rnd = random.Random(int(sys.argv[2]))
for i in range(30):
    size = rnd.choice([0, 1, 2, 100, 4096, 65536, 65537, 200000, rnd.randrange(300000)])
    alphabet = rnd.randint(1, 256)
    data = bytearray(rnd.choices(range(alphabet), k=size))
    for _ in range(rnd.randint(0, 20)):
        if len(data) > 10:
            s = rnd.randrange(len(data)); n = rnd.randint(1, 2000)
            data[rnd.randrange(len(data)):] = data[s:s + n] + data[rnd.randrange(len(data)):]
    data = bytes(data)
    lc = rnd.randint(0, 4); lp = rnd.randint(0, 4 - lc); pb = rnd.randint(0, 4)
    encoded = {
        'xz': lzma.compress(data, check=rnd.choice([0, 1, 4, 10]), filters=[{'id': lzma.FILTER_LZMA2, 'preset': rnd.randint(0, 9), 'lc': lc, 'lp': lp, 'pb': pb}]),
        'lzma': lzma.compress(data, format=lzma.FORMAT_ALONE, filters=[{'id': lzma.FILTER_LZMA1, 'preset': rnd.randint(0, 9), 'lc': lp, 'lp': lc, 'pb': pb}]),
        'bz2': bz2.compress(data, rnd.randint(1, 9)),
        'zlib': zlib.compress(data, rnd.randint(0, 9)),
        'gzip': gzip.compress(data, rnd.randint(0, 9)),
    }
    open(os.path.join(out, f'{i}.raw'), 'wb').write(data)
    for k, v in encoded.items():
        open(os.path.join(out, f'{i}.{k}'), 'wb').write(v)
edge = [b'', b'a', b'a' * 4, b'a' * 5, b'ab' * 3, b'a' * 259, b'b' * 1_000_003, bytes(range(256)) * 40,
        bytes(rnd.choice([0, 255]) for _ in range(5000)), b''.join(bytes([c]) * rnd.randint(1, 600) for c in rnd.choices(range(256), k=3000))]
for j, data in enumerate(edge):
    i = f'e{j}'
    open(os.path.join(out, f'{i}.raw'), 'wb').write(data)
    open(os.path.join(out, f'{i}.bz2'), 'wb').write(bz2.compress(data, rnd.randint(1, 9)))
    open(os.path.join(out, f'{i}.xz'), 'wb').write(lzma.compress(data))
`;
      writeFileSync(join(dir, 'gen.py'), script);
      const seed = String(Date.now() % 100000);
      const gen = spawnSync('python3', [join(dir, 'gen.py'), dir, seed], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      let count = 0;
      for (const file of readdirSync(dir).filter((f) => !f.endsWith('.raw') && !f.endsWith('.py'))) {
        const [i, kind] = file.split('.') as [string, CompressionKind];
        const want = readFileSync(join(dir, `${i}.raw`));
        const got = decodedOrThrow(kind, new Uint8Array(readFileSync(join(dir, file))));
        assert.ok(Buffer.from(got).equals(want), `seed ${seed}: ${file} decodes differently`);
        count++;
      }
      assert.equal(count, 150 + 20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
