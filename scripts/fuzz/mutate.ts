/**
 * Seeded mutators for the loader-differential fuzzer. Pure: (rng, bytes, donors) in,
 * new bytes + the mutation's name out, so a case is reproducible from (seed, index).
 */
import { gunzipSync, gzipSync, deflateSync, inflateSync } from 'node:zlib';
import { bufferSource } from '../../src/io/byte-source.js';
import { readOpcodes } from '../../src/pickle/index.js';
import { FIELDS, findRecords, readStoredZip, writeStoredZip } from './zip.js';

/** mulberry32: small, fast, seeded. */
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * Math.max(1, n)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
  };
}

export interface Rng {
  next(): number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
}

/** One opcode's bytes as found in a seed: [offset, end). */
export interface Op {
  name: string;
  offset: number;
  end: number;
}

/** Opcodes of every pickle that decodes from offset 0 or from a PROTO byte (`\x80` 0..5). */
export function pickleOps(buf: Buffer): Op[][] {
  const starts = new Set<number>([0]);
  for (let i = 0; i + 1 < buf.length && starts.size < 64; i++) {
    if (buf[i] === 0x80 && (buf[i + 1] ?? 9) <= 5) starts.add(i);
  }
  const out: Op[][] = [];
  const source = bufferSource(buf);
  for (const s of starts) {
    const ops: Op[] = [];
    try {
      for (const rec of readOpcodes(source, s, 1 << 24)) {
        ops.push({ name: rec.op.name, offset: rec.offset, end: rec.end });
        if (ops.length > 20000) break;
      }
    } catch {
      // a partial walk still gives splice points
    }
    if (ops.length >= 2) out.push(ops);
  }
  return out;
}

export interface Seed {
  name: string;
  bytes: Buffer;
  ops: Op[][];
}

export function makeSeed(name: string, bytes: Buffer): Seed {
  return { name, bytes, ops: pickleOps(bytes) };
}

type Mutator = (rng: Rng, buf: Buffer, seed: Seed, donors: readonly Seed[]) => Buffer | undefined;

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x7fffffff, 0xffffffff];

// ---- plain bytes -----------------------------------------------------------------

const flip: Mutator = (rng, buf) => {
  if (buf.length === 0) return undefined;
  const out = Buffer.from(buf);
  const i = rng.int(out.length);
  out[i] = (out[i] ?? 0) ^ (1 << rng.int(8));
  return out;
};

const setByte: Mutator = (rng, buf) => {
  if (buf.length === 0) return undefined;
  const out = Buffer.from(buf);
  out[rng.int(out.length)] = rng.int(256);
  return out;
};

const insertBytes: Mutator = (rng, buf) => {
  const at = rng.int(buf.length + 1);
  const ins = Buffer.alloc(1 + rng.int(8));
  for (let i = 0; i < ins.length; i++) ins[i] = rng.int(256);
  return Buffer.concat([buf.subarray(0, at), ins, buf.subarray(at)]);
};

const deleteRange: Mutator = (rng, buf) => {
  if (buf.length < 2) return undefined;
  const at = rng.int(buf.length);
  const n = 1 + rng.int(Math.min(16, buf.length - at));
  return Buffer.concat([buf.subarray(0, at), buf.subarray(at + n)]);
};

const truncate: Mutator = (rng, buf) => (buf.length < 2 ? undefined : Buffer.from(buf.subarray(0, rng.int(buf.length))));

const duplicateRange: Mutator = (rng, buf) => {
  if (buf.length < 2) return undefined;
  const a = rng.int(buf.length);
  const n = 1 + rng.int(Math.min(64, buf.length - a));
  const at = rng.int(buf.length + 1);
  return Buffer.concat([buf.subarray(0, at), buf.subarray(a, a + n), buf.subarray(at)]);
};

// ---- pickle-aware ----------------------------------------------------------------

