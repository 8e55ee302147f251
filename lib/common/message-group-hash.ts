/**
 * Where a FIFO message group goes: one slot (a queue, or a broker group) out of `count`, the same
 * for every message of the group as long as `count` does not change. Producers, the v2 Proxy and
 * the broker all use this one function, so a group lands in one queue whoever picks it.
 */
export function messageGroupSlot(messageGroup: string, count: number): number {
  // 32-bit FNV-1a over UTF-16 code units: cheap, stable across processes and versions.
  let hash = 0x811c9dc5;
  for (let i = 0; i < messageGroup.length; i++) {
    hash ^= messageGroup.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}
