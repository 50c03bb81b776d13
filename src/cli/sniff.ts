/** Does a file found in a directory walk look like a model? Its first bytes decide (formats' own sniff). */
import { closeSync, openSync, readSync } from 'node:fs';
import { looksLikeModel, SNIFF_BYTES } from '../formats/sniff.js';

export function fileLooksLikeModel(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(SNIFF_BYTES);
    const n = readSync(fd, head, 0, SNIFF_BYTES, 0);
    return looksLikeModel(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