function randomOps(rng: Rng, seed: Seed): Op[] | undefined {
  return seed.ops.length > 0 ? rng.pick(seed.ops) : undefined;
}

/** Inserts a run of opcodes from a donor (any seed) at an opcode boundary. */
const spliceOps: Mutator = (rng, buf, seed, donors) => {
  const ops = randomOps(rng, seed);
  const donor = rng.pick(donors);
  const dops = randomOps(rng, donor);
  if (!ops || !dops) return undefined;
  const at = rng.pick(ops).offset;
  const a = rng.int(dops.length);
  const b = Math.min(dops.length - 1, a + rng.int(6));
  const piece = donor.bytes.subarray(dops[a]!.offset, dops[b]!.end);
  return Buffer.concat([buf.subarray(0, at), piece, buf.subarray(at)]);
};

/** Overwrites opcodes in place with a donor's run of the same total length, when one exists. */
const overwriteOps: Mutator = (rng, buf, seed, donors) => {
  const ops = randomOps(rng, seed);
  const donor = rng.pick(donors);
  const dops = randomOps(rng, donor);
  if (!ops || !dops) return undefined;
  const i = rng.int(ops.length);
  const j = rng.int(dops.length);
  const len = dops[j]!.end - dops[j]!.offset;
  const at = ops[i]!.offset;
  if (at + len > buf.length) return undefined;
  const out = Buffer.from(buf);
  donor.bytes.copy(out, at, dops[j]!.offset, dops[j]!.end);
  return out;
};

const dropOp: Mutator = (rng, buf, seed) => {
  const ops = randomOps(rng, seed);
  if (!ops) return undefined;
  const op = rng.pick(ops);
  return Buffer.concat([buf.subarray(0, op.offset), buf.subarray(op.end)]);
};

const repeatOp: Mutator = (rng, buf, seed) => {
  const ops = randomOps(rng, seed);
  if (!ops) return undefined;
  const op = rng.pick(ops);
  return Buffer.concat([buf.subarray(0, op.end), buf.subarray(op.offset, op.end), buf.subarray(op.end)]);
};

const MEMO_OPS = new Set(['BINGET', 'BINPUT', 'LONG_BINGET', 'LONG_BINPUT']);

const memoIndex: Mutator = (rng, buf, seed) => {
  const ops = randomOps(rng, seed)?.filter((o) => MEMO_OPS.has(o.name));
  if (!ops || ops.length === 0) return undefined;
  const op = rng.pick(ops);
  const out = Buffer.from(buf);
  const at = op.offset + 1 + (op.end - op.offset - 2 > 0 ? rng.int(op.end - op.offset - 1) : 0);
  out[at] = rng.next() < 0.5 ? ((out[at] ?? 0) + (rng.next() < 0.5 ? 1 : 255)) & 0xff : rng.int(256);
  return out;
};

const protoFrame: Mutator = (rng, buf, seed) => {
  const ops = randomOps(rng, seed)?.filter((o) => o.name === 'PROTO' || o.name === 'FRAME');
  if (!ops || ops.length === 0) return undefined;
  const op = rng.pick(ops);
  const out = Buffer.from(buf);
  if (op.name === 'PROTO') {
    out[op.offset + 1] = rng.int(7);
    return out;
  }
  const len = Number(out.readBigUInt64LE(op.offset + 1));
  const delta = rng.pick([-9, -2, -1, 1, 2, 9, -len, 1000]);
  out.writeBigUInt64LE(BigInt(Math.max(0, len + delta)), op.offset + 1);
  return out;
};

/** Drops a FRAME opcode (9 bytes) or inserts one around a random span. */
const frameEdit: Mutator = (rng, buf, seed) => {
  const ops = randomOps(rng, seed);
  if (!ops) return undefined;
  const frame = ops.find((o) => o.name === 'FRAME');
  if (frame && rng.next() < 0.5) return Buffer.concat([buf.subarray(0, frame.offset), buf.subarray(frame.end)]);
  const op = rng.pick(ops);
  const hdr = Buffer.alloc(9);
  hdr[0] = 0x95;
  hdr.writeBigUInt64LE(BigInt(rng.int(Math.max(1, buf.length - op.offset))), 1);
  return Buffer.concat([buf.subarray(0, op.offset), hdr, buf.subarray(op.offset)]);
};

