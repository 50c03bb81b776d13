/**
 * The runtime guard's public surface.
 */
export { install, uninstall, isInstalled, installedPolicy, type InstallOptions } from './install.js';
export { assertSafeModel, type AssertOptions } from './assert-safe.js';
export { ViolationError, type OffendingGlobal } from './violation-error.js';
export { commandsOf, splitShell, isPythonProgram, type Command } from './launchers.js';
