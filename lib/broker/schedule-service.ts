/**
 * Delivers delayed copies when their delay level's time has passed (RocketMQ's ScheduleMessageService).
 * The schedule topic has one queue per delay level, so within a queue messages fall due in the
 * order they were stored: the leader only ever looks at the head of each queue. A due message is
 * sent to its real topic and queue (committed through the log), then the level's progress is
 * committed as the offset of the pseudo consumer group `SCHEDULE_CONSUMER`. A failover between the
 * two may deliver a copy twice, never lose one. Runs on the leader only; wakes when a message
 * reaches the schedule topic or the earliest head falls due.
 */
import type { Logger } from '../common/logger.js';
import { WakeableLoop } from '../common/wakeable-loop.js';
import { SystemProperty } from './system-properties.js';
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import type { MessageReader } from './message-reader.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { PopState } from './pop-state.js';
import { storeTimeOfMessageAt } from './queue-time-search.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { SendService } from './send-service.js';

export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
/** The pseudo group whose committed offsets are the schedule's progress per level. */
export const SCHEDULE_GROUP = 'SCHEDULE_CONSUMER';


export interface ScheduleServiceDeps {
  log: ReplicatedLog;
  commitLog: CommitLog;
  consumeQueues: ConsumeQueueStore;
  popState: PopState;
  pipeline: CommitPipeline;
  sender: SendService;
  reader: MessageReader;
  delayLevels: readonly number[];
  logger: Logger;
  clock?: () => number;
}

/** Messages moved per level per round. */
const BATCH = 64;
const ERROR_PAUSE_MS = 1_000;

export class ScheduleService {
  private readonly loop: WakeableLoop;
  private readonly clock: () => number;

  constructor(private readonly deps: ScheduleServiceDeps) {
    this.clock = deps.clock ?? Date.now;
    this.loop = new WakeableLoop(() => this.round(), (error) => deps.logger.warn({ err: error }, 'schedule round failed; retrying'), ERROR_PAUSE_MS);
  }

  /** Looks for due messages now (a message reached the schedule topic, or leadership changed). */
  wake(): void {
    this.loop.wake();
  }

  stop(): void {
    this.loop.stop();
  }

  /** Moves every due head; returns ms until the earliest remaining head falls due, or null. */
  private async round(): Promise<number | null> {
    if (!this.deps.log.isLeader()) return null;
    let earliest: number | null = null;
    for (let level = 1; level <= this.deps.delayLevels.length; level++) {
      const waitMs = await this.moveDue(level);
      if (waitMs !== null && (earliest === null || waitMs < earliest)) earliest = waitMs;
    }
    return earliest;
  }

  /** Moves the due heads of one level's queue; returns ms until its next head is due, or null when empty. */
  private async moveDue(level: number): Promise<number | null> {
    const { consumeQueues, popState, commitLog, delayLevels } = this.deps;
    const queueId = level - 1;
    const queue = consumeQueues.queue(SCHEDULE_TOPIC, queueId);
    const progress = popState.peek(SCHEDULE_GROUP, SCHEDULE_TOPIC, queueId);
    let offset = Math.max(progress?.ackOffset ?? 0, queue.minOffset);
    const startOffset = offset;
    let wait: number | null = null;
    const units = offset < queue.maxOffset ? await queue.read(offset, BATCH) : [];
    for (const unit of units) {
      const storedAtMs = await storeTimeOfMessageAt(commitLog, unit.position);
      const dueAtMs = storedAtMs + delayLevels[queueId];
      const now = this.clock();
      if (dueAtMs > now) {
        wait = dueAtMs - now;
        break;
      }
      const message = await this.deps.reader.read(SCHEDULE_TOPIC, queueId, unit.offset, unit.position, unit.size);
      const properties = { ...message.properties };
      const realTopic = properties[SystemProperty.REAL_TOPIC];
      const realQueueId = Number(properties[SystemProperty.REAL_QUEUE_ID] ?? -1);
      delete properties[SystemProperty.REAL_TOPIC];
      delete properties[SystemProperty.REAL_QUEUE_ID];
      delete properties[SystemProperty.DELAY_LEVEL];
      if (realTopic) {
        await this.deps.sender.send(realTopic, Number.isInteger(realQueueId) ? realQueueId : -1, [{ ...message, topic: realTopic, properties }]);
      } else {
        this.deps.logger.error({ queueId, offset: unit.offset }, 'scheduled message without REAL_TOPIC; skipped');
      }
      offset = unit.offset + 1;
    }
    if (offset > startOffset) {
      await this.deps.pipeline.submitMeta([
        { kind: 'offset.commit', group: SCHEDULE_GROUP, topic: SCHEDULE_TOPIC, queueId, offset, resetVersion: progress?.resetVersion ?? 0 },
      ]);
    }
    if (wait !== null) return wait;
    return offset < queue.maxOffset ? 0 : null;
  }
}