const TEXT_OPS = new Set(['INT', 'LONG', 'FLOAT', 'GET', 'PUT', 'GLOBAL', 'INST', 'STRING', 'UNICODE', 'PERSID']);
const TEXT_CHARS = [0x20, 0x09, 0x5f, 0x30, 0x2b, 0x2d, 0x78, 0x65, 0x4c, 0x2e, 0x0d, 0x0c, 0x0b, 0xa0];

/** Inserts or overwrites one character inside a text opcode's line (whitespace, `_`, signs, bases ...). */
const textArg: Mutator = (rng, buf, seed) => {
  const ops = randomOps(rng, seed)?.filter((o) => TEXT_OPS.has(o.name) && o.end - o.offset > 2);
  if (!ops || ops.length === 0) return undefined;
  const op = rng.pick(ops);
  const at = op.offset + 1 + rng.int(op.end - op.offset - 1); // before the newline at the latest
  const ch = Buffer.from([rng.pick(TEXT_CHARS)]);
  const cut = rng.next() < 0.5 ? 0 : 1;
  return Buffer.concat([buf.subarray(0, at), ch, buf.subarray(Math.min(at + cut, op.end - 1))]);
};

// ---- zip-aware -------------------------------------------------------------------

const zipField: Mutator = (rng, buf) => {
  const recs = findRecords(buf);
  if (recs.length === 0) return undefined;
  const rec = rng.pick(recs);
  const [off, width] = rng.pick(FIELDS[rec.kind]);
  const at = rec.offset + off;
  if (at + width > buf.length) return undefined;
  const out = Buffer.from(buf);
  const old = width === 2 ? out.readUInt16LE(at) : out.readUInt32LE(at);
  const mask = width === 2 ? 0xffff : 0xffffffff;
  const v = rng.next() < 0.5 ? rng.pick(INTERESTING) : old + rng.pick([-1, 1, -8, 8, 1 << rng.int(16)]);
  if (width === 2) out.writeUInt16LE(((v % 0x10000) + 0x10000) & mask, at);
  else out.writeUInt32LE(Number((BigInt(Math.trunc(v)) % 0x100000000n + 0x100000000n) % 0x100000000n), at);
  return out;
};

/** Edits a member name in a local or central record (case, a byte, a path segment). */
const zipName: Mutator = (rng, buf) => {
  const recs = findRecords(buf).filter((r) => r.kind !== 'eocd');
  if (recs.length === 0) return undefined;
  const rec = rng.pick(recs);
  const nameAt = rec.offset + (rec.kind === 'local' ? 30 : 46);
  const nameLen = buf.readUInt16LE(rec.offset + (rec.kind === 'local' ? 26 : 28));
  if (nameLen === 0 || nameAt + nameLen > buf.length) return undefined;
  const out = Buffer.from(buf);
  const i = nameAt + rng.int(nameLen);
  const c = out[i] ?? 0;
  const choice = rng.int(4);
  if (choice === 0 && c >= 0x61 && c <= 0x7a) out[i] = c - 32;
  else if (choice === 1) out[i] = rng.pick([0x2f, 0x5c, 0x2e, 0x00, 0x20]);
  else out[i] = rng.pick([0x61, 0x64, 0x70, 0x6b, 0x6c]);
  return out;
};

