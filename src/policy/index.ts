/**
 * The policy layer: YAML allow-lists, presets, discovery, and the forms the CLI and the
 * Python bootstrap need.
 */
export { loadPolicyFile, presetPolicy, resolvePolicy, discoverPolicyFile, POLICY_FILE_NAMES, type ResolveOptions } from './discover.js';
export { checkPolicy } from './check.js';
export { compilePolicyForPython, PYTHON_POLICY_VERSION, type PythonPolicy } from './python.js';
export { presetNames, PRESET_DIR, DEFAULT_ARTIFACTS } from './resolve.js';
export { POLICY_VERSION } from './parse.js';
export { isLoadedPolicy, type LoadedPolicy } from './policy.js';
export { policyFromList, exactAllowList } from './exact-list.js';
export { MAIN_NAMESPACES } from './entries.js';
export type { Policy, AllowList, ImportDecision, PolicyMode } from './types.js';
