/**
 * A tar reader as CPython's tarfile reads it (what torch's oldest format used):
 * 512-byte headers with checksums, octal or base-256 sizes, ustar prefixes, pax `path`
 * and `size` records, GNU long names. It stops, like tarfile, at the first zero or
 * invalid header. Member data stays a positioned window of the file.
 */
import { sliceSource, type ByteSource } from '../io/byte-source.js';
import { isTarHeader } from './sniff.js';
import { copyOf } from './bytes.js';

export interface TarMember {
  name: string;
  /** Type flag as a character ('0' regular, '5' directory, '2' symlink ...). */
  type: string;
  /** Offset of the header block. */
  headerOffset: number;
  dataStart: number;
  size: number;
}

export type TarResult =
  | { ok: true; members: TarMember[] }
  | { ok: false; code: 'container-malformed'; message: string; offset: number }
  | { ok: 'too-many'; count: number };

const BLOCK = 512;

function cstring(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  const used = end < 0 ? bytes : bytes.subarray(0, end);
  return new TextDecoder('utf-8').decode(used);
}

/** tarfile's nti(): octal text, or base-256 when the first byte has its high bit set. */
function number(field: Uint8Array): number | undefined {
  if (((field[0] as number) & 0x80) !== 0) {
    if (field[0] === 0xff) return undefined; // negative
    let v = (field[0] as number) & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + (field[i] as number);
    return Number.isSafeInteger(v) ? v : undefined;
  }
  const text = cstring(field).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const v = parseInt(text, 8);
  return Number.isSafeInteger(v) ? v : undefined;
}

/** Parses pax records ("<len> key=value\n"); returns undefined on a malformed record. */
function paxRecords(data: Uint8Array): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    if (space < 0) return undefined;
    const len = Number(new TextDecoder().decode(data.subarray(at, space)));
    if (!Number.isSafeInteger(len) || len <= space - at || at + len > data.length) return undefined;
    const record = new TextDecoder('utf-8').decode(data.subarray(space + 1, at + len - 1));
    const eq = record.indexOf('=');
    if (eq < 0) return undefined;
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

const REGULAR_OR_UNKNOWN = (type: string): boolean => !'125634xgLKS'.includes(type) || type === '';

/** Lists the members of a tar. `maxMembers` bounds how many headers are read. */
export function readTar(source: ByteSource, maxMembers: number): TarResult {
  const members: TarMember[] = [];
  let at = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  while (at + BLOCK <= source.size) {
    const header = copyOf(source.read(at, BLOCK));
    if (!isTarHeader(header)) break; // zero block or invalid header: tarfile ends the archive here
    const type = String.fromCharCode(header[156] as number).replace('\0', '0');
    const rawSize = number(header.subarray(124, 136));
    if (rawSize === undefined) return { ok: false, code: 'container-malformed', message: 'tar member size is not a number', offset: at };
    const magic = cstring(header.subarray(257, 263));
    const prefix = magic.startsWith('ustar') ? cstring(header.subarray(345, 500)) : '';
    let name = cstring(header.subarray(0, 100));
    if (prefix) name = `${prefix}/${name}`;
    const dataStart = at + BLOCK;
    const size = type === 'x' || type === 'L' || type === 'g' ? rawSize : Number(pax?.get('size') ?? rawSize);
    if (!Number.isSafeInteger(size) || size < 0) return { ok: false, code: 'container-malformed', message: 'pax size is not a number', offset: at };
    if (dataStart + size > source.size) return { ok: false, code: 'container-malformed', message: `tar member "${name}" runs past the end of the file`, offset: at };

    if (type === 'x' || type === 'L') {
      const data = copyOf(source.read(dataStart, rawSize));
      if (type === 'L') longName = cstring(data);
      else {
        pax = paxRecords(data);
        if (!pax) return { ok: false, code: 'container-malformed', message: 'malformed pax header', offset: at };
      }
    } else if (type !== 'g' && type !== 'K') {
      if (members.length + 1 > maxMembers) return { ok: 'too-many', count: members.length + 1 };
      const finalName = pax?.get('path') ?? longName ?? name;
      members.push({ name: finalName, type, headerOffset: at, dataStart, size });
      longName = undefined;
      pax = undefined;
    }
    // Only regular (and unknown, which tarfile treats as regular) members and meta headers carry data blocks.
    const carriesData = REGULAR_OR_UNKNOWN(type) || type === 'x' || type === 'g' || type === 'L' || type === 'K' || type === 'S';
    at = dataStart + (carriesData ? Math.ceil(size / BLOCK) * BLOCK : 0);
  }
  if (members.length === 0 && at === 0) return { ok: false, code: 'container-malformed', message: 'not a tar archive', offset: 0 };
  return { ok: true, members };
}

export function isRegular(member: TarMember): boolean {
  return REGULAR_OR_UNKNOWN(member.type) && member.type !== '5';
}

export function memberSource(source: ByteSource, member: TarMember): ByteSource {
  return sliceSource(source, member.dataStart, member.size);
}

/** torch's tar layout: the member names `legacy_load` extracts. */
export const TORCH_TAR_MEMBERS = ['sys_info', 'pickle', 'storages', 'tensors'] as const;

export function isTorchTar(members: readonly TarMember[]): boolean {
  const names = new Set(members.map((m) => m.name));
  return names.has('pickle') && names.has('storages') && names.has('tensors');
}
