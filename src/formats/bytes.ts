/**
 * A real copy of bytes returned by `ByteSource.read` (valid only until the next read).
 * Not `.slice()`: on a Node Buffer (what file sources return) `slice` is a view, not a copy.
 */
export function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
