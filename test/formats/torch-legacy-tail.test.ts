/**
 * Bytes after a legacy torch file's fifth pickle: raw storage data when there are storage
 * keys (torch reads exactly that), but with an empty key list torch reads nothing more, so a
 * tail is what a pickle-sequence reader (pickle.load until EOF) would run next.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanBytes } from '../../src/scan/index.js';
import { presetPolicy } from '../../src/policy/index.js';
import { PickleWriter } from '../pickle/writer.js';

const MAGIC = 0x1950a86a20f9469cfc6cn;

function legacyHead(keys: string[]): Uint8Array[] {
  const magic = new PickleWriter().proto(2).long1(MAGIC).stop().bytes();
  const version = new PickleWriter().proto(2).binint2(1001).stop().bytes();
  const sysInfo = new PickleWriter().proto(2).emptyDict().stop().bytes();
  const object = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().stop().bytes();
  const keyList = new PickleWriter().proto(2).emptyList();
  if (keys.length > 0) {
    keyList.mark();
    for (const k of keys) keyList.shortBinUnicode(k);
    keyList.appends();
  }
  return [magic, version, sysInfo, object, keyList.stop().bytes()];
}

const payload = new PickleWriter().proto(2).global('posix', 'system').shortBinUnicode('true').tuple1().reduce().stop().bytes();
const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const policy = presetPolicy('default');

test('empty key list: a sixth pickle after it is scanned and blocks', () => {
  const report = scanBytes(concat([...legacyHead([]), payload]), { policy });
  assert.equal(report.format, 'torch-legacy');
  assert.equal(report.verdict, 'blocked');
  assert.ok(report.findings.some((f) => f.module === 'posix' && f.name === 'system'), JSON.stringify(report.findings));
});

test('empty key list and nothing after it: allowed, five pickles', () => {
  const report = scanBytes(concat(legacyHead([])), { policy });
  assert.equal(report.verdict, 'allowed', JSON.stringify(report.findings));
  assert.equal(report.pickles.length, 5);
});

test('with storage keys the tail is storage data and is not read as opcodes', () => {
  // 8-byte numel then data: bytes that would be garbage (or worse) as opcodes.
  const storage = Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0x63, 0x00, 0xff, 0xfe, 0x52, 0x2e, 0x00, 0x00]);
  const report = scanBytes(concat([...legacyHead(['0']), storage]), { policy });
  assert.equal(report.verdict, 'allowed', JSON.stringify(report.findings));
  assert.equal(report.pickles.length, 5);
});
