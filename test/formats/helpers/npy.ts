/** Builds `.npy` bytes by hand: magic, version, header length, padded dict header, payload. */
export function npy(header: string, payload: Uint8Array | string = new Uint8Array(0), version: 1 | 2 | 3 = 1): Uint8Array {
  const lenSize = version === 1 ? 2 : 4;
  const enc = version === 3 ? Buffer.from(header, 'utf8') : Buffer.from(header, 'latin1');
  const unpadded = 8 + lenSize + enc.length + 1;
  const pad = (64 - (unpadded % 64)) % 64;
  const h = Buffer.concat([enc, Buffer.alloc(pad, 0x20), Buffer.from('\n')]);
  const pre = Buffer.alloc(8 + lenSize);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = version;
  pre[7] = 0;
  if (version === 1) pre.writeUInt16LE(h.length, 8);
  else pre.writeUInt32LE(h.length, 8);
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : Buffer.from(payload);
  return new Uint8Array(Buffer.concat([pre, h, body]));
}

export function npyDataStart(bytes: Uint8Array): number {
  const v = bytes[6];
  const b = Buffer.from(bytes);
  return v === 1 ? 10 + b.readUInt16LE(8) : 12 + b.readUInt32LE(8);
}
