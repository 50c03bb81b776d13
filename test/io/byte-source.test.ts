import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, writeFileSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bufferSource, fdSource, sliceSource, withFileSource } from '../../src/io/byte-source.js';

const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
const dir = mkdtempSync(join(tmpdir(), 'pg-src-'));
const file = join(dir, 'data.bin');
writeFileSync(file, bytes);

test('buffer source reads are clipped views', () => {
  const src = bufferSource(bytes);
  assert.equal(src.size, 10_000);
  assert.deepEqual(src.read(9_998, 10), bytes.subarray(9_998));
  assert.equal(src.read(10_000, 5).length, 0);
  assert.equal(src.read(3, 0).length, 0);
});

test('fd source returns the same bytes as memory, across window edges and beyond the window', () => {
  const fd = openSync(file, 'r');
  try {
    const src = fdSource(fd, { window: 64 });
    for (const [off, len] of [[0, 10], [60, 10], [63, 1], [64, 64], [100, 500], [9_990, 100], [5_000, 64]] as const) {
      assert.deepEqual(Buffer.from(src.read(off, len)), Buffer.from(bytes.subarray(off, off + len)), `read(${off}, ${len})`);
    }
  } finally {
    closeSync(fd);
  }
});

test('fd source uses positioned reads: the descriptor position is untouched', () => {
  const fd = openSync(file, 'r');
  try {
    fdSource(fd, { window: 128 }).read(500, 100);
    const first = Buffer.alloc(4);
    readSync(fd, first, 0, 4, null); // reads at the descriptor's own position
    assert.deepEqual(first, Buffer.from(bytes.subarray(0, 4)));
  } finally {
    closeSync(fd);
  }
});

test('slice source addresses a window of its parent from zero', () => {
  const src = sliceSource(bufferSource(bytes), 100, 50);
  assert.equal(src.size, 50);
  assert.deepEqual(src.read(40, 20), bytes.subarray(140, 150));
  assert.equal(src.read(50, 1).length, 0);
});

test('withFileSource closes the file even when the callback throws', () => {
  assert.throws(() => withFileSource(file, () => { throw new Error('boom'); }), /boom/);
  assert.equal(withFileSource(file, (src) => src.size), 10_000);
});
