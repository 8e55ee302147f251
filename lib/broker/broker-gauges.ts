/**
 * Figures the broker's gauges compute at scrape time from the stores (see broker-metrics.ts):
 * stored bytes, and each consumer group's lag and inflight per topic.
 */
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import { CONSUME_QUEUE_UNIT_SIZE_BYTES } from '../store/record-format.js';
import type { PopState } from './pop-state.js';

/** CommitLog bytes (its absolute end; nothing is deleted yet) and ConsumeQueue bytes of the live units. */
export function storageBytes(commitLog: CommitLog, consumeQueues: ConsumeQueueStore): { commitLog: number; consumeQueue: number } {
  let units = 0;
  for (const queue of consumeQueues.queues()) units += queue.maxOffset - queue.minOffset;
  return { commitLog: commitLog.endPosition, consumeQueue: units * CONSUME_QUEUE_UNIT_SIZE_BYTES };
}

/**
 * Per (consumer group, topic): lag, the messages past the group's acknowledged offset on each
 * queue, and inflight, the messages delivered by pops and not yet acknowledged. One walk over the
 * groups' queue states (bounded by the groups and queues that exist).
 */
export function consumerProgress(popState: PopState, consumeQueues: ConsumeQueueStore): Array<{ group: string; topic: string; lag: number; inflight: number }> {
  const rows = new Map<string, { group: string; topic: string; lag: number; inflight: number }>();
  for (const { group, topic, queueId, state } of popState.entries()) {
    const key = `${group}\u0000${topic}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { group, topic, lag: 0, inflight: 0 };
      rows.set(key, row);
    }
    const end = consumeQueues.existingQueue(topic, queueId)?.maxOffset ?? 0;
    row.lag += Math.max(0, end - state.ackOffset);
    row.inflight += state.inflight.size;
  }
  return [...rows.values()];
}
