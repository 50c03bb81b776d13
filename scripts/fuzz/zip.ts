/**
 * Just enough zip for the fuzzer: find the records a mutation may touch, take stored
 * members out, and write a consistent stored zip back (so a pickle mutation inside
 * data.pkl is not simply a size mismatch every reader refuses).
 */
import { crc32 } from 'node:zlib';

export interface ZipRecord {
  kind: 'local' | 'central' | 'eocd';
  offset: number;
}

export interface ZipMember {
  name: Buffer;
  data: Buffer;
}

const SIG = { local: 0x04034b50, central: 0x02014b50, eocd: 0x06054b50 } as const;

/** Every offset where a local, central or end record signature appears. */
export function findRecords(buf: Buffer): ZipRecord[] {
  const out: ZipRecord[] = [];
  for (let i = 0; i + 4 <= buf.length; i++) {
    if (buf[i] !== 0x50 || buf[i + 1] !== 0x4b) continue;
    const sig = buf.readUInt32LE(i);
    if (sig === SIG.local) out.push({ kind: 'local', offset: i });
    else if (sig === SIG.central) out.push({ kind: 'central', offset: i });
    else if (sig === SIG.eocd) out.push({ kind: 'eocd', offset: i });
  }
  return out;
}

/** Field offsets and widths inside each record, for field mutations. */
export const FIELDS: Record<ZipRecord['kind'], Array<[number, 2 | 4]>> = {
  // version, flags, method, time, date, crc, csize, usize, name len, extra len
  local: [[4, 2], [6, 2], [8, 2], [10, 2], [12, 2], [14, 4], [18, 4], [22, 4], [26, 2], [28, 2]],
  // made by, version, flags, method, time, date, crc, csize, usize, name len, extra len,
  // comment len, disk, internal attr, external attr, local offset
  central: [[4, 2], [6, 2], [8, 2], [10, 2], [12, 2], [14, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [34, 2], [36, 2], [38, 4], [42, 4]],
  // disk, cd disk, entries here, entries total, cd size, cd offset, comment len
  eocd: [[4, 2], [6, 2], [8, 2], [10, 2], [12, 4], [16, 4], [20, 2]],
};

/** Stored members in central-directory order, or undefined when the zip is not that simple. */
export function readStoredZip(buf: Buffer): ZipMember[] | undefined {
  const eocd = findRecords(buf).filter((r) => r.kind === 'eocd').pop();
  if (!eocd || eocd.offset + 22 > buf.length) return undefined;
  const count = buf.readUInt16LE(eocd.offset + 10);
  let p = buf.readUInt32LE(eocd.offset + 16);
  const members: ZipMember[] = [];
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== SIG.central) return undefined;
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const total = 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    if (method !== 0 || local + 30 > buf.length || buf.readUInt32LE(local) !== SIG.local) return undefined;
    const dataStart = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (dataStart + size > buf.length) return undefined;
    members.push({ name: Buffer.from(buf.subarray(p + 46, p + 46 + nameLen)), data: Buffer.from(buf.subarray(dataStart, dataStart + size)) });
    p += total;
  }
  return members;
}

/** A consistent stored zip (no extras, real CRCs), members in the given order. */
export function writeStoredZip(members: readonly ZipMember[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const crc = crc32(m.data) >>> 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(SIG.local, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(m.data.length, 18);
    lh.writeUInt32LE(m.data.length, 22);
    lh.writeUInt16LE(m.name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(SIG.central, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(m.data.length, 20);
    ch.writeUInt32LE(m.data.length, 24);
    ch.writeUInt16LE(m.name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, m.name, m.data);
    centrals.push(ch, m.name);
    offset += 30 + m.name.length + m.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG.eocd, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
