/**
 * The opcode table and `readOpcodes` against pickletools: same 68 opcodes, and the same
 * decoded arguments as `pickletools.genops` on every CPython-made fixture.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPCODES, OPCODE_BY_BYTE, opcodeName } from '../../src/pickle/opcodes.js';
import { readOpcodes, type OpcodeArg } from '../../src/pickle/index.js';
import { bufferSource, fdSource } from '../../src/io/byte-source.js';
import { PickleReadError } from '../../src/pickle/reader.js';
import { python } from './helpers.js';
import { pw } from './writer.js';
import { openSync, closeSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'pickles');

describe('opcode table', () => {
  it('matches pickletools.opcodes (name, byte, argument kind, protocol)', () => {
    const theirs = JSON.parse(
      python(`
import json, pickletools
print(json.dumps([[o.name, ord(o.code.encode('latin-1')), o.arg.name if o.arg else 'none', o.proto] for o in pickletools.opcodes]))
`),
    ) as Array<[string, number, string, number]>;
    const ours = OPCODES.map((o) => [o.name, o.code, o.arg, o.proto]);
    const key = (x: unknown[]) => String(x[1]);
    assert.deepEqual([...ours].sort((a, b) => key(a).localeCompare(key(b))), [...theirs].sort((a, b) => key(a).localeCompare(key(b))));
    assert.equal(OPCODES.length, 68);
  });

  it('answers unknown bytes', () => {
    assert.equal(OPCODE_BY_BYTE[0x00], undefined);
    assert.equal(opcodeName(0xff), 'UNKNOWN(0xff)');
    assert.equal(opcodeName(0x93), 'STACK_GLOBAL');
  });
});

/** pickletools' view, normalized: bytes by length, big ints as strings. */
const GENOPS = `
import json, pickletools, sys
out = []
for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    ops = []
    pos = 0
    try:
        while pos < len(data):
            for op, arg, p in pickletools.genops(data[pos:]):
                if isinstance(arg, (bytes, bytearray)): a = {'len': len(arg)}
                elif isinstance(arg, bool): a = arg
                elif isinstance(arg, int): a = str(arg)
                elif isinstance(arg, float): a = repr(arg)
                else: a = arg
                ops.append([op.name, pos + p, a])
                last = pos + p
            pos = last + 1
    except Exception as e:
        ops.append(['ERROR', str(e)])
    out.append(ops)
print(json.dumps(out))
`;

function normalize(arg: OpcodeArg): unknown {
  if (arg === undefined) return null;
  if (typeof arg === 'bigint') return arg.toString();
  if (typeof arg === 'number') return Number.isInteger(arg) ? String(arg) : arg;
  if (typeof arg === 'object') return { len: arg.length };
  return arg;
}

function floatRepr(x: number): string {
  if (x === Infinity) return 'inf';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  return String(x);
}

describe('readOpcodes', () => {
  it('decodes every fixture as pickletools.genops does', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.pkl') && !/broken|truncated/.test(f)).sort();
    const theirs = JSON.parse(python(GENOPS.replace('sys.argv[1:]', JSON.stringify(files.map((f) => join(FIXTURES, f)))))) as unknown[][];
    let compared = 0;
    files.forEach((f, i) => {
      const src = bufferSource(readFileSync(join(FIXTURES, f)));
      const ours: unknown[] = [];
      let pos = 0;
      while (pos < src.size) {
        for (const rec of readOpcodes(src, pos)) {
          let a = normalize(rec.arg);
          if (rec.op.arg === 'float8' || rec.op.arg === 'floatnl') a = floatRepr(rec.arg as number);
          ours.push([rec.op.name, rec.offset, a]);
          pos = rec.end;
        }
      }
      assert.deepEqual(ours, theirs[i], f);
      compared += ours.length;
    });
    console.log(`readOpcodes: ${compared} opcodes over ${files.length} fixtures match pickletools`);
  });

  it('reads FLOAT text as pickletools does (float(): whitespace and underscores), so a listing goes past it as pickletools does', () => {
    const w = pw().float('\t1_5').pop().global('posix', 'system').stop();
    const listing = python(
      'import pickletools, sys\nfor op, arg, pos in pickletools.genops(sys.stdin.buffer.read()): print(op.name, arg)',
      w.bytes(),
    ).trim().split('\n');
    const ours = [...readOpcodes(bufferSource(w.bytes()))].map((r) => `${r.op.name} ${r.op.arg === 'floatnl' ? floatRepr(r.arg as number) : r.arg ?? 'None'}`);
    assert.deepEqual(ours, listing);
    assert.deepEqual(listing, ['FLOAT 15.0', 'POP None', 'GLOBAL posix system', 'STOP None']);
  });

  it('gives GLOBAL/INST names separately and big payloads as offset + length', () => {
    const w = pw().proto(4).global('os', 'system').binBytes8(new Uint8Array(10)).stop();
    const recs = [...readOpcodes(bufferSource(w.bytes()))];
    assert.deepEqual(recs[1]!.pair, ['os', 'system']);
    assert.equal(recs[1]!.arg, 'os system');
    assert.deepEqual(recs[2]!.arg, { offset: 22, length: 10 });
    assert.equal(recs[2]!.end, 32);
  });

  it('throws PickleReadError with the offset on bad bytes', () => {
    assert.throws(() => [...readOpcodes(bufferSource(Uint8Array.from([0x4e, 0xff])))], (e: unknown) => e instanceof PickleReadError && /offset 1/.test(e.message));
    assert.throws(() => [...readOpcodes(bufferSource(pw().proto(4).binBytes8Header(99).bytes()))], PickleReadError);
  });

  it('reads a file through small windows without loading it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-ops-'));
    const path = join(dir, 'x.pkl');
    const w = pw().proto(4).emptyList().mark();
    for (let i = 0; i < 300; i++) w.shortBinUnicode(`name-${i}`);
    w.binBytes(new Uint8Array(5000)).appends().stop();
    writeFileSync(path, w.bytes());
    const fd = openSync(path, 'r');
    try {
      const recs = [...readOpcodes(fdSource(fd, { window: 64 }))];
      assert.equal(recs.length, 2 + 1 + 300 + 1 + 2);
      assert.equal(recs[302]!.arg, 'name-299');
      assert.deepEqual(recs[303]!.arg, { offset: recs[303]!.offset + 5, length: 5000 });
    } finally {
      closeSync(fd);
    }
  });
});
