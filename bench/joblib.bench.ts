/**
 * A zlib-compressed joblib file of one big float64 array (200 MB decompressed; 20 MB with
 * BENCH_QUICK=1), made by the real joblib when /usr/bin/python3 has it, else by our own
 * wrapper pickle + node:zlib (same zlib format). Each mode runs in its own child process so
 * wall time and peak RSS are its own:
 *   baseline: zlib.inflateSync of the file read into memory (the floor for a whole-buffer zlib reader);
 *   whole:    decompressSync into one buffer + analyzeJoblib (how pickle-guard read it before streaming);
 *   scan:     analyzeContainer over the file's descriptor (what pickle-guard does now: the
 *             compressed file read in windows, zlib decoded through a 1 MiB window).
 * Printed: MB/s of decompressed output, ratios against the baseline, and peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import type { BenchContext } from './run.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** `arrays` float64 arrays of `count` items each, in one dict. */
function makeWithJoblib(path: string, count: number, arrays = 1): boolean {
  const entries = Array.from({ length: arrays }, (_, i) => `'w${i}': np.arange(${count}, dtype='<f8') * 0.25`).join(', ');
  const script = `import joblib, numpy as np, sys\njoblib.dump({${entries}}, sys.argv[1], compress=('zlib', 3))`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' });
  return r.status === 0;
}

/** Our own joblib-shaped pickle (protocol 2, joblib >= 1.2 layout) around `count` float64s. */
function makeWithOwnWriter(path: string, count: number): void {
  const head = Buffer.from(
    '\x80\x02}q\x00X\x07\x00\x00\x00weightsq\x01cjoblib.numpy_pickle\nNumpyArrayWrapper\nq\x02)\x81q\x03}q\x04(X\x08\x00\x00\x00subclassq\x05cnumpy\nndarray\nq\x06X\x05\x00\x00\x00shapeq\x07J' +
      '\x00\x00\x00\x00\x85q\x08X\x05\x00\x00\x00orderq\x09X\x01\x00\x00\x00Cq\x0aX\x05\x00\x00\x00dtypeq\x0bcnumpy\ndtype\nq\x0cX\x02\x00\x00\x00f8q\x0d\x89\x88\x87q\x0eRq\x0f(K\x03X\x01\x00\x00\x00<q\x10NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x11bX\x0a\x00\x00\x00allow_mmapq\x12\x89X\x1b\x00\x00\x00numpy_array_alignment_bytesq\x13K\x10ub',
    'latin1',
  );
  head.writeInt32LE(count, head.indexOf('shapeq\x07J', 0, 'latin1') + 8);
  const pad = 16 - ((head.length + 1) % 16);
  const data = Buffer.alloc(count * 8);
  for (let i = 0; i < count; i++) data.writeDoubleLE(i * 0.25, i * 8);
  const tail = Buffer.from('s.', 'latin1');
  writeFileSync(path, deflateSync(Buffer.concat([head, Buffer.from([pad]), Buffer.alloc(pad, 0xff), data, tail]), { level: 3 }));
}

const CHILD = `
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
const [mode, path] = process.argv.slice(-2);
const input = mode === 'scan' || mode === 'idle' ? undefined : readFileSync(path);
const { decompressSync } = await import(${JSON.stringify(join(root, 'src/formats/compression/index.ts'))});
const { analyzeJoblib } = await import(${JSON.stringify(join(root, 'src/formats/joblib.ts'))});
const { bufferSource, withFileSource } = await import(${JSON.stringify(join(root, 'src/io/byte-source.ts'))});
const { analyzeContainer } = await import(${JSON.stringify(join(root, 'src/formats/index.ts'))});
const t0 = process.hrtime.bigint();
let out = 0, findings = -1, end = -1;
if (mode === 'idle') {
  // Modules loaded, nothing scanned: the RSS floor of these children.
} else if (mode === 'baseline') {
  out = inflateSync(input, { maxOutputLength: 2 ** 32 }).length;
} else if (mode === 'scan') {
  const a = withFileSource(path, (source) => analyzeContainer(source));
  const s = a.streams[0];
  if (a.compression !== 'zlib' || !s) throw new Error('not scanned as a zlib stream: ' + JSON.stringify(a.findings));
  findings = a.findings.length + s.analysis.findings.length;
  end = s.analysis.end;
  out = end;
} else {
  const r = decompressSync('zlib', input, 2 ** 32);
  if (!r.ok) throw new Error(r.message);
  out = r.bytes.length;
  const a = analyzeJoblib(bufferSource(r.bytes));
  findings = a.findings.length;
  end = a.end;
}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ ms, out, findings, end, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
`;

