/**
 * Finds a queue offset by store time (RocketMQ's getOffsetInQueueByTime), for resetting consumer
 * progress to a point in time. The store time of a message is the store timestamp of the
 * CommitLog record that holds it (set by the leader that appended the record), so the search
 * reads one record header per step: O(log n) reads per queue, nothing scanned.
 */
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueue } from '../store/consume-queue.js';

/**
 * The smallest offset in [minOffset, maxOffset) of `queue` whose message was stored at or after
 * `timestampMs`; `maxOffset` when every message is older. Store times follow log order (they may
 * step back by clock skew across a leader change; the search then lands within the skew).
 * Throws what the reads throw (e.g. CorruptRecordError).
 */
export async function offsetAtTime(queue: ConsumeQueue, commitLog: CommitLog, timestampMs: number): Promise<number> {
  let low = queue.minOffset;
  let high = queue.maxOffset;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if ((await storeTimeAt(queue, commitLog, middle)) >= timestampMs) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Store time of the message at `offset` of `queue` (+Infinity when the queue no longer holds it). */
export async function storeTimeAt(queue: ConsumeQueue, commitLog: CommitLog, offset: number): Promise<number> {
  const [unit] = await queue.read(offset, 1);
  if (unit === undefined) return Number.POSITIVE_INFINITY; // gone meanwhile (truncated): treat as newest
  return storeTimeOfMessageAt(commitLog, unit.position);
}

/** Store time of the message at CommitLog position `position`: its record's store timestamp. */
export async function storeTimeOfMessageAt(commitLog: CommitLog, position: number): Promise<number> {
  return (await commitLog.read(await commitLog.indexAtPosition(position))).storeTimestampMs;
}
