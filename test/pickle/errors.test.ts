/**
 * Malformed streams, limits, frames and multi-pickle streams: each with the code,
 * offset and what the report still lists.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pw } from './writer.js';
import { codes, names, scan } from './helpers.js';
import { analyzePickleStream } from '../../src/pickle/index.js';

describe('malformed streams keep the imports CPython already ran', () => {
  const evil = () => pw().proto(2).global('os', 'system').shortBinUnicode('id').tuple1().reduce();

  const cases: Array<[string, (w: ReturnType<typeof pw>) => unknown, RegExp]> = [
    ['truncated (no STOP)', () => undefined, /truncated/],
    ['unknown opcode', (w) => w.raw([0xff]), /unknown opcode 0xff/],
    ['stack underflow', (w) => w.pop().pop(), /stack underflow/],
    ['POP through a mark', (w) => w.mark().reduce(), /unexpected MARK/],
    ['missing MARK', (w) => w.tuple(), /could not find MARK/],
    ['bad memo index', (w) => w.binget(7), /Memo value not found at index 7/],
    ['negative PUT', (w) => w.put(-1), /negative PUT/],
    ['invalid UTF-8 in BINUNICODE', (w) => w.shortBinUnicode([0xc3, 0x28]), /invalid UTF-8/],
    ['invalid UTF-8 in a GLOBAL name', (w) => w.global([0x6f, 0xff], 'x'), /invalid UTF-8 in GLOBAL module/],
    ['empty GLOBAL line', (w) => w.global('', 'x'), /empty GLOBAL/],
    ['NEXT_BUFFER without buffers', (w) => w.nextBuffer(), /out-of-band/],
    ['odd DICT', (w) => w.mark().none().dict(), /odd number of items for DICT/],
    ['odd SETITEMS', (w) => w.emptyDict().mark().none().setitems(), /odd number of items for SETITEMS/],
    ['unsupported protocol', (w) => w.proto(6), /unsupported pickle protocol: 6/],
    ['declared length past the end', (w) => w.binBytes8Header(1000), /declares 1000 bytes/],
    ['negative BINSTRING length', (w) => w.op('T').raw([0xff, 0xff, 0xff, 0xff]), /negative byte count/],
    ['unquoted STRING', (w) => w.stringRaw('abc'), /must be quoted/],
    ['bad \\x escape in STRING', (w) => w.stringRaw("'\\x4'"), /escape/],
    ['bad INT text', (w) => w.int('12a'), /could not convert string to int/],
    ['bad FLOAT text', (w) => w.float('1.5x'), /could not convert string to float/],
    ['bad raw-unicode-escape', (w) => w.op('V').raw('\\u12\n'), /raw-unicode-escape/],
    ['non-ASCII PERSID', (w) => w.op('P').raw([0xc3, 0xa9, 0x0a]), /non-ASCII persistent id/],
  ];
  for (const [label, tail, message] of cases) {
    it(label, () => {
      const w = evil();
      const at = w.here();
      tail(w);
      const a = scan(w);
      assert.deepEqual(names(a), [['os', 'system']], 'the import before the error is reported');
      const bad = a.findings.filter((f) => f.code === 'malformed');
      assert.equal(bad.length, 1, JSON.stringify(a.findings));
      assert.match(bad[0]!.message, message);
      assert.ok(bad[0]!.offset! >= at, `offset ${bad[0]!.offset} at or after ${at}`);
      assert.equal(a.pickles[0]!.complete, false);
    });
  }

  it('the error offset is the failing opcode', () => {
    const w = pw().proto(2).global('os', 'system');
    const at = w.here();
    w.raw([0xff]);
    const a = scan(w);
    assert.equal(a.findings[0]!.offset, at);
    assert.equal(a.end, at);
  });
});

describe('not-a-pickle', () => {
  it('bytes that fail before any import ran are informational', () => {
    for (const bytes of [Uint8Array.from([0x50, 0x4b, 0x03, 0x04]), new TextEncoder().encode('hello world'), pw().proto(4).binint1(3).pop().pop().bytes()]) {
      const a = scan(bytes);
      assert.deepEqual(codes(a), ['not-a-pickle']);
      assert.deepEqual(a.imports, []);
    }
  });

  it('an empty stream is not a pickle', () => {
    assert.deepEqual(codes(scan(new Uint8Array(0))), ['not-a-pickle']);
  });

  it('a truncated GLOBAL already counts as an import opcode: malformed, with the import the pure-Python unpickler makes', () => {
    const a = scan(pw().raw('cos\nsys'));
    assert.deepEqual(codes(a), ['malformed', 'malformed']);
    assert.deepEqual(names(a), [['os', 'sy']]);
  });

  it('an EXT opcode before the error makes it malformed', () => {
    assert.deepEqual(codes(scan(pw().proto(2).ext1(5).raw([0xff]))), ['extension-registry', 'malformed']);
  });
});

describe('streams of several pickles', () => {
  it('reads every pickle until the bytes end, each with a fresh memo', () => {
    const w = pw().proto(4).shortBinUnicode('os').memoize().pop().none().stop();
    const second = w.here();
    w.proto(4).global('collections', 'OrderedDict').stop();
    const a = scan(w);
    assert.deepEqual(names(a), [['collections', 'OrderedDict']]);
    assert.deepEqual(a.pickles.map((p) => [p.index, p.start, p.complete, p.protocol]), [[0, 0, true, 4], [1, second, true, 4]]);
    assert.equal(a.imports[0]!.pickleIndex, 1);
    // The memo does not carry over: BINGET 0 in the second pickle is an error.
    const b = scan(pw().proto(4).shortBinUnicode('os').memoize().stop().proto(4).global('a', 'b').pop().binget(0).stop());
    assert.deepEqual(codes(b), ['malformed']);
  });

  it('a junk tail that runs nothing is informational', () => {
    const a = scan(pw().proto(2).global('m', 'f').stop().raw([0x00, 0x01, 0x02]));
    assert.deepEqual(names(a), [['m', 'f']]);
    assert.deepEqual(codes(a), ['not-a-pickle']);
    assert.equal(a.pickles.length, 2);
  });

  it('pickleCount stops after that many pickles', () => {
    const w = pw().none().stop();
    const after = w.here();
    w.global('os', 'system').stop();
    const a = scan(w, { pickleCount: 1 });
    assert.deepEqual(a.imports, []);
    assert.equal(a.end, after);
    assert.deepEqual(a.findings, []);
  });

  it('pickleCount larger than the stream: the missing pickle is not-a-pickle', () => {
    const a = scan(pw().none().stop(), { pickleCount: 2 });
    assert.deepEqual(codes(a), ['not-a-pickle']);
  });

  it('start offset: scans from there, offsets stay absolute', () => {
    const w = pw().raw('JUNK');
    const at = w.here();
    w.global('os', 'system').stop();
    const a = scan(w, { start: 4 });
    assert.equal(a.imports[0]!.offset, at);
    assert.equal(a.pickles[0]!.start, 4);
  });
});

describe('limits', () => {
  it('maxOpcodes', () => {
    const a = scan(pw().global('os', 'system').none().none().none().stop(), { limits: { maxOpcodes: 3 } });
    assert.deepEqual(codes(a), ['limit']);
    assert.equal(a.findings[0]!.limit, 'maxOpcodes');
    assert.deepEqual(names(a), [['os', 'system']]);
  });

  it('maxStackDepth (values and marks)', () => {
    const a = scan(pw().none().none().none().none().stop(), { limits: { maxStackDepth: 3 } });
    assert.equal(a.findings[0]!.limit, 'maxStackDepth');
    const m = scan(pw().mark().mark().mark().mark().none().stop(), { limits: { maxStackDepth: 3 } });
    assert.equal(m.findings[0]!.limit, 'maxStackDepth');
  });

  it('maxMemoEntries', () => {
    const a = scan(pw().none().binput(0).binput(1).binput(2).stop(), { limits: { maxMemoEntries: 2 } });
    assert.equal(a.findings[0]!.limit, 'maxMemoEntries');
    assert.equal(a.findings[0]!.code, 'limit');
  });

  it('maxPicklesPerStream', () => {
    const a = scan(pw().none().stop().none().stop().global('os', 'system').stop(), { limits: { maxPicklesPerStream: 2 } });
    assert.deepEqual(codes(a), ['limit']);
    assert.equal(a.findings[0]!.limit, 'maxPicklesPerStream');
  });

  it('maxDeclaredLength', () => {
    const a = scan(pw().proto(4).binBytes8(new Uint8Array(100)).stop(), { limits: { maxDeclaredLength: 50 } });
    assert.equal(a.findings[0]!.limit, 'maxDeclaredLength');
    assert.equal(a.findings[0]!.opcode, 'BINBYTES8');
  });

  it('maxValueItems keeps that many items and counts the rest', () => {
    const w = pw().proto(4).emptyList().mark();
    for (let i = 0; i < 10; i++) w.binint1(i);
    w.appends().stop();
    const a = scan(w, { limits: { maxValueItems: 4 }, recordEffects: true });
    const result = a.effects!.find((e) => e.k === 'result')!;
    assert.ok(result.k === 'result' && result.value.k === 'list');
    if (result.value.k === 'list') {
      assert.equal(result.value.items.length, 4);
      assert.equal(result.value.omitted, 6);
    }
  });

  it('findings of one code are capped per stream', () => {
    const w = pw().proto(4);
    for (let i = 0; i < 150; i++) w.emptyList().emptyTuple().reduce().pop();
    w.none().stop();
    const a = scan(w);
    assert.equal(a.findings.length, 100);
    assert.match(a.findings[99]!.message, /not listed/);
  });
});

describe('frames', () => {
  it('a well-formed frame is fine', () => {
    const w = pw().proto(4);
    const at = w.here();
    w.global('os', 'system').stop();
    w.frameFrom(at);
    assert.deepEqual(codes(scan(w)), []);
  });

  it('an opcode crossing the frame end is frame-violation; it is read as the C unpickler reads a file (scanning continues)', () => {
    // The frame holds BININT and 2 of its 4 bytes: C drops them and reads 01 00 00 00.
    const w = pw().proto(4).frame(3).raw([0x4a, 0x07, 0x00]).raw([0x01, 0x00, 0x00, 0x00]);
    const crossAt = w.here() - 7;
    w.global('os', 'system').stop();
    const a = scan(w);
    assert.deepEqual(codes(a), ['frame-violation']);
    assert.equal(a.findings[0]!.offset, crossAt);
    assert.equal(a.findings[0]!.opcode, 'BININT');
    assert.deepEqual(names(a), [['os', 'system']]);
  });

  it('a new FRAME before the current one is used up is frame-violation', () => {
    const w = pw().proto(4).frame(12).none().frame(2).pop().none().stop();
    const a = scan(w);
    assert.deepEqual(codes(a), ['frame-violation']);
    assert.equal(a.findings[0]!.opcode, 'FRAME');
  });

  it('a frame running past STOP is frame-violation, and the next pickle starts after the frame', () => {
    const w = pw().proto(4);
    const at = w.here();
    w.none().stop().raw([0xff, 0xff]);
    w.frameFrom(at);
    w.global('os', 'system').stop();
    const a = scan(w);
    assert.deepEqual(codes(a), ['frame-violation']);
    assert.deepEqual(names(a), [['os', 'system']]);
  });

  it('a frame longer than the data is a frame-violation, read on as the pure-Python unpickler reads it', () => {
    const a = scan(pw().proto(4).global('a', 'b').frame(100).none().stop());
    assert.deepEqual(codes(a), ['frame-violation']);
    assert.equal(a.pickles[0]!.complete, true);
  });
});

describe('afterBuild hook', () => {
  it('resume skips inline bytes the loader reads out of band', () => {
    const w = pw().proto(4).global('joblib', 'Wrapper').emptyTuple().newobj().emptyDict().build();
    const dataAt = w.here();
    w.raw([0xff, 0xff, 0xff, 0xff]).pop().none().stop();
    const a = scan(w, { afterBuild: (ctx) => (ctx.offset === dataAt ? { resume: dataAt + 4 } : undefined) });
    assert.deepEqual(a.findings, []);
    assert.equal(a.pickles[0]!.complete, true);
  });

  it('nestedPickleAt scans a whole pickle with a fresh memo, then continues', () => {
    const w = pw().proto(4).shortBinUnicode('outer').memoize().pop().global('m', 'W').emptyTuple().newobj().emptyDict().build();
    const nestedAt = w.here();
    w.proto(4).global('os', 'system').stop();
    w.pop().binget(0).pop().none().stop();
    let calls = 0;
    const a = scan(w, { afterBuild: () => (calls++ === 0 ? { nestedPickleAt: nestedAt } : undefined) });
    assert.deepEqual(names(a), [['m', 'W'], ['os', 'system']]);
    assert.deepEqual(a.findings, []);
    assert.equal(a.pickles.length, 2);
    assert.equal(a.imports[1]!.pickleIndex, 1);
  });

  it('an error answer or a throwing hook is malformed', () => {
    const w = pw().proto(4).global('m', 'W').emptyTuple().newobj().emptyDict().build().none().stop();
    assert.match(scan(w, { afterBuild: () => ({ error: 'cannot tell array size' }) }).findings[0]!.message, /cannot tell array size/);
    const thrown = scan(w, {
      afterBuild: () => {
        throw new Error('boom');
      },
    });
    assert.deepEqual(codes(thrown), ['malformed']);
    assert.deepEqual(codes(scan(w, { afterBuild: () => ({ resume: 1 }) })), ['malformed']);
  });
});

describe('afterBuild and frames', () => {
  it('tells the hook where the current frame ends when bytes of it are left', () => {
    const w = pw().proto(4);
    const at = w.here();
    w.global('m', 'W').emptyTuple().newobj().emptyDict().build().none().pop().stop();
    w.frameFrom(at);
    const seen: Array<number | undefined> = [];
    scan(w, { afterBuild: (ctx) => void seen.push(ctx.frameEnd) });
    assert.deepEqual(seen, [w.bytes().length]);
  });

  it('a resume past a frame that ended exactly at the BUILD is not a frame violation', () => {
    const w = pw().proto(4);
    const at = w.here();
    w.global('m', 'W').emptyTuple().newobj().emptyDict().build();
    w.frameFrom(at);
    const dataAt = w.here();
    w.raw([1, 2, 3, 4]).stop();
    const a = scan(w, { afterBuild: (ctx) => { assert.equal(ctx.frameEnd, undefined); return { resume: dataAt + 4 }; } });
    assert.deepEqual(a.findings, []);
  });
});

describe('never throws', () => {
  it('a source that fails mid-read is malformed, with the imports seen so far', () => {
    // The payload pushes the next opcode past the first 1 MiB window: a second read is needed.
    const bytes = pw().proto(4).global('os', 'system').binBytes8(new Uint8Array(2 << 20)).none().stop().bytes();
    let reads = 0;
    const flaky = {
      size: bytes.length,
      read(offset: number, length: number): Uint8Array {
        if (reads++ > 0) throw new Error('EIO');
        return bytes.subarray(offset, offset + length);
      },
    };
    const a = analyzePickleStream(flaky);
    assert.deepEqual(names(a), [['os', 'system']]);
    assert.deepEqual(codes(a), ['malformed']);
    assert.match(a.findings[0]!.message, /internal error.*EIO/);
  });

  it('a text line longer than maxDeclaredLength is a limit', () => {
    const a = scan(pw().proto(2).global('a', 'b').global('x'.repeat(5000), 'y').stop(), { limits: { maxDeclaredLength: 1000 } });
    assert.deepEqual(codes(a), ['limit']);
    assert.equal(a.findings[0]!.limit, 'maxDeclaredLength');
  });
});
