/**
 * The fs wrappers. Which public functions a read goes through (measured, see
 * /work/shared/notes/node-hooks.md): readFile, readFileSync, promises.readFile, open,
 * openSync, promises.open, createReadStream (plus its `{ fs }` option) and openAsBlob.
 * Errors reach the caller in each API's own style: sync throws, callbacks get `cb(err)`,
 * promises reject, streams emit 'error' (the stream's own open callback gets our error).
 */
import fs, { closeSync, type PathLike } from 'node:fs';
import { UsageError } from '../errors.js';
import { checkFd, checkPath, checkReturnedBytes, readWithIdentity, statIdentity, type FdAccess, type ReadVersions } from './check.js';
import { pathArg, isReadOpen } from './paths.js';
import { replaceProperty, type AnyFunction } from './patch.js';
import { activeConfig, asGuard, guardState, type GuardConfig } from './state.js';
import { mayStartModel } from './sniff.js';
import { isArtifactByName, looksLikeModelBytes } from './which-files.js';

/** The shared state, read directly by the hot wrappers (readFileSync, readFile). */
const state = guardState();

type Encoding = BufferEncoding | null | 'invalid';

/** The encoding asked for; null for Buffer results; 'invalid' lets the real API raise its own error. */
function encodingOf(options: unknown): Encoding {
  const enc =
    typeof options === 'string'
      ? options
      : options && typeof options === 'object'
        ? (options as { encoding?: unknown }).encoding
        : undefined;
  if (enc === undefined || enc === null || enc === 'buffer') return null;
  return typeof enc === 'string' && Buffer.isEncoding(enc) ? enc : 'invalid';
}

/** The same options asking for a Buffer: we scan bytes, then decode them exactly as asked. */
function bytesOptions(options: unknown): object | undefined {
  return options && typeof options === 'object' ? { ...options, encoding: null } : undefined;
}

function decode(bytes: Buffer, encoding: Encoding): Buffer | string {
  return encoding && encoding !== 'invalid' ? bytes.toString(encoding) : bytes;
}

/** Encodings in which an ASCII first byte decodes to the same first char. */
const ASCII_EXACT = new Set(['utf8', 'utf-8', 'latin1', 'binary', 'ascii']);

/**
 * The fast path for text reads of files whose name is not an artifact: read as asked, and
 * if the first char is an ASCII byte that cannot open a model, that is the sniff's answer
 * (no Buffer round trip). Otherwise the caller falls back to reading bytes afresh and
 * returns what it decodes from the bytes it checked.
 */
function textNeedsBytes(text: unknown): boolean {
  if (typeof text !== 'string' || text.length === 0) return false;
  const c = text.charCodeAt(0);
  return c >= 0x80 || mayStartModel(c);
}

function asciiExact(encoding: BufferEncoding): boolean {
  return encoding === 'utf8' || ASCII_EXACT.has(encoding.toLowerCase());
}

function fastText(config: GuardConfig, abs: string, encoding: Encoding): boolean {
  if (encoding === null || encoding === 'invalid') return false;
  return asciiExact(encoding) && !isArtifactByName(config.policy, abs);
}

/** Shared prelude of the async readFile wrappers: is the name an artifact, and its identity before reading. */
function beforeRead(config: GuardConfig, abs: string): { named: boolean; versions?: ReadVersions } {
  return asGuard(() => {
    if (!isArtifactByName(config.policy, abs)) return { named: false };
    const before = statIdentity(abs);
    return before ? { named: true, versions: { before } } : { named: true };
  });
}

function flagOf(options: unknown): string {
  const flag = options && typeof options === 'object' ? (options as { flag?: unknown }).flag : undefined;
  return typeof flag === 'string' ? flag : 'r';
}

/** Calls the real readFileSync with the hooks passing through (its Buffer path calls our openSync). */
function readThrough(original: AnyFunction, self: unknown, path: unknown, options: unknown): unknown {
  state.busy++;
  try {
    return original.call(self, path, options);
  } finally {
    state.busy--;
  }
}

function wrapReadFileSync(original: AnyFunction): AnyFunction {
  // The hot path of every app (require() reads through here): no closures, no `arguments`
  // (readFileSync reads two parameters, passed as is), one name decision per call.
  return function readFileSync(this: unknown, path: unknown, options?: unknown) {
    const config = state.busy > 0 ? undefined : state.config;
    const abs = config ? pathArg(path) : undefined;
    if (!config || abs === undefined) return original.call(this, path, options);
    const encoding = encodingOf(options);
    if (encoding === 'invalid') return original.call(this, path, options);
    if (isArtifactByName(config.policy, abs)) {
      // A model by name: read it through one descriptor so the cached verdict costs one fstat.
      const { bytes, versions } = readWithIdentity(path as PathLike, flagOf(options));
      checkReturnedBytes(config, 'fs.readFileSync', abs, bytes, true, versions);
      return decode(bytes, encoding);
    }
    if (encoding === null) {
      // Not a model by name, read as bytes: only a first byte that can open a model is looked at further.
      const bytes = readThrough(original, this, path, options) as Buffer;
      if (looksLikeModelBytes(bytes)) checkReturnedBytes(config, 'fs.readFileSync', abs, bytes, false);
      return bytes;
    }
    if (asciiExact(encoding)) {
      const text = readThrough(original, this, path, options);
      if (!textNeedsBytes(text)) return text;
    }
    const bytes = readThrough(original, this, path, bytesOptions(options)) as Buffer;
    checkReturnedBytes(config, 'fs.readFileSync', abs, bytes, false);
    return decode(bytes, encoding);
  };
}

