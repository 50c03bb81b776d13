/**
 * A zip read the way its loader reads it. Torch checkpoints and TorchScript archives
 * follow miniz (PyTorchStreamReader); `.npz` and any other zip follow CPython's zipfile
 * (what np.load uses). Every member a loader could unpickle is scanned; tensor data
 * (`<prefix>/data/...`) is never read.
 */
import type { ByteSource } from '../../io/byte-source.js';
import {
  childPlace,
  decompressCap,
  report,
  reportLimit,
  scanPickle,
  spendDecompressed,
  takeMembers,
  type NestedAnalyzer,
  type Place,
  type ScanContext,
} from '../context.js';
import { scanRawPickle } from '../raw-pickle.js';
import { sniffHead, SNIFF_BYTES } from '../sniff.js';
import type { ContainerFormat } from '../types.js';
import type { PersistentLoadHook } from '../../pickle/types.js';
import { readDirectory, type ZipEntry } from './directory.js';
import { openMember, type ZipMode } from './member.js';
import { copyOf } from '../bytes.js';

/** Names torch unpickles: `data.pkl`, `constants.pkl`, `*.debug_pkl` ... in any case. */
export function isPickleName(name: string): boolean {
  return /[._]pkl$/i.test(name);
}

/** miniz compares names with ASCII-only lowercasing. */
function asciiLower(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function isDirectory(entry: ZipEntry): boolean {
  return entry.name.endsWith('/') && entry.uncompressedSize === 0;
}

export type ZipKind = 'torch' | 'npz' | 'zip';

/**
 * Which loader's rules apply. A zip with a pickle-named member is a torch archive
 * (only torch.load unpickles those); a zip of `.npy` members only is an `.npz`; any
 * other zip is read with zipfile rules and every member that could be a pickle or a
 * container is looked at.
 */
export function zipKind(entries: readonly ZipEntry[]): ZipKind {
  const files = entries.filter((e) => !isDirectory(e));
  if (files.some((e) => isPickleName(e.name))) return 'torch';
  if (files.length > 0 && files.every((e) => e.name.endsWith('.npy'))) return 'npz';
  return 'zip';
}

export function analyzeZip(ctx: ScanContext, place: Place, source: ByteSource, nested: NestedAnalyzer): ContainerFormat {
  const result = readDirectory(source, ctx.budget.members);
  if (result.ok === 'too-many') {
    takeMembers(ctx, place, result.count);
    return 'zip';
  }
  if (!result.ok) {
    report(ctx, place, { code: result.problem.code, message: result.problem.message, ...(result.problem.offset !== undefined ? { offset: result.problem.offset } : {}) });
    return 'zip';
  }
  const entries = result.directory.entries;
  if (!takeMembers(ctx, place, entries.length)) return 'zip';
  const kind = zipKind(entries);
  if (kind === 'torch') return analyzeTorchZip(ctx, place, source, entries, nested);
  const format: ContainerFormat = kind === 'npz' ? 'npz' : 'zip';
  for (const entry of entries) {
    if (!isDirectory(entry)) readAndScan(ctx, place, source, entry, 'zipfile', format, nested, false);
  }
  return format;
}

function analyzeTorchZip(ctx: ScanContext, place: Place, source: ByteSource, entries: ZipEntry[], nested: NestedAnalyzer): ContainerFormat {
  const first = entries[0] as ZipEntry; // zipKind('torch') implies at least one entry
  const slash = first.name.indexOf('/');
  if (slash < 0) {
    report(ctx, place, {
      code: 'container-malformed',
      message: `the first zip entry "${first.name}" is not in a folder: torch.load refuses such an archive, so it is not a loadable checkpoint`,
    });
  }
  const prefix = slash < 0 ? '' : first.name.slice(0, slash);
  const lowerPrefix = asciiLower(prefix);

  // miniz looks names up case-insensitively; two names that differ only in case make the lookup ambiguous.
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const key = asciiLower(entry.name);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      report(ctx, place, {
        code: 'container-ambiguous',
        message: `zip names "${earlier}" and "${entry.name}" are the same to torch's case-insensitive lookup: which one it reads depends on its search path`,
        member: childPlace(place, entry.name).member,
      });
    } else seen.set(key, entry.name);
  }

  const names = entries.map((e) => asciiLower(e.name));
  const torchscript = names.some((n) => n.startsWith(`${lowerPrefix}/code/`) || n === `${lowerPrefix}/constants.pkl`);
  const format: ContainerFormat = torchscript ? 'torchscript' : 'torch-zip';
  const dataDir = `${lowerPrefix}/data/`;
  for (const entry of entries) {
    if (isDirectory(entry)) continue;
    const pickleNamed = isPickleName(entry.name);
    if (!pickleNamed && asciiLower(entry.name).startsWith(dataDir)) continue; // tensor bytes: never read
    readAndScan(ctx, place, source, entry, 'torch', format, nested, pickleNamed);
  }
  return format;
}

/**
 * persistent_load of torch's zip format (`_load`) and of TorchScript's C++ unpickler: a
 * `('storage', ...)` id loads a storage (opaque); torch raises on any other id, so it
 * stays unresolved. Neither ever returns a class, so no id resolves to a global.
 */
export const torchZipPersistentLoad: PersistentLoadHook = ({ pid, offset }) => {
  const tag = pid.k === 'tuple' ? pid.items[0] : undefined;
  return tag?.k === 'str' && tag.v === 'storage' ? { k: 'persid', pid, offset, loaded: 'storage' } : undefined;
};

/**
 * Opens one member and scans it: as a pickle when its name says torch unpickles it,
 * otherwise by content (a nested container, a pickle, or nothing to scan).
 */
function readAndScan(
  ctx: ScanContext,
  place: Place,
  source: ByteSource,
  entry: ZipEntry,
  mode: ZipMode,
  format: ContainerFormat,
  nested: NestedAnalyzer,
  pickleNamed: boolean,
): void {
  const here = childPlace(place, entry.name);
  const cap = decompressCap(ctx);
  const opened = openMember(source, entry, mode, cap);
  if (!opened.ok) {
    const p = opened.problem;
    if (p.code === 'limit' && p.limit) reportLimit(ctx, here, p.limit, p.message);
    else report(ctx, here, { code: p.code, message: p.message });
    return;
  }
  spendDecompressed(ctx, opened.inflated);
  if (opened.warning) report(ctx, here, { code: opened.warning.code, message: opened.warning.message });
  if (pickleNamed) {
    scanPickle(ctx, here, format, opened.source, { persistentLoad: torchZipPersistentLoad });
    return;
  }
  const head = sniffHead(copyOf(opened.source.read(0, SNIFF_BYTES)));
  if (head.kind === 'pickle' || head.kind === 'torch-legacy') scanRawPickle(ctx, here, opened.source, format);
  else if (head.kind !== 'unknown') nested(ctx, here, opened.source, head);
}
