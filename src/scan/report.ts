/**
 * The scan report: plain, JSON-serialisable data. Its JSON shape is versioned
 * (`REPORT_VERSION`) because the CLI prints it and CI pipelines parse it.
 */
import type { Finding } from '../findings.js';
import type { CallOpcode, ImportOpcode, ImportRecord } from '../pickle/types.js';
import type { Compression, ContainerFormat } from '../formats/types.js';
import type { PolicyMode } from '../policy/types.js';

export const REPORT_VERSION = 1;

export type Verdict = 'allowed' | 'blocked';

export interface ReportGlobal {
  module: string;
  name: string;
  /** As written in the pickle, when it differs (Python-2 names). */
  written?: { module: string; name: string };
  origin: ImportRecord['origin'];
  member: string;
  offset: number;
  opcode: ImportOpcode | CallOpcode;
  /** How it is used: `call` (with the calling opcode), `value`, `constrained-getattr`. */
  uses: string[];
  allowed: boolean;
  /** The entry that allowed it, or the finding code that blocked it. */
  decision: string;
}

export interface ReportPickle {
  member: string;
  index: number;
  start: number;
  end: number;
  protocol: number;
  complete: boolean;
}

export interface ScanReport {
  version: typeof REPORT_VERSION;
  path?: string;
  format: ContainerFormat;
  compression?: Compression;
  verdict: Verdict;
  /** Violations first, then informational findings. */
  findings: Finding[];
  globals: ReportGlobal[];
  pickles: ReportPickle[];
  policy: { source: string; mode: PolicyMode };
}
