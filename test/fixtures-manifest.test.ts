// The model fixture manifest must describe exactly the files on disk, and its
// byte-level claims (size, hash, magic, stream offsets, joblib padding) must hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { Compression, ContainerFormat } from '../src/formats/types.js';

const DIR = new URL('./fixtures/models/', import.meta.url).pathname;
const NOT_FIXTURES = new Set(['manifest.json', 'README.md']);

// Records keyed by the union: adding a member to the contract breaks this until listed.
const FORMATS: Record<ContainerFormat, true> = {
  pickle: true, 'torch-zip': true, torchscript: true, 'torch-legacy': true, 'torch-tar': true,
  npy: true, npz: true, zip: true, tar: true, joblib: true, compressed: true, unknown: true,
};
const COMPRESSIONS: Record<Compression, true> = {
  zlib: true, gzip: true, bz2: true, xz: true, lzma: true, lz4: true,
};

interface Stream { member: string; label: string; start?: number; end?: number; find_class: [string, string][] }
interface InlineArray { stream: number; object_array: boolean; start: number; end: number; padding_length_byte?: number; data_bytes?: number }
interface Entry {
  format: string; compression?: string; kind: 'benign' | 'malicious'; size: number; sha256: string;
  magic_hex: string; streams: Stream[]; inline_arrays?: InlineArray[];
  stopped?: { stream: number; module: string; name: string };
  payload?: { global: string; marker: string; reached_call: { global: string; args: string }[] };
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { files: Record<string, Entry> };
const entries = Object.entries(manifest.files);

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full) : [relative(DIR, full).split('\\').join('/')];
  });
}

test('every fixture on disk is in the manifest and every manifest entry is on disk', () => {
  const onDisk = listFiles(DIR).filter((f) => !NOT_FIXTURES.has(f)).sort();
  assert.deepEqual(onDisk, entries.map(([p]) => p).sort());
  assert.ok(entries.length > 0);
});

test('size, sha256 and leading bytes match the files', () => {
  for (const [path, e] of entries) {
    const bytes = readFileSync(join(DIR, path));
    assert.equal(bytes.length, e.size, path);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), e.sha256, path);
    assert.equal(bytes.subarray(0, 8).toString('hex'), e.magic_hex, path);
  }
});

test('formats and compressions use the contract names', () => {
  for (const [path, e] of entries) {
    assert.ok(Object.hasOwn(FORMATS, e.format), `${path}: ${e.format}`);
    assert.equal(e.format === 'compressed', e.compression !== undefined, path);
    if (e.compression !== undefined) assert.ok(Object.hasOwn(COMPRESSIONS, e.compression), path);
  }
});

test('malicious fixtures stop at their payload global; benign ones never stop', () => {
  for (const [path, e] of entries) {
    if (e.kind === 'benign') {
      assert.equal(e.stopped, undefined, path);
      continue;
    }
    assert.ok(e.stopped && e.payload, path);
    const last = e.streams[e.stopped.stream]?.find_class.at(-1);
    assert.deepEqual(last, [e.stopped.module, e.stopped.name], path);
    assert.equal(`${e.stopped.module}.${e.stopped.name}`, e.payload.global, path);
    assert.ok(e.payload.reached_call.some((c) => c.args.includes(e.payload!.marker)), path);
  }
});

test('torch legacy files: the pickle streams start at 0 and follow each other', () => {
  const legacy = entries.filter(([, e]) => e.format === 'torch-legacy');
  assert.ok(legacy.length >= 3);
  for (const [path, e] of legacy) {
    assert.equal(e.streams[0]?.start, 0, path);
    e.streams.forEach((s, i) => {
      if (i > 0) assert.equal(s.start, e.streams[i - 1]?.end, `${path} stream ${i}`);
    });
    // each stream ends with STOP ('.') where the file says it does
    const bytes = readFileSync(join(DIR, path));
    for (const s of e.streams) if (s.end !== undefined) assert.equal(bytes[s.end - 1], 0x2e, path);
  }
});

function checkInlineArrays(label: string, bytes: Buffer, arrays: InlineArray[]): void {
  for (const a of arrays) {
    if (a.object_array) {
      assert.equal(bytes[a.start], 0x80, `${label}@${a.start}: nested pickle starts with PROTO`);
      continue;
    }
    const pad = bytes[a.start];
    assert.equal(pad, a.padding_length_byte, `${label}@${a.start}`);
    assert.ok(pad !== undefined && pad >= 1 && pad <= 16, `${label}: padding ${pad}`);
    assert.ok(bytes.subarray(a.start + 1, a.start + 1 + pad).every((b) => b === 0xff), label);
    assert.equal((a.start + 1 + pad) % 16, 0, `${label}: array data is 16-byte aligned`);
    assert.equal(a.end, a.start + 1 + pad + (a.data_bytes ?? -1), label);
  }
}

test('uncompressed joblib: padding byte, 0xff padding and array bytes sit where recorded', () => {
  const plain = entries.filter(([, e]) => e.format === 'joblib' && e.inline_arrays);
  assert.ok(plain.length >= 5);
  for (const [path, e] of plain) checkInlineArrays(path, readFileSync(join(DIR, path)), e.inline_arrays ?? []);
});

test('zlib and gzip joblib: offsets are in the decompressed stream, which ends with the main pickle', () => {
  const inflaters: Partial<Record<string, (b: Buffer) => Buffer>> = { zlib: inflateSync, gzip: gunzipSync };
  const packed = entries.filter(([, e]) => e.kind === 'benign' && inflaters[e.compression ?? ''] !== undefined);
  assert.equal(packed.length, 2);
  for (const [path, e] of packed) {
    const bytes = inflaters[e.compression ?? '']!(readFileSync(join(DIR, path)));
    assert.equal(bytes.length, e.streams[0]?.end, path);
    assert.equal(bytes[bytes.length - 1], 0x2e, `${path}: STOP`);
    checkInlineArrays(path, bytes, e.inline_arrays ?? []);
  }
});