function runChild(mode: string, path: string): { ms: number; out: number; findings: number; end: number; maxRssMB: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, mode, path], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ReturnType<typeof runChild>;
}

type Run = ReturnType<typeof runChild>;

function measure(label: string, path: string, runs: number): void {
  const best = (mode: string): Run => {
    const all = Array.from({ length: runs }, () => runChild(mode, path));
    return all.reduce((a, b) => (b.ms < a.ms ? b : a));
  };
  const idle = best('idle');
  const base = best('baseline');
  const whole = best('whole');
  const scan = best('scan');
  const mbps = (r: { ms: number; out: number }) => (r.out / 1e6 / (r.ms / 1000)).toFixed(0);
  console.log(`file: ${label}, ${(statSync(path).size / 1e6).toFixed(1)} MB compressed, ${(scan.out / 1e6).toFixed(1)} MB decompressed`);
  console.log(`child floor (no scan): peak RSS ${idle.maxRssMB.toFixed(0)} MB`);
  console.log(`baseline inflateSync : ${base.ms.toFixed(0)} ms, ${mbps(base)} MB/s, peak RSS ${base.maxRssMB.toFixed(0)} MB`);
  console.log(`whole-buffer scan    : ${whole.ms.toFixed(0)} ms, ${mbps(whole)} MB/s, peak RSS ${whole.maxRssMB.toFixed(0)} MB (before streaming)`);
  console.log(`streaming scan       : ${scan.ms.toFixed(0)} ms, ${mbps(scan)} MB/s, peak RSS ${scan.maxRssMB.toFixed(0)} MB (now)`);
  console.log(`ratio whole/baseline : time x${(whole.ms / base.ms).toFixed(2)}, RSS x${(whole.maxRssMB / base.maxRssMB).toFixed(2)}`);
  console.log(`ratio stream/baseline: time x${(scan.ms / base.ms).toFixed(2)}, RSS x${(scan.maxRssMB / base.maxRssMB).toFixed(2)}`);
  console.log(`scan result          : stream end ${scan.end} of ${whole.out}, ${scan.findings} findings`);
}

export default async function bench(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 2_500_000 : 25_000_000; // 20 MB or 200 MB of float64
  const runs = ctx.quick ? 1 : 3;
  const path = join(ctx.dataDir, `joblib-zlib-${count}.joblib`);
  let maker = 'cached';
  if (!existsSync(path)) maker = makeWithJoblib(path, count) ? 'joblib.dump (real joblib)' : (makeWithOwnWriter(path, count), 'own wrapper pickle + node:zlib');
  measure(`${path} (${maker}; one array)`, path, runs);
  // Two arrays: the pickle opcodes between them sit outside the windows the counting pass
  // keeps, so the streaming scan decodes the first half a second time.
  const two = join(ctx.dataDir, `joblib-zlib-2x${count / 2}.joblib`);
  if (!existsSync(two) && !makeWithJoblib(two, count / 2, 2)) {
    console.log('two-array file skipped: needs joblib in /usr/bin/python3');
    return;
  }
  console.log('');
  measure(`${two} (joblib.dump; two arrays)`, two, runs);
}
