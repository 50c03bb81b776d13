/**
 * The machine's own bounds, per stream (the caller's bounds are `PickleLimits`). Each
 * keeps what one hostile stream can make us hold or report finite.
 */

/** Strings longer than this are validated but not kept (a value of kind `unknown`). */
export const MAX_KEPT_STRING = 1 << 20;
/** Call uses recorded per import (later calls are not listed: the first already says "called"). */
export const MAX_CALL_USES = 1000;
/** Findings of one code kept per stream. */
export const MAX_FINDINGS_PER_CODE = 100;
/**
 * Items kept over all symbolic containers of a stream. Past it, items are only counted
 * (`omitted`): a pickle of many full lists cannot make us hold more than this.
 */
export const MAX_KEPT_ITEMS = 16_000_000;
/** Nested pickles (afterBuild `nestedPickleAt`) inside nested pickles. */
export const MAX_NESTED_PICKLES = 32;
/** Memo keys below this live in an array (the dense keys pickles use); others in a Map. */
export const MEMO_ARRAY_KEYS = 1 << 20;
/**
 * Persistent id records kept per stream (`persistentIds`); later ones are still loaded
 * and checked, only not listed. A BINPERSID costs 2 bytes of pickle and a record ~100.
 */
export const MAX_PERSISTENT_ID_RECORDS = 100_000;
