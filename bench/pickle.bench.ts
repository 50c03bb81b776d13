/**
 * Pickle machine throughput beside Python's `pickletools.genops` walk (the core several
 * Python scanners are built on), over the same files:
 *   (a) opcode-dense: a list of a million small ints and short strings (made by CPython);
 *   (b) large payloads: >= 512 MiB of BINBYTES8 payloads, scanned from a file via fdSource;
 *   (c) 128 MiB of BINUNICODE8 text, which the scanner must read to validate as UTF-8.
 * Prints MB/s for both sides, the ratio, and peak RSS for (b).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './run.js';
import { fdSource } from '../src/io/byte-source.js';
import { analyzePickleStream } from '../src/pickle/index.js';

const GENOPS = `
import pickletools, resource, sys, time
path = sys.argv[1]
best = None
for _ in range(int(sys.argv[2])):
    with open(path, 'rb') as f:
        t = time.perf_counter()
        n = 0
        for _op in pickletools.genops(f):
            n += 1
        dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(best, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
`;

function pythonWalk(path: string, runs: number): { seconds: number; opcodes: number; maxRss: number } {
  const res = spawnSync('python3', ['-c', GENOPS, path, String(runs)], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`pickletools walk failed: ${res.stderr}`);
  const [seconds, opcodes, maxRss] = res.stdout.trim().split(/\s+/).map(Number) as [number, number, number];
  return { seconds, opcodes, maxRss };
}

function scanFile(path: string, runs: number): { seconds: number; opcodes: number; findings: number } {
  let best = Infinity;
  let opcodes = 0;
  let findings = 0;
  for (let i = 0; i < runs; i++) {
    const fd = openSync(path, 'r');
    try {
      const t = performance.now();
      const a = analyzePickleStream(fdSource(fd));
      best = Math.min(best, (performance.now() - t) / 1000);
      opcodes = a.pickles.reduce((n, p) => n + p.opcodes, 0);
      findings = a.findings.length;
    } finally {
      closeSync(fd);
    }
  }
  return { seconds: best, opcodes, findings };
}

const MB = 1e6;

function report(label: string, path: string, ours: ReturnType<typeof scanFile>, theirs: ReturnType<typeof pythonWalk>): void {
  const size = statSync(path).size;
  const oursRate = size / MB / ours.seconds;
  const theirRate = size / MB / theirs.seconds;
  console.log(`${label}: ${(size / MB).toFixed(1)} MB, ${ours.opcodes} opcodes (pickletools counted ${theirs.opcodes}), findings ${ours.findings}`);
  console.log(`  pickle-guard ${oursRate.toFixed(1)} MB/s (${(ours.seconds * 1000).toFixed(1)} ms)`);
  console.log(`  pickletools  ${theirRate.toFixed(1)} MB/s (${(theirs.seconds * 1000).toFixed(1)} ms)`);
  console.log(`  ratio        ${(oursRate / theirRate).toFixed(1)}x`);
}

/**
 * (b): PROTO 4, EMPTY_LIST, MARK, n x BINBYTES8 payload, APPENDS, STOP, written in chunks.
 * With `opcode` 0x8d (BINUNICODE8) the payloads are text that must be validated as UTF-8.
 */
function writePayloadPickle(path: string, count: number, payload: number, opcode = 0x8e): void {
  const expected = 4 + count * (9 + payload) + 2;
  if (existsSync(path) && statSync(path).size === expected) return;
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, Uint8Array.from([0x80, 4, 0x5d, 0x28]));
    const chunk = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < count; i++) {
      const head = Buffer.alloc(9);
      head[0] = opcode;
      head.writeBigUInt64LE(BigInt(payload), 1);
      writeSync(fd, head);
      for (let left = payload; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
    }
    writeSync(fd, Uint8Array.from([0x65, 0x2e]));
  } finally {
    closeSync(fd);
  }
}

export default async function pickleBench(ctx: BenchContext): Promise<void> {
  const runs = ctx.quick ? 1 : 3;

  // (b) first, so this process's peak RSS is not inflated by (a).
  const big = join(ctx.dataDir, ctx.quick ? 'pickle-payloads-quick.pkl' : 'pickle-payloads.pkl');
  writePayloadPickle(big, ctx.quick ? 8 : 64, 8 << 20);
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const oursBig = scanFile(big, runs);
  const rssAfter = process.resourceUsage().maxRSS * 1024;
  const theirsBig = pythonWalk(big, 1);
  report('(b) large payloads, from a file', big, oursBig, theirsBig);
  console.log(`  peak RSS     pickle-guard process ${(rssAfter / MB).toFixed(0)} MB (was ${(rssBefore / MB).toFixed(0)} MB before the scan), python ${(theirsBig.maxRss / MB).toFixed(0)} MB; file ${(statSync(big).size / MB).toFixed(0)} MB`);

  // (c) the same shape with BINUNICODE8 text: every byte is read to check it is UTF-8.
  const text = join(ctx.dataDir, ctx.quick ? 'pickle-text-quick.pkl' : 'pickle-text.pkl');
  writePayloadPickle(text, ctx.quick ? 2 : 16, 8 << 20, 0x8d);
  report('(c) large text payloads (UTF-8 checked), from a file', text, scanFile(text, runs), pythonWalk(text, 1));

  // (a) opcode-dense, made by CPython itself.
  const dense = join(ctx.dataDir, ctx.quick ? 'pickle-dense-quick.pkl' : 'pickle-dense.pkl');
  const n = ctx.quick ? 100_000 : 1_000_000;
  if (!existsSync(dense)) {
    const res = spawnSync('python3', ['-c', `
import pickle, sys
data = [i % 250 if i % 2 else 's%d' % i for i in range(${n})]
open(sys.argv[1], 'wb').write(pickle.dumps(data, protocol=4))
`, dense]);
    if (res.status !== 0) throw new Error(`could not make the dense pickle: ${res.stderr}`);
  }
  const oursDense = scanFile(dense, runs);
  const theirsDense = pythonWalk(dense, runs);
  report('(a) opcode-dense (1M small ints and short strings)', dense, oursDense, theirsDense);
}