/** The callback for a Buffer read of a non-artifact name: only a first byte that can open a model is looked at further. */
function bytesDone(config: GuardConfig, abs: string, callback: AnyFunction) {
  return (err: unknown, bytes: Buffer) => {
    if (err) return callback(err);
    if (looksLikeModelBytes(bytes)) {
      try {
        checkReturnedBytes(config, 'fs.readFile', abs, bytes, false);
      } catch (error) {
        return callback(error);
      }
    }
    callback(null, bytes);
  };
}

function wrapReadFile(original: AnyFunction): AnyFunction {
  // Node's readFile reads (path, options, callback) and takes `options` as the callback when
  // the third is missing; the parameters are passed on as they came (no rest array).
  return function readFile(this: unknown, path: unknown, options?: unknown, callback?: unknown) {
    const config = state.busy > 0 ? undefined : state.config;
    const cb = typeof callback === 'function' ? callback : !callback && typeof options === 'function' ? options : undefined;
    const abs = config && cb ? pathArg(path) : undefined;
    if (!config || abs === undefined || cb === undefined) return original.call(this, path, options, callback);
    const opts = cb === options ? undefined : options;
    const encoding = encodingOf(opts);
    if (encoding === 'invalid') return original.call(this, path, options, callback);
    const done = cb as AnyFunction;
    if (encoding === null && !isArtifactByName(config.policy, abs)) {
      return original.call(this, path, opts, bytesDone(config, abs, done));
    }
    if (fastText(config, abs, encoding)) {
      return original.call(this, path, opts, (err: unknown, text: string) => {
        if (err) return done(err);
        if (!textNeedsBytes(text)) return done(null, text);
        readFileBytes.call(this, original, config, abs, path, opts, encoding, done);
      });
    }
    return readFileBytes.call(this, original, config, abs, path, opts, encoding, done);
  };
}

function readFileBytes(
  this: unknown,
  original: AnyFunction,
  config: GuardConfig,
  abs: string,
  path: unknown,
  options: unknown,
  encoding: Encoding,
  callback: AnyFunction,
) {
  const before = beforeRead(config, abs);
  return original.call(this, path, bytesOptions(options) ?? {}, (err: unknown, bytes: Buffer) => {
    if (err) return callback(err);
    let out: Buffer | string;
    try {
      checkReturnedBytes(config, 'fs.readFile', abs, bytes, before.named, before.versions);
      out = decode(bytes, encoding);
    } catch (error) {
      return callback(error);
    }
    callback(null, out);
  });
}

function wrapPromisesReadFile(original: AnyFunction): AnyFunction {
  return async function readFile(this: unknown, path: unknown, options?: unknown) {
    const config = activeConfig();
    const abs = config ? pathArg(path) : undefined; // a FileHandle was checked when opened
    const encoding = encodingOf(options);
    // eslint-disable-next-line prefer-rest-params
    if (!config || abs === undefined || encoding === 'invalid') return original.apply(this, arguments as never);
    if (fastText(config, abs, encoding)) {
      const text = (await original.call(this, path, options)) as string;
      if (!textNeedsBytes(text)) return text;
    }
    const before = beforeRead(config, abs);
    const bytes = (await original.call(this, path, bytesOptions(options))) as Buffer;
    checkReturnedBytes(config, 'fs.promises.readFile', abs, bytes, before.named, before.versions);
    return decode(bytes, encoding);
  };
}

function wrapOpenSync(original: AnyFunction): AnyFunction {
  // Node's own Buffer readFileSync comes through here (with the hooks passing through):
  // openSync reads three parameters, passed as is, so no `arguments` object is made.
  return function openSync(this: unknown, path: unknown, flags?: unknown, mode?: unknown) {
    const config = activeConfig();
    if (!config) return original.call(this, path, flags, mode);
    const abs = pathArg(path);
    const fd = original.call(this, path, flags, mode) as number;
    if (abs === undefined || !isReadOpen(flags)) return fd;
    try {
      checkFd(config, 'fs.openSync', abs, fd);
    } catch (error) {
      asGuard(() => closeSync(fd));
      throw error;
    }
    return fd;
  };
}

const closeReal = (fd: number) => asGuard(() => closeSync(fd));

function guardedOpenCallback(
  config: GuardConfig,
  operation: string,
  abs: string,
  callback: AnyFunction,
  access?: FdAccess,
  close: (fd: number) => void = closeReal,
) {
  return (err: unknown, fd: number) => {
    if (err) return callback(err);
    try {
      checkFd(config, operation, abs, fd, access);
    } catch (error) {
      close(fd);
      return callback(error);
    }
    callback(null, fd);
  };
}

