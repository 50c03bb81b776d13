/**
 * A byte-exact zip writer for tests: every header field can be set or falsified, so
 * each evasion (local/central mismatch, flags, zip64, lying sizes) is built by hand.
 */
import { deflateRawSync } from 'node:zlib';

export interface TestEntry {
  name: string;
  data: Uint8Array | string;
  method?: 0 | 8 | number;
  /** Central-directory flags (default 0). */
  flags?: number;
  /** Local-header overrides. */
  localName?: string;
  localFlags?: number;
  localMethod?: number;
  /** Override the central sizes (for lying-size tests). */
  uncompressedSize?: number;
  compressedSize?: number;
  /** Version needed to extract (central). */
  versionNeeded?: number;
}

export interface ZipOptions {
  /** Write zip64 EOCD + locator and zip64 extra fields with saturated 32-bit fields. */
  zip64?: boolean;
  /** Bytes before the first local header (offsets are written as if they were not there). */
  prepend?: Uint8Array;
  /** Extra bytes appended to the central directory (not counted in the entry count). */
  centralSlack?: Uint8Array;
  comment?: string;
  /** Override the EOCD entry count. */
  count?: number;
}

const enc = new TextEncoder();
export function bytesOf(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? enc.encode(v) : v;
}

class Out {
  chunks: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u16(v: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    this.push(b);
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.push(b);
  }
  u64(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.push(b);
  }
  bytes(): Uint8Array {
    const all = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  }
}

export function writeZip(entries: TestEntry[], options: ZipOptions = {}): Uint8Array {
  const out = new Out();
  if (options.prepend) out.push(options.prepend);
  const base = options.prepend?.length ?? 0;
  const central = new Out();
  for (const e of entries) {
    const raw = bytesOf(e.data);
    const method = e.method ?? 0;
    const payload = method === 8 ? new Uint8Array(deflateRawSync(raw)) : raw;
    const usize = e.uncompressedSize ?? raw.length;
    const csize = e.compressedSize ?? payload.length;
    const offset = out.length - base;
    const name = enc.encode(e.name);
    const localName = enc.encode(e.localName ?? e.name);
    // local header
    out.u32(0x04034b50);
    out.u16(20);
    out.u16(e.localFlags ?? e.flags ?? 0);
    out.u16(e.localMethod ?? method);
    out.u16(0);
    out.u16(0);
    out.u32(0); // CRC: neither torch nor we check it
    out.u32(options.zip64 ? 0xffffffff : csize);
    out.u32(options.zip64 ? 0xffffffff : usize);
    out.u16(localName.length);
    out.u16(options.zip64 ? 20 : 0);
    out.push(localName);
    if (options.zip64) {
      out.u16(1);
      out.u16(16);
      out.u64(usize);
      out.u64(csize);
    }
    out.push(payload);
    // central entry
    central.u32(0x02014b50);
    central.u16(20);
    central.u16(e.versionNeeded ?? 20);
    central.u16(e.flags ?? 0);
    central.u16(method);
    central.u16(0);
    central.u16(0);
    central.u32(0);
    central.u32(options.zip64 ? 0xffffffff : csize);
    central.u32(options.zip64 ? 0xffffffff : usize);
    central.u16(name.length);
    central.u16(options.zip64 ? 28 : 0);
    central.u16(0);
    central.u16(0);
    central.u16(0);
    central.u32(0);
    central.u32(options.zip64 ? 0xffffffff : offset);
    central.push(name);
    if (options.zip64) {
      central.u16(1);
      central.u16(24);
      central.u64(usize);
      central.u64(csize);
      central.u64(offset);
    }
  }
  if (options.centralSlack) central.push(options.centralSlack);
  const cdOffset = out.length - base;
  const cd = central.bytes();
  out.push(cd);
  const count = options.count ?? entries.length;
  if (options.zip64) {
    const recordAt = out.length - base;
    out.u32(0x06064b50);
    out.u64(44);
    out.u16(45);
    out.u16(45);
    out.u32(0);
    out.u32(0);
    out.u64(count);
    out.u64(count);
    out.u64(cd.length);
    out.u64(cdOffset);
    out.u32(0x07064b50);
    out.u32(0);
    out.u64(recordAt + base);
    out.u32(1);
  }
  const comment = enc.encode(options.comment ?? '');
  out.u32(0x06054b50);
  out.u16(0);
  out.u16(0);
  out.u16(options.zip64 ? 0xffff : count);
  out.u16(options.zip64 ? 0xffff : count);
  out.u32(options.zip64 ? 0xffffffff : cd.length);
  out.u32(options.zip64 ? 0xffffffff : cdOffset);
  out.u16(comment.length);
  out.push(comment);
  return out.bytes();
}
