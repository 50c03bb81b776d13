/**
 * What the container layer reports: every pickle a real loader could unpickle, each
 * with the member it lives in, plus container-level findings. No policy applied yet.
 */
import type { Finding } from '../findings.js';
import type { PickleStreamAnalysis } from '../pickle/types.js';

export type ContainerFormat =
  | 'pickle' // raw pickle stream (any protocol), possibly several back to back
  | 'torch-zip' // torch.save zip (data.pkl + data/<key>)
  | 'torchscript' // torch.jit.save zip (data.pkl, constants.pkl, code/ ...)
  | 'torch-legacy' // five pickles then raw storages
  | 'torch-tar' // oldest torch tar layout
  | 'npy'
  | 'npz'
  | 'zip' // any other zip
  | 'tar'
  | 'joblib' // joblib pickle with NumpyArrayWrapper data inline
  | 'compressed' // zlib/gzip/bz2/xz/lzma/lz4 wrapper; see `compression`
  | 'unknown'; // nothing a loader would unpickle was found

export type Compression = 'zlib' | 'gzip' | 'bz2' | 'xz' | 'lzma' | 'lz4';

/** One pickle stream that was scanned, and where it lives. */
export interface ScannedStream {
  /** Member path from the outermost container, joined with '/' for nesting ('' for the file itself). */
  member: string;
  /** Format of the innermost container holding this stream. */
  format: ContainerFormat;
  analysis: PickleStreamAnalysis;
}

export interface ContainerLimits {
  maxNestingDepth: number;
  maxMembers: number;
  maxDecompressedBytesPerMember: number;
  maxDecompressedBytesTotal: number;
}

export const DEFAULT_CONTAINER_LIMITS: ContainerLimits = {
  maxNestingDepth: 4,
  maxMembers: 100_000,
  maxDecompressedBytesPerMember: 4 * 1024 ** 3,
  maxDecompressedBytesTotal: 8 * 1024 ** 3,
};

export interface ContainerAnalysis {
  format: ContainerFormat;
  compression?: Compression;
  streams: ScannedStream[];
  /** Container-level findings, each with its `member` set. */
  findings: Finding[];
}
