/**
 * torch's two pre-zip formats.
 *
 * Legacy (torch < 1.6, or `_use_new_zipfile_serialization=False`): five pickles back to
 * back (magic number, protocol version, sys_info, the object, the storage keys), then
 * raw storage bytes. Each pickle is a full unpickle, so all five are scanned; the raw
 * bytes after them are never read as opcodes, unless the key list is empty: then torch
 * reads nothing more and any tail is scanned as further pickles. A first pickle that is not the magic
 * number is still run by torch before it complains, so it is scanned too.
 *
 * Tar (torch < 0.1.10): members `storages`, `tensors`, `pickle` (and `sys_info`). The
 * `storages` and `tensors` members interleave small pickles with raw records; they are
 * walked record by record, the way `legacy_load` reads them.
 */
import type { ByteSource } from '../io/byte-source.js';
import { analyzePickleStream } from '../pickle/index.js';
import type { PersistentLoadHook, PickleStreamAnalysis, Value } from '../pickle/types.js';
import { report, scanPickle, type Place, type ScanContext } from './context.js';
import { memberSource, type TarMember } from './tar.js';

export const LEGACY_PICKLE_COUNT = 5;
/** The object pickle: torch sets persistent_load on its unpickler only (the other four raise on a persistent id). */
export const LEGACY_OBJECT_PICKLE = 3;

export function analyzeTorchLegacy(ctx: ScanContext, place: Place, source: ByteSource): void {
  const analysis = scanPickle(ctx, place, 'torch-legacy', source, { pickleCount: LEGACY_PICKLE_COUNT, persistentLoad: legacyPersistentLoad });
  const keys = analysis.pickles[LEGACY_PICKLE_COUNT - 1];
  if (!keys?.complete || analysis.end >= source.size) return;
  // With no storage keys torch reads nothing after the fifth pickle, so whatever follows is
  // not storage data: a reader of pickle sequences (pickle.load until EOF) runs it. Scan it.
  if (isEmptyList(resultOfPickle(source, keys.start))) scanPickle(ctx, place, 'pickle', source, { start: analysis.end });
}

/** The value one pickle at `start` evaluates to (read again, silently, for its result only). */
function resultOfPickle(source: ByteSource, start: number): Value | undefined {
  return resultOf(analyzePickleStream(source, { start, pickleCount: 1, recordEffects: true }));
}

function isEmptyList(v: Value | undefined): boolean {
  return v?.k === 'list' && v.items.length === 0 && v.omitted === 0;
}

/** A source-file/source entry of a container id: torch writes a str, or None when it could not read the source. */
function isSourceField(v: Value | undefined): boolean {
  return v?.k === 'str' || v?.k === 'none';
}

/** The items of a tuple of exactly `length` items (all kept), else undefined. */
function tupleItems(v: Value, length: number): readonly Value[] | undefined {
  return v.k === 'tuple' && v.omitted === 0 && v.items.length === length ? v.items : undefined;
}

/**
 * `_legacy_load`'s persistent_load (torch 1.x and 2.x alike): `('module', cls, source_file,
 * source)` returns `cls` (its source is at most compared, for a warning), so a NEWOBJ on it
 * is a call of that class; `('storage', ...)` returns a storage. Any other id raises in
 * torch; we leave it unresolved. Only the shapes torch writes are resolved: anything else
 * stays an opaque value, whose call is an indirect-call.
 */
export const legacyPersistentLoad: PersistentLoadHook = ({ pid, pickleIndex, offset }) => {
  if (pickleIndex !== LEGACY_OBJECT_PICKLE || pid.k !== 'tuple') return undefined;
  const tag = pid.items[0];
  if (tag?.k !== 'str') return undefined;
  const module = tupleItems(pid, 4);
  if (tag.v === 'module' && module && isSourceField(module[2]) && isSourceField(module[3])) return module[1];
  if (tag.v === 'storage') return { k: 'persid', pid, offset, loaded: 'storage' };
  return undefined;
};

/**
 * The tar format's persistent_load (its `pickle` member): a tuple `(cls, source_file,
 * source)` returns `cls`; anything else is a key of an already loaded storage or tensor.
 */
export const tarPersistentLoad: PersistentLoadHook = ({ pid, pickleIndex }) => {
  const container = tupleItems(pid, 3);
  if (pickleIndex !== 0 || !container || !isSourceField(container[1]) || !isSourceField(container[2])) return undefined;
  return container[0];
};

/** Bytes per element of each legacy storage class (torch._utils._element_size of its dtype). */
const ELEMENT_SIZES: Record<string, number> = {
  DoubleStorage: 8, FloatStorage: 4, HalfStorage: 2, BFloat16Storage: 2, LongStorage: 8, IntStorage: 4,
  ShortStorage: 2, CharStorage: 1, ByteStorage: 1, BoolStorage: 1, ComplexDoubleStorage: 16, ComplexFloatStorage: 8,
  QUInt8Storage: 1, QInt8Storage: 1, QInt32Storage: 4, QUInt4x2Storage: 1, QUInt2x4Storage: 1,
};