function wrapOpen(original: AnyFunction): AnyFunction {
  return function open(this: unknown, path: unknown, ...rest: unknown[]) {
    const callback = rest[rest.length - 1];
    const flags = typeof rest[0] === 'function' ? undefined : rest[0];
    const config = activeConfig();
    const abs = config ? pathArg(path) : undefined;
    if (!config || abs === undefined || typeof callback !== 'function' || !isReadOpen(flags)) {
      return original.call(this, path, ...rest);
    }
    const args = [...rest.slice(0, -1), guardedOpenCallback(config, 'fs.open', abs, callback as AnyFunction)];
    return original.call(this, path, ...args);
  };
}

function wrapPromisesOpen(original: AnyFunction): AnyFunction {
  return async function open(this: unknown, path: unknown, flags?: unknown) {
    const config = activeConfig();
    const abs = config ? pathArg(path) : undefined;
    // eslint-disable-next-line prefer-rest-params
    const handle = (await original.apply(this, arguments as never)) as fs.promises.FileHandle;
    if (!config || abs === undefined || !isReadOpen(flags)) return handle;
    try {
      checkFd(config, 'fs.promises.open', abs, handle.fd);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  };
}

type CustomFs = { open: AnyFunction; close?: AnyFunction; fstatSync?: unknown; readSync?: unknown };

/** An fs given to createReadStream: its descriptors may be virtual, so we read them through it. */
function customAccess(custom: CustomFs): FdAccess | undefined {
  if (typeof custom.fstatSync !== 'function' || typeof custom.readSync !== 'function') return undefined;
  const fstatSync = custom.fstatSync as AnyFunction;
  const readSync = custom.readSync as AnyFunction;
  return {
    fstatSync: (fd, o) => fstatSync.call(custom, fd, o),
    readSync: (fd, b, off, len, pos) => readSync.call(custom, fd, b, off, len, pos),
  };
}

function guardCustomFs(config: GuardConfig, abs: string, custom: CustomFs): object {
  const access = customAccess(custom);
  const open = function open(this: unknown, path: unknown, flags: unknown, mode: unknown, callback: AnyFunction) {
    if (!isReadOpen(flags)) return custom.open.call(this, path, flags, mode, callback);
    if (!access) {
      // Its descriptors may be virtual: without fstatSync/readSync we cannot read them, so an
      // artifact name is refused and anything else passes unsniffed (docs/guard.md).
      if (!isArtifactByName(config.policy, abs)) return custom.open.call(this, path, flags, mode, callback);
      const error = new UsageError(
        `pickle-guard cannot verify ${abs}: the { fs } given to createReadStream has no fstatSync/readSync to scan through`,
      );
      return process.nextTick(callback, error);
    }
    // A refused descriptor is closed through the same fs that opened it.
    const close = (fd: number) => {
      if (typeof custom.close === 'function') custom.close.call(custom, fd, () => {});
    };
    return custom.open.call(this, path, flags, mode, guardedOpenCallback(config, 'fs.createReadStream', abs, callback, access, close));
  };
  // Keep the custom fs's other methods (own or inherited) by inheriting from it.
  return Object.create(custom, { open: { value: open, enumerable: true } });
}

function wrapCreateReadStream(original: AnyFunction): AnyFunction {
  return function createReadStream(this: unknown, path: unknown, options?: unknown) {
    const config = activeConfig();
    const abs = config ? pathArg(path) : undefined;
    const opts = options && typeof options === 'object' ? (options as { fs?: CustomFs; fd?: unknown }) : undefined;
    // Without a custom fs the stream opens through the public fs.open, which is wrapped.
    if (!config || abs === undefined || !opts?.fs || typeof opts.fs.open !== 'function' || opts.fd != null) {
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as never);
    }
    return original.call(this, path, { ...opts, fs: guardCustomFs(config, abs, opts.fs) });
  };
}

function wrapOpenAsBlob(original: AnyFunction): AnyFunction {
  return function openAsBlob(this: unknown, path: unknown) {
    const config = activeConfig();
    const abs = config ? pathArg(path) : undefined;
    if (config && abs !== undefined) {
      try {
        checkPath(config, 'fs.openAsBlob', abs);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    // eslint-disable-next-line prefer-rest-params
    return original.apply(this, arguments as never);
  };
}

/** Wraps the fs read paths; returns the undo steps. */
export function patchFs(): Array<() => void> {
  const promises = fs.promises; // a getter without setter: patch the object in place
  return [
    replaceProperty(fs, 'readFileSync', wrapReadFileSync),
    replaceProperty(fs, 'readFile', wrapReadFile),
    replaceProperty(fs, 'openSync', wrapOpenSync),
    replaceProperty(fs, 'open', wrapOpen),
    replaceProperty(fs, 'createReadStream', wrapCreateReadStream),
    replaceProperty(fs, 'openAsBlob', wrapOpenAsBlob),
    replaceProperty(promises, 'readFile', wrapPromisesReadFile),
    replaceProperty(promises, 'open', wrapPromisesOpen),
  ];
}
