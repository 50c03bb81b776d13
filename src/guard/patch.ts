/**
 * Reversible, hygienic replacement of functions on builtin module objects.
 * A wrapper keeps the original's name, length and own properties (notably the
 * `util.promisify.custom` and `customPromisifyArgs` symbols, so promisify keeps its shape),
 * and uninstall puts back the exact original property descriptor.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (this: any, ...args: any[]) => any;

const SKIP = new Set<PropertyKey>(['name', 'length', 'prototype', 'arguments', 'caller']);

export function hygienic<F extends AnyFunction>(original: F, wrapper: F): F {
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
  for (const key of Reflect.ownKeys(original)) {
    if (SKIP.has(key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(original, key);
    if (descriptor) Object.defineProperty(wrapper, key, descriptor);
  }
  return wrapper;
}

/**
 * The wrapper a maker made for this original before, if any. Reinstalling then puts back
 * the same function object, which keeps the code V8 optimised for it: a fresh closure
 * starts cold (this is what made alternating install/uninstall rounds look slower). The
 * wrappers keep no per-install state (they read the global state on every call), so
 * reusing one is the same as making it anew.
 */
const wrappersMade = new WeakMap<AnyFunction, WeakMap<AnyFunction, AnyFunction>>();

function wrapperFor(original: AnyFunction, makeWrapper: (original: AnyFunction) => AnyFunction): AnyFunction {
  let byOriginal = wrappersMade.get(makeWrapper);
  if (!byOriginal) wrappersMade.set(makeWrapper, (byOriginal = new WeakMap()));
  let wrapper = byOriginal.get(original);
  if (!wrapper) byOriginal.set(original, (wrapper = makeWrapper(original)));
  return wrapper;
}

/**
 * Replaces `target[key]` with `makeWrapper(original)` and returns the undo step.
 * `hygiene: false` is for class replacements that inherit their statics.
 */
export function replaceProperty<T extends object>(
  target: T,
  key: PropertyKey,
  makeWrapper: (original: AnyFunction) => AnyFunction,
  hygiene = true,
): () => void {
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (!descriptor || typeof descriptor.value !== 'function') {
    return () => {}; // not on this Node version: nothing to wrap
  }
  const original = descriptor.value as AnyFunction;
  const made = wrapperFor(original, makeWrapper);
  const wrapped = hygiene ? hygienic(original, made) : made;
  Object.defineProperty(target, key, { ...descriptor, value: wrapped });
  return () => {
    Object.defineProperty(target, key, descriptor);
  };
}
