/**
 * `node --require pickle-guard/register app.js` (preferred: --require preloads run before
 * every --import), `node --import pickle-guard/register app.js`, or
 * `NODE_OPTIONS="--require pickle-guard/register"`.
 * Reads PICKLE_GUARD_POLICY / PICKLE_GUARD_MODE and the discovered project policy.
 * No top-level await: this module must load through require(esm).
 */
import { install } from './install.js';

install();
