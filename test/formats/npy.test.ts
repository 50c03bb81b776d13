import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dtypeHoldsObjects, readNpyHeader } from '../../src/formats/npy.js';
import { parsePyLiteral, PyLiteralError } from '../../src/formats/py-literal.js';
import { bufferSource } from '../../src/io/byte-source.js';
import { npy, npyDataStart } from './helpers/npy.js';
import { codes, record } from './helpers/recorder.js';

const OBJ_PICKLE = '\x80\x03cnumpy.core.multiarray\n_reconstruct\nq\x00.';

describe('npy header', () => {
  it('reads versions 1, 2 and 3 (v3 UTF-8 field names)', () => {
    for (const version of [1, 2, 3] as const) {
      const bytes = npy("{'descr': [('h\u00e9', '<f8')], 'fortran_order': False, 'shape': (3,), }", new Uint8Array(24), version);
      const h = readNpyHeader(bufferSource(bytes));
      assert.ok(!('error' in h), 'error' in h ? h.error : '');
      assert.equal(h.version, version);
      assert.equal(h.dataStart, npyDataStart(bytes));
      assert.equal(h.objects, 'no');
      assert.deepEqual(h.shape, [3n]);
    }
  });

  it('classifies dtypes like numpy: |O, O8, structured/nested object fields, subarrays', () => {
    const cases: Array<[string, string]> = [
      ["'|O'", 'yes'],
      ["'O'", 'yes'],
      ["'<O8'", 'yes'],
      ["'object'", 'yes'],
      ["'<f8'", 'no'],
      ["'|b1'", 'no'],
      ["'<M8[ns]'", 'no'],
      ["'<U12'", 'no'],
      ["'|V16'", 'no'],
      ["'i4,f8'", 'no'],
      ["'i4,O'", 'yes'],
      ["[('a', '<i4'), ('b', '|O')]", 'yes'],
      ["[('a', '<i4'), ('b', [('c', '<f4'), ('d', '|O', (2,))])]", 'yes'],
      ["[(('title', 'a'), '<i4'), ('', '|V4')]", 'no'],
      ["('<f8', (2, 2))", 'no'],
      ["('<i4', [('x', '|O')])", 'yes'],
      ["'weird-type'", 'unknown'],
      ["{'names': ['a']}", 'unknown'],
    ];
    for (const [descr, want] of cases) assert.equal(dtypeHoldsObjects(parsePyLiteral(descr)), want, descr);
  });

  it('refuses headers numpy refuses (extra keys, bad shape, eval-able code)', () => {
    const bad = [
      "{'descr': '<f8', 'fortran_order': False}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
      "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': [3]}",
      "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': ()}",
    ];
    for (const header of bad) assert.ok('error' in readNpyHeader(bufferSource(npy(header))), header);
    const badVersion = npy("{'descr': '<f8', 'fortran_order': False, 'shape': ()}");
    badVersion[6] = 4;
    assert.ok('error' in readNpyHeader(bufferSource(badVersion)));
  });

  it('accepts Python 2 longs in v1/v2 headers only', () => {
    const h = "{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4L)}";
    assert.ok(!('error' in readNpyHeader(bufferSource(npy(h, '', 1)))));
    assert.ok('error' in readNpyHeader(bufferSource(npy(h, '', 3))));
  });
});

describe('python literal parser', () => {
  it('parses strings with escapes, nested tuples, trailing commas', () => {
    assert.deepEqual(parsePyLiteral("('a\\x41\\n', u\"\\u00e9\", -3, (), (1,), [True, None])"), {
      k: 'tuple',
      items: [
        { k: 'str', v: 'aA\n' },
        { k: 'str', v: '\u00e9' },
        { k: 'int', v: -3n },
        { k: 'tuple', items: [] },
        { k: 'tuple', items: [{ k: 'int', v: 1n }] },
        { k: 'list', items: [{ k: 'bool', v: true }, { k: 'none' }] },
      ],
    });
  });
  it('rejects anything that is not a literal', () => {
    for (const text of ['os.system', "{'a': 1} + 1", '1.5', '(1 2)', "'unterminated", '0x10', 'a=1']) {
      assert.throws(() => parsePyLiteral(text), PyLiteralError, text);
    }
  });
});

describe('npy dispatch', () => {
  it('scans the pickle right after the header of an object array (v1/v2/v3)', () => {
    for (const version of [1, 2, 3] as const) {
      const bytes = npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", OBJ_PICKLE, version);
      const { analysis, handed } = record(bytes);
      assert.equal(analysis.format, 'npy');
      assert.deepEqual(handed.map((h) => [h.member, h.start, h.text]), [['', npyDataStart(bytes), OBJ_PICKLE]]);
    }
  });

  it('allows a numeric array without reading its data', () => {
    const bytes = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", '\x80\x02cos\nsystem\n.');
    const { analysis, handed } = record(bytes);
    assert.deepEqual(handed, []);
    assert.deepEqual(codes(analysis), ['no-pickle@']);
  });

  it('scans after the header when the dtype cannot be classified (fail closed)', () => {
    const bytes = npy("{'descr': 'mystery', 'fortran_order': False, 'shape': (2,), }", OBJ_PICKLE);
    assert.deepEqual(record(bytes).handed.map((h) => h.text), [OBJ_PICKLE]);
  });

  it('reports an unreadable header as container-malformed', () => {
    const bytes = npy("{'descr': '<f8', 'shape': (2,)}");
    assert.deepEqual(codes(record(bytes).analysis), ['container-malformed@']);
  });
});

describe('python literal: implicit concatenation', () => {
  it("reads '<' 'O' as '<O' (literal_eval does) so the object dtype is seen", () => {
    assert.deepEqual(parsePyLiteral("'|' \"O\""), { k: 'str', v: '|O' });
    assert.equal(dtypeHoldsObjects(parsePyLiteral("'|'  u'O'")), 'yes');
    assert.throws(() => parsePyLiteral("'a' b'b'"), PyLiteralError);
  });
});
