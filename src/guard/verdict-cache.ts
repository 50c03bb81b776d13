/**
 * Verdicts remembered by file identity, so a model read a hundred times is scanned once.
 * An entry is reused only while (dev, ino, size, mtime, ctime) are unchanged: a rename
 * swap changes ino, an in-place rewrite changes size/mtime, and ctime (which no user call
 * can set back) catches a rewrite that restores mtime with utimes().
 */
import type { ScanReport } from '../scan/report.js';

export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

interface Entry {
  identity: FileIdentity;
  path: string;
  report: ScanReport;
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

export class VerdictCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity = 1024) {}

  /** The remembered report for this exact file version read under this path (path-scoped rules differ per path). */
  get(identity: FileIdentity, path: string): ScanReport | undefined {
    const entry = this.entries.get(`${identity.dev}:${identity.ino}`);
    if (!entry || entry.path !== path || !sameIdentity(entry.identity, identity)) return undefined;
    return entry.report;
  }

  set(identity: FileIdentity, path: string, report: ScanReport): void {
    const key = `${identity.dev}:${identity.ino}`;
    this.entries.delete(key);
    this.entries.set(key, { identity, path, report });
    // Oldest first in a Map: drop from the front when full.
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
