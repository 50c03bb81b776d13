/**
 * Container scanning cost must not depend on tensor bytes: a torch zip checkpoint of
 * >= 1.5 GB (a few large stored tensors) against a 15 MB one with the SAME data.pkl.
 * Each scan runs in a fresh child process so its wall time and peak RSS are its own.
 * Prints both side by side and their ratios (no pass/fail).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDirectory } from '../src/formats/zip/directory.js';
import { openMember } from '../src/formats/zip/member.js';
import { bufferSource } from '../src/io/byte-source.js';
import type { BenchContext } from './run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHUNK = 8 << 20;

interface Member {
  name: string;
  size: number;
  offset: number;
}

/** Writes a stored (method 0) torch-style zip member by member without holding tensors in memory. */
function writeCheckpoint(path: string, dataPkl: Uint8Array, tensorBytes: number[]): void {
  const fd = openSync(path, 'w');
  let at = 0;
  const members: Member[] = [];
  const put = (b: Uint8Array): void => {
    writeSync(fd, b, 0, b.length, at);
    at += b.length;
  };
  const local = (name: string, size: number): void => {
    const n = Buffer.from(name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt32LE(size, 18);
    h.writeUInt32LE(size, 22);
    h.writeUInt16LE(n.length, 26);
    members.push({ name, size, offset: at });
    put(h);
    put(n);
  };
  local('ckpt/data.pkl', dataPkl.length);
  put(dataPkl);
  const chunk = Buffer.alloc(CHUNK);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i); // not zeros: no sparse shortcuts
  tensorBytes.forEach((size, i) => {
    local(`ckpt/data/${i}`, size);
    for (let left = size; left > 0; left -= CHUNK) put(chunk.subarray(0, Math.min(CHUNK, left)));
  });
  local('ckpt/version', 2);
  put(Buffer.from('3\n'));
  const cdStart = at;
  for (const m of members) {
    const n = Buffer.from(m.name);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(m.size, 20);
    c.writeUInt32LE(m.size, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(m.offset, 42);
    put(c);
    put(n);
  }
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(members.length, 8);
  e.writeUInt16LE(members.length, 10);
  e.writeUInt32LE(at - cdStart, 12);
  e.writeUInt32LE(cdStart, 16);
  put(e);
  closeSync(fd);
}

/** data.pkl of the real torch 1.13 checkpoint fixture, read with our own zip reader. */
function realDataPkl(): Uint8Array {
  const source = bufferSource(new Uint8Array(readFileSync(join(ROOT, 'test/fixtures/models/torch/checkpoint.pt'))));
  const dir = readDirectory(source, 1000);
  if (dir.ok !== true) throw new Error('fixture checkpoint.pt is not readable');
  const entry = dir.directory.entries.find((e) => e.name.endsWith('/data.pkl'));
  if (!entry) throw new Error('no data.pkl in checkpoint.pt');
  const opened = openMember(source, entry, 'torch', { cap: 1 << 30, limit: 'maxDecompressedBytesPerMember' });
  if (!opened.ok) throw new Error(opened.problem.message);
  return new Uint8Array(opened.source.read(0, opened.source.size));
}

interface Run {
  ms: number;
  maxRssMiB: number;
  streams: number;
  imports: number;
  verdict: string;
}

function scanInChild(dataDir: string, file: string): Run {
  const script = join(dataDir, 'containers-child.mjs');
  writeFileSync(
    script,
    [
      `import { analyzeContainer } from ${JSON.stringify(join(ROOT, 'src/formats/index.ts'))};`,
      `import { withFileSource } from ${JSON.stringify(join(ROOT, 'src/io/byte-source.ts'))};`,
      'const t0 = process.hrtime.bigint();',
      'const a = withFileSource(process.argv[2], (s) => analyzeContainer(s));',
      'const ms = Number(process.hrtime.bigint() - t0) / 1e6;',
      'const imports = a.streams.reduce((n, s) => n + s.analysis.imports.length, 0);',
      'const bad = a.findings.length + a.streams.reduce((n, s) => n + s.analysis.findings.filter((f) => f.code !== "persistent-id").length, 0);',
      'console.log(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, streams: a.streams.length, imports, verdict: bad ? "findings" : "clean" }));',
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, file], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Run;
}

function ensure(path: string, dataPkl: Uint8Array, tensors: number[]): void {
  const want = tensors.reduce((a, b) => a + b, 0);
  if (existsSync(path) && statSync(path).size > want) return;
  writeCheckpoint(path, dataPkl, tensors);
}

export default async function containers(ctx: BenchContext): Promise<void> {
  const dataPkl = realDataPkl();
  const small = join(ctx.dataDir, 'ckpt-15MB.pt');
  const bigSize = ctx.quick ? 50 << 20 : 512 << 20; // per tensor: 3 tensors -> 1.5 GiB (150 MiB quick)
  const big = join(ctx.dataDir, ctx.quick ? 'ckpt-150MB.pt' : 'ckpt-1.5GB.pt');
  ensure(small, dataPkl, [5 << 20, 5 << 20, 5 << 20]);
  ensure(big, dataPkl, [bigSize, bigSize, bigSize]);

  const mib = (p: string): string => `${(statSync(p).size / (1 << 20)).toFixed(0)} MiB`;
  // One warm-up each (page cache, tsx compile cache), then the median of three.
  const median = (f: string): Run => {
    scanInChild(ctx.dataDir, f);
    const runs = [0, 1, 2].map(() => scanInChild(ctx.dataDir, f)).sort((a, b) => a.ms - b.ms);
    return runs[1] as Run;
  };
  const a = median(small);
  const b = median(big);
  console.log(`torch zip, same data.pkl (${dataPkl.length} B), stored tensors`);
  console.log(`  file            size        scan ms   peak RSS MiB   streams  imports  result`);
  for (const [name, f, r] of [
    ['15 MB', small, a],
    [ctx.quick ? '150 MB' : '1.5 GB', big, b],
  ] as const) {
    console.log(`  ${name.padEnd(14)}  ${mib(f).padStart(9)}  ${r.ms.toFixed(2).padStart(9)}  ${r.maxRssMiB.toFixed(1).padStart(13)}  ${String(r.streams).padStart(7)}  ${String(r.imports).padStart(7)}  ${r.verdict}`);
  }
  const sizeRatio = statSync(big).size / statSync(small).size;
  console.log(`  ratios big/small: size x${sizeRatio.toFixed(1)}, scan time x${(b.ms / a.ms).toFixed(2)}, peak RSS x${(b.maxRssMiB / a.maxRssMiB).toFixed(2)}`);
}
