/**
 * LMDB (through ordered-binary) stores our NUL-joined string keys byte for byte, but reads a long
 * one back as an array of its NUL-separated parts (seen from about 64 characters): a key of a
 * 127-character topic, or any long enough group and topic, comes back as `['group', 'topic', '3']`.
 * Every range read that uses the key itself goes through {@link keyText}.
 */

/** The key as the string it was written as (array parts joined with NUL again). */
export function keyText(key: unknown): string {
  return Array.isArray(key) ? key.map((part) => String(part)).join('\u0000') : String(key);
}