/** Parsed-and-rewritten stored zips: duplicate, drop, reorder, rename members; mutate one member's pickle. */
const zipMembers: Mutator = (rng, buf, seed, donors) => {
  const members = readStoredZip(buf);
  if (!members || members.length === 0) return undefined;
  const i = rng.int(members.length);
  const m = members[i]!;
  switch (rng.int(5)) {
    case 0: // duplicate an entry (before or after), optionally with another member's data
      members.splice(rng.next() < 0.5 ? i : i + 1, 0, { name: m.name, data: rng.pick(members).data });
      break;
    case 1:
      members.splice(i, 1);
      break;
    case 2: { // reorder
      const j = rng.int(members.length);
      [members[i], members[j]] = [members[j]!, m];
      break;
    }
    case 3: { // rename: change case of a segment, or the archive prefix
      const s = m.name.toString('latin1');
      const slash = s.indexOf('/');
      const renamed = rng.next() < 0.5 ? s.toUpperCase() : `${rng.pick(['x', 'archive', '', 'a/b'])}${s.slice(Math.max(0, slash))}`;
      members.splice(rng.next() < 0.5 ? i : i + 1, rng.next() < 0.5 ? 1 : 0, { name: Buffer.from(renamed, 'latin1'), data: m.data });
      break;
    }
    default: { // mutate the member's bytes with a pickle-aware or byte mutator, keep the zip consistent
      const inner = makeSeed(m.name.toString('latin1'), m.data);
      const out = mutateOnce(rng, inner, donors, INNER);
      if (!out) return undefined;
      members[i] = { name: m.name, data: out.bytes };
    }
  }
  return writeStoredZip(members);
};

// ---- compression round trip ------------------------------------------------------

/** For gzip/zlib files (joblib), mutate the decompressed pickle and compress it again. */
const compressed: Mutator = (rng, buf, seed, donors) => {
  let inner: Buffer;
  let wrap: (b: Buffer) => Buffer;
  try {
    if (buf[0] === 0x1f && buf[1] === 0x8b) {
      inner = gunzipSync(buf);
      wrap = (b) => gzipSync(b);
    } else if (buf[0] === 0x78) {
      inner = inflateSync(buf);
      wrap = (b) => deflateSync(b);
    } else return undefined;
  } catch {
    return undefined;
  }
  const out = mutateOnce(rng, makeSeed(seed.name, inner), donors, INNER);
  return out ? wrap(out.bytes) : undefined;
};

const INNER: Record<string, Mutator> = {
  flip, setByte, insertBytes, deleteRange, duplicateRange,
  spliceOps, overwriteOps, dropOp, repeatOp, memoIndex, protoFrame, frameEdit, textArg,
};

export const MUTATORS: Record<string, Mutator> = {
  ...INNER, truncate, zipField, zipName, zipMembers, compressed,
  // weight the structure-aware ones
  spliceOps2: spliceOps, overwriteOps2: overwriteOps, zipMembers2: zipMembers, zipField2: zipField,
};

export interface Mutant {
  bytes: Buffer;
  steps: string[];
}

function mutateOnce(rng: Rng, seed: Seed, donors: readonly Seed[], table: Record<string, Mutator>): Mutant | undefined {
  const names = Object.keys(table);
  for (let tries = 0; tries < 8; tries++) {
    const name = rng.pick(names);
    let out: Buffer | undefined;
    try {
      out = table[name]!(rng, seed.bytes, seed, donors);
    } catch (err) {
      // a record cut short by an earlier step: this mutator does not apply
      if (!(err instanceof RangeError)) throw err;
    }
    if (out) return { bytes: out, steps: [name.replace(/2$/, '')] };
  }
  return undefined;
}

/** One to three stacked mutations of a seed (later steps see the earlier step's bytes but the seed's opcode map). */
export function mutate(rng: Rng, seed: Seed, donors: readonly Seed[]): Mutant {
  const steps: string[] = [];
  let current: Seed = seed;
  const n = 1 + rng.int(3);
  for (let k = 0; k < n; k++) {
    const out = mutateOnce(rng, current, donors, MUTATORS);
    if (!out) break;
    steps.push(...out.steps);
    current = makeSeed(seed.name, out.bytes);
  }
  return { bytes: current.bytes, steps };
}
