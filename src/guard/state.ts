/**
 * The guard's process-wide state. It lives under a `Symbol.for` key on globalThis so two
 * copies of pickle-guard in one app share it: the second `install()` reconfigures the
 * hooks the first one placed instead of wrapping them again.
 */
import type { Policy } from '../policy/types.js';
import type { Limits } from '../scan/index.js';
import { VerdictCache } from './verdict-cache.js';

export interface GuardConfig {
  policy: Policy;
  limits?: Partial<Limits>;
  /** Absolute path of the built `register.js`, used to guard workers and Node children; absent when not available. */
  registerPath?: string;
  /** Guard worker threads and child processes too. */
  children: boolean;
}

export interface GuardState {
  /** Present while installed. Hooks read it on every call, so reconfiguring needs no re-wrap. */
  config: GuardConfig | undefined;
  /** Undo steps, run in reverse order by `uninstall()`. */
  restore: Array<() => void>;
  cache: VerdictCache;
  /**
   * > 0 while guard code itself is running (scanning opens files through the very fs
   * functions we wrap): the hooks then pass straight through. Scanning is synchronous, so a
   * counter is exact.
   */
  busy: number;
}

const KEY = Symbol.for('pickle-guard.guard');

/** This copy's handle on the shared state: the global object is made once and never replaced. */
let shared: GuardState | undefined;

export function guardState(): GuardState {
  if (shared) return shared; // every hooked call comes here: skip the keyed globalThis lookup
  const holder = globalThis as { [KEY]?: GuardState };
  holder[KEY] ??= { config: undefined, restore: [], cache: new VerdictCache(), busy: 0 };
  shared = holder[KEY];
  return shared;
}

/** The active config when a hook should act, or undefined when it must pass through. */
export function activeConfig(): GuardConfig | undefined {
  const state = guardState();
  return state.busy > 0 ? undefined : state.config;
}

/** Runs guard work with the hooks switched to pass-through. */
export function asGuard<T>(fn: () => T): T {
  const state = guardState();
  state.busy++;
  try {
    return fn();
  } finally {
    state.busy--;
  }
}