function resultOf(analysis: PickleStreamAnalysis): Value | undefined {
  const effects = analysis.effects ?? [];
  for (let i = effects.length - 1; i >= 0; i--) {
    const e = effects[i];
    if (e?.k === 'result') return e.value;
  }
  return undefined;
}

function asCount(v: Value | undefined): number | undefined {
  if (v?.k !== 'int') return undefined;
  const n = Number(v.v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function failed(analysis: PickleStreamAnalysis): boolean {
  return analysis.pickles.length !== 1 || !analysis.pickles[0]?.complete;
}

/** Little-endian signed 64-bit integer as a safe number (undefined otherwise). */
function i64(source: ByteSource, at: number): number | undefined {
  const b = source.read(at, 8);
  if (b.length < 8) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true);
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

type Walk = { ok: true } | { ok: false; why: string; offset: number };

/** One pickle at `at` (scanned), returning its result value and where it ended. */
function onePickle(ctx: ScanContext, place: Place, source: ByteSource, at: number): { value: Value | undefined; end: number } | undefined {
  const analysis = scanPickle(ctx, place, 'torch-tar', source, { start: at, pickleCount: 1, recordEffects: true });
  if (failed(analysis)) return undefined;
  return { value: resultOf(analysis), end: analysis.end };
}

/** `storages`: count, then per storage a (key, location, StorageClass) pickle and raw `int64 numel` + data; then the views pickle. */
function walkStorages(ctx: ScanContext, place: Place, source: ByteSource): Walk {
  const head = onePickle(ctx, place, source, 0);
  const count = asCount(head?.value);
  if (!head || count === undefined) return { ok: false, why: 'the storage count pickle did not yield a count', offset: 0 };
  let at = head.end;
  for (let i = 0; i < count; i++) {
    const rec = onePickle(ctx, place, source, at);
    if (!rec) return { ok: false, why: `storage record ${i} is not a readable pickle`, offset: at };
    const cls = rec.value?.k === 'tuple' ? rec.value.items[2] : undefined;
    const imports = ctx.streams[ctx.streams.length - 1]?.analysis.imports ?? [];
    const imp = cls?.k === 'global' ? imports[cls.imp] : undefined;
    const size = imp && imp.module === 'torch' ? ELEMENT_SIZES[imp.name] : undefined;
    if (size === undefined) return { ok: false, why: `storage record ${i} does not name a known torch storage class`, offset: at };
    const numel = i64(source, rec.end);
    if (numel === undefined || rec.end + 8 + numel * size > source.size) return { ok: false, why: `storage ${i} data runs past the member`, offset: rec.end };
    at = rec.end + 8 + numel * size;
  }
  return onePickle(ctx, place, source, at) ? { ok: true } : { ok: false, why: 'the storage views pickle is not readable', offset: at };
}

/** `tensors`: count, then per tensor key and storage-id pickles and a raw (ndim, pad, sizes, strides, offset) record. */
function walkTensors(ctx: ScanContext, place: Place, source: ByteSource): Walk {
  const head = onePickle(ctx, place, source, 0);
  const count = asCount(head?.value);
  if (!head || count === undefined) return { ok: false, why: 'the tensor count pickle did not yield a count', offset: 0 };
  let at = head.end;
  for (let i = 0; i < count; i++) {
    const key = onePickle(ctx, place, source, at);
    const id = key && onePickle(ctx, place, source, key.end);
    if (!id) return { ok: false, why: `tensor record ${i} is not readable`, offset: at };
    const b = source.read(id.end, 4);
    if (b.length < 4) return { ok: false, why: `tensor record ${i} truncated`, offset: id.end };
    const ndim = new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);
    if (ndim < 0 || ndim > 64) return { ok: false, why: `tensor record ${i} has ${ndim} dimensions`, offset: id.end };
    at = id.end + 8 + 16 * ndim + 8;
    if (at > source.size) return { ok: false, why: `tensor record ${i} truncated`, offset: id.end };
  }
  return { ok: true };
}

/** Scans a torch tar's members the way `legacy_load` reads them. */
export function analyzeTorchTarMember(ctx: ScanContext, place: Place, source: ByteSource, member: TarMember): void {
  const bytes = memberSource(source, member);
  let walk: Walk = { ok: true };
  if (member.name === 'storages') walk = walkStorages(ctx, place, bytes);
  else if (member.name === 'tensors') walk = walkTensors(ctx, place, bytes);
  else if (member.name === 'pickle') scanPickle(ctx, place, 'torch-tar', bytes, { persistentLoad: tarPersistentLoad });
  else scanPickle(ctx, place, 'torch-tar', bytes);
  if (!walk.ok) {
    report(ctx, place, { code: 'container-malformed', message: `torch tar member "${member.name}": ${walk.why}; its remaining records cannot be located`, offset: walk.offset });
  }
}
