/**
 * Startup check of the ConsumeQueues below the dispatch checkpoint, which recovery otherwise
 * trusts (they hold no checksum). A unit whose size is zero or larger than a batch, that reaches
 * past the end of the CommitLog, or that overlaps or precedes the unit before it cannot have come
 * from dispatch: a damaged file. Serving through it would stop its queue for good (the read fails
 * and refetching the intact CommitLog mends nothing), so the queues are rebuilt: the dispatch
 * checkpoint moves back to the start of the segment holding the last plausible unit before the
 * first damaged one (or of the log), every queue is cut there, and replay dispatches the committed
 * entries again (the path a replay from an older checkpoint always takes). The caller recovers the
 * CommitLog again from there: replay reads records that recovery had trusted.
 *
 * A flip that leaves a unit plausible (low bits of its position, its tag hash) is not caught here;
 * a read through it fails the message's checksum and the queue stops there (never served wrong).
 */
import type { Logger } from '../common/logger.js';
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueue } from '../store/consume-queue.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import type { LogCheckpoint, MetaStore } from '../store/meta-store.js';

/** Units read per step of the scan. */
const SCAN_UNITS = 8192;

/** The first implausible unit of `queue` below `checkedBelow`, with the position of the last good one before it. */
async function firstImplausibleUnit(queue: ConsumeQueue, checkedBelow: number, logEnd: number, maxMessageBytes: number): Promise<{ offset: number; reason: string; lastGoodPosition: number | null } | null> {
  let previous: { position: number; size: number } | null = null;
  for (let offset = queue.minOffset; offset < queue.maxOffset; offset += SCAN_UNITS) {
    const units = await queue.read(offset, SCAN_UNITS);
    if (units.length === 0) break;
    for (const unit of units) {
      if (previous !== null && previous.position >= checkedBelow) return null;
      let reason: string | null = null;
      if (!(unit.size > 0 && unit.size <= maxMessageBytes)) reason = `size ${unit.size}`;
      else if (unit.position + unit.size > logEnd) reason = `position ${unit.position} + size ${unit.size} past the log end ${logEnd}`;
      else if (previous !== null && unit.position < previous.position + previous.size) reason = `position ${unit.position} overlaps or precedes the previous unit at ${previous.position} (+${previous.size})`;
      if (reason !== null) return { offset: unit.offset, reason, lastGoodPosition: previous?.position ?? null };
      previous = { position: unit.position, size: unit.size };
    }
  }
  return null;
}

/**
 * The checkpoint just before the segment holding `position` (the log's first segment when null or
 * outside the log): a record boundary found without reading a record, so damage cannot stop it.
 */
function segmentStartHolding(commitLog: CommitLog, position: number | null): LogCheckpoint {
  let firstIndex = commitLog.firstIndex;
  if (position !== null) {
    try {
      firstIndex = commitLog.firstIndexOfSegmentAt(position);
    } catch {
      // below the first segment (retention deleted it): rebuild from the log's start
    }
  }
  const cursor = commitLog.cursorAt(firstIndex);
  return { index: cursor.index - 1, nextPosition: cursor.position };
}

/**
 * Checks every queue (see the file comment); when one is damaged, cuts every queue and moves the
 * dispatch checkpoint back so replay rebuilds them. Returns the new checkpoint, or null when every
 * queue is plausible. Call after `truncateAllFromPosition(dispatched)` and before the state
 * machine is built (it reads the checkpoint once).
 */
export async function rebuildDamagedConsumeQueues(consumeQueues: ConsumeQueueStore, commitLog: CommitLog, metaStore: MetaStore, maxMessageBytes: number, logger: Logger): Promise<LogCheckpoint | null> {
  const dispatched = metaStore.dispatched();
  if (commitLog.lastIndex < commitLog.firstIndex) return null;
  let rebuildFrom: LogCheckpoint | null = null;
  for (const queue of consumeQueues.queues()) {
    const damaged = await firstImplausibleUnit(queue, dispatched.nextPosition, commitLog.endPosition, maxMessageBytes);
    if (damaged === null) continue;
    logger.error({ topic: queue.topic, queueId: queue.queueId, offset: damaged.offset, reason: damaged.reason }, 'CONSUME QUEUE DAMAGED: a unit cannot have come from dispatch; rebuilding the queues from the CommitLog');
    const from = segmentStartHolding(commitLog, damaged.lastGoodPosition);
    if (rebuildFrom === null || from.nextPosition < rebuildFrom.nextPosition) rebuildFrom = from;
  }
  if (rebuildFrom === null) return null;
  const checkpoint = rebuildFrom;
  await consumeQueues.truncateAllFromPosition(checkpoint.nextPosition);
  await metaStore.writeCheckpoint(checkpoint);
  logger.warn({ from: checkpoint, was: dispatched }, 'consume queues cut for a rebuild; replay dispatches again from the checkpoint');
  return checkpoint;
}
