/**
 * What a node does at startup when its recovered CommitLog ends before entries it has already
 * applied: recovery cut a torn or corrupt tail that held committed entries (a damaged disk, or a
 * file truncated by hand), so the MetaStore and the ConsumeQueues describe entries the log no
 * longer has.
 *
 * Two cases, decided by the caller:
 * - A replica exists (Raft group): keep the checkpoints. The leader sends the same entries again,
 *   byte for byte at the same positions, and the state machine skips what it already applied.
 * - No replica can restore them (single node): the entries are gone. {@link rollBackCheckpoints}
 *   pulls both checkpoints back to the log end (new entries will take those indexes and must be
 *   applied), and after replay {@link clampConsumerProgress} pulls consumer offsets back to each
 *   queue's new end, so messages sent from now on are delivered instead of hiding below an offset
 *   the lost entries had reached.
 */
import type { Logger } from '../common/logger.js';
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import { emptyWriteBatch, inflightKey } from '../store/meta-store.js';
import type { LogCheckpoint, MetaStore, MetaWriteBatch } from '../store/meta-store.js';
import { popStateKey } from './pop-state.js';
import type { PopState } from './pop-state.js';

/** Committed entries the log lost, as found at startup. */
export interface LostEntries {
  /** First index the log no longer has. */
  fromIndex: number;
  /** Highest index a checkpoint had reached. */
  toIndex: number;
}

/** The log's end as a checkpoint. */
export function logEnd(commitLog: CommitLog): LogCheckpoint {
  return { index: commitLog.lastIndex, nextPosition: commitLog.endPosition };
}

/**
 * Compares the MetaStore checkpoints with the recovered log; `null` when the log covers both.
 * Logs the loss at error level.
 */
export function findLostEntries(commitLog: CommitLog, metaStore: MetaStore, logger: Logger): LostEntries | null {
  const end = logEnd(commitLog);
  const highest = Math.max(metaStore.applied().index, metaStore.dispatched().index);
  if (highest <= end.index) return null;
  const lost = { fromIndex: end.index + 1, toIndex: highest };
  logger.error(
    { ...lost, logLastIndex: end.index, logEndPosition: end.nextPosition, recovery: commitLog.recovery },
    `COMMITTED ENTRIES LOST: the CommitLog ends at index ${end.index} but entries up to ${highest} were applied`,
  );
  return lost;
}

/**
 * Single node only: moves the applied and dispatch checkpoints back to the log end (durably) so the
 * next entries, which reuse the lost indexes, are applied. ConsumeQueue units past the log end are
 * removed by the caller's usual truncation to the (now lower) dispatch checkpoint.
 */
export async function rollBackCheckpoints(commitLog: CommitLog, metaStore: MetaStore): Promise<void> {
  const end = logEnd(commitLog);
  if (metaStore.dispatched().index > end.index) await metaStore.writeDispatched(end);
  if (metaStore.applied().index > end.index) {
    await metaStore.write(emptyWriteBatch(end));
  }
  await metaStore.flushed();
}

/**
 * Single node only, after replay: pulls each group's pop and ack offsets back to its queue's end and
 * drops inflight deliveries past it, durably. Returns how many queues changed.
 */
export async function clampConsumerProgress(popState: PopState, consumeQueues: ConsumeQueueStore, metaStore: MetaStore, logger: Logger): Promise<number> {
  const changed = popState.clampToQueueEnds((topic, queueId) => consumeQueues.existingQueue(topic, queueId)?.maxOffset ?? 0);
  if (changed.length === 0) return 0;
  const batch: MetaWriteBatch = emptyWriteBatch(metaStore.applied());
  for (const { group, topic, queueId, droppedOffsets } of changed) {
    const key = popStateKey(group, topic, queueId);
    const state = popState.queue(group, topic, queueId);
    batch.progress.push({ key, value: { ackOffset: state.ackOffset, popOffset: state.popOffset } });
    for (const offset of droppedOffsets) batch.inflightDelete.push(inflightKey(key, offset));
    logger.warn({ consumerGroup: group, topic, queueId, ackOffset: state.ackOffset, popOffset: state.popOffset }, 'consumer progress pulled back to the end of a queue that lost entries');
  }
  await metaStore.write(batch);
  await metaStore.flushed();
  return changed.length;
}

/**
 * Raft group only, at startup before replay: when recovery kept records that fail their checks
 * (valid records follow them, so the tail was not cut), the node cannot apply them. Like a repair
 * at run time it persists a catch-up marker at its last index (never lowering one), then cuts its
 * log just before the first damaged record. RaftNode.start reads the marker and boots in catch-up
 * mode until that index; the leader sends the cut entries again. Does nothing when recovery found
 * no such record.
 */
export async function cutRecordsDamagedAtRecovery(commitLog: CommitLog, metaStore: MetaStore, logger: Logger): Promise<void> {
  const damaged = commitLog.recovery.corruptRecords;
  if (damaged.length === 0) return;
  const fromIndex = Math.min(...damaged.map((record) => record.index));
  const untilIndex = Math.max(commitLog.lastIndex, metaStore.raftCatchUp()?.untilIndex ?? 0);
  logger.error({ damaged, fromIndex, untilIndex }, 'damaged records in the raft log at startup: cutting the log before the first and fetching the rest from the leader');
  // The marker first: a crash between the two restarts in catch-up mode.
  await metaStore.writeRaftCatchUp({ untilIndex });
  await commitLog.truncateAfter(Math.max(fromIndex - 1, commitLog.firstIndex - 1));
}

