/**
 * The read wrappers take their parameters as Node does (readFile's options-or-callback,
 * readFileSync's two): every call shape still reads plain files as asked and still stops
 * a model under a non-model name (protocol 2, caught by the content sniff).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { install, uninstall } from '../../src/guard/install.js';
import { ViolationError } from '../../src/guard/violation-error.js';
import { evilPickle } from './helpers.js';

function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'pg-shapes-'));
  const policy = join(dir, 'pickle-guard.yaml');
  writeFileSync(policy, 'version: 1\nallow:\n  - collections.OrderedDict\n');
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'héllo\n');
  const evil = join(dir, 'photo.png');
  writeFileSync(evil, evilPickle('true'));
  install({ policy, children: false });
  return { dir, text, evil };
}

type Shape = (path: string, cb: (err: unknown, data?: unknown) => void) => void;

const SHAPES: Record<string, Shape> = {
  'readFile(path, cb)': (p, cb) => fs.readFile(p, cb),
  'readFile(path, undefined, cb)': (p, cb) => fs.readFile(p, undefined, cb),
  'readFile(path, "utf8", cb)': (p, cb) => fs.readFile(p, 'utf8', cb),
  'readFile(path, { encoding: "latin1" }, cb)': (p, cb) => fs.readFile(p, { encoding: 'latin1' }, cb),
  'readFile(path, { encoding: "base64" }, cb)': (p, cb) => fs.readFile(p, { encoding: 'base64' }, cb),
  'readFile(path, { flag: "r" }, cb)': (p, cb) => fs.readFile(p, { flag: 'r' }, cb),
};

const EXPECTED: Record<string, (bytes: Buffer) => unknown> = {
  'readFile(path, "utf8", cb)': (b) => b.toString('utf8'),
  'readFile(path, { encoding: "latin1" }, cb)': (b) => b.toString('latin1'),
  'readFile(path, { encoding: "base64" }, cb)': (b) => b.toString('base64'),
};

const read = (shape: Shape, path: string) =>
  new Promise<unknown>((resolve, reject) => shape(path, (err, data) => (err ? reject(err) : resolve(data))));

test('readFile call shapes: plain files come back as asked, a renamed model is refused', async () => {
  const { dir, text, evil } = setUp();
  try {
    const bytes = Buffer.from('héllo\n');
    for (const [name, shape] of Object.entries(SHAPES)) {
      const want = EXPECTED[name]?.(bytes) ?? bytes;
      assert.deepEqual(await read(shape, text), want, name);
      await assert.rejects(read(shape, evil), ViolationError, name);
    }
    assert.throws(() => (fs.readFile as unknown as (p: string, o: string) => void)(text, 'utf8'), { code: 'ERR_INVALID_ARG_TYPE' }, 'no callback: Node\'s own error');
  } finally {
    uninstall();
    rmSync(dir, { recursive: true });
  }
});

test('readFileSync call shapes: plain files come back as asked, a renamed model is refused', () => {
  const { dir, text, evil } = setUp();
  try {
    const bytes = Buffer.from('héllo\n');
    const shapes: Array<[string, (p: string) => unknown, unknown]> = [
      ['Buffer', (p) => fs.readFileSync(p), bytes],
      ['utf8', (p) => fs.readFileSync(p, 'utf8'), bytes.toString('utf8')],
      ['{ encoding: "hex" }', (p) => fs.readFileSync(p, { encoding: 'hex' }), bytes.toString('hex')],
      ['{ flag: "r" }', (p) => fs.readFileSync(p, { flag: 'r' }), bytes],
    ];
    for (const [name, readSync, want] of shapes) {
      assert.deepEqual(readSync(text), want, name);
      assert.throws(() => readSync(evil), ViolationError, name);
    }
  } finally {
    uninstall();
    rmSync(dir, { recursive: true });
  }
});
