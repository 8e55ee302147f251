/**
 * Delivers delayed messages when they fall due (RocketMQ 5's timer wheel, on the timer index of
 * lib/store/timer-index.ts). Runs on the leader only. It reads the index's head: the rows due now
 * (a bounded batch at a time) and, when none is, the time of the next one, and sleeps until then
 * or until a new delayed message arrives. Waiting messages cost no CPU.
 *
 * A due message is sent to its real topic (queue REAL_QID, or the broker's choice) as a copy that
 * names its timer row in TIMER_ROW; the dispatch of that copy removes the row on every node, in the
 * same log order. So a failover or restart delivers each delayed message once: a copy that
 * committed has removed its row (a new leader first applies every earlier entry, behind an empty
 * entry of its own term), a copy that did not leaves the row for the next leader. A message
 * is never delivered before its time (on the leader's clock). A row whose real topic is gone or
 * refuses writes is cancelled through the log (META timer.cancel).
 */
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { WakeableLoop } from '../common/wakeable-loop.js';
import type { StoredMessage } from '../store/message-codec.js';
import { TIMER_ROW_PROPERTY, TIMER_TOPIC } from '../store/timer-index.js';
import type { TimerIndex, TimerRow } from '../store/timer-index.js';
import type { BrokerConfig } from './broker-config.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { MessageReader } from './message-reader.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { RecallHandle } from './recall-handle.js';
import { ScheduleProperty } from './schedule-service.js';
import type { SendService } from './send-service.js';

export interface TimerServiceDeps {
  config: Pick<BrokerConfig, 'group' | 'maxBatchMessages' | 'maxBatchBytes'>;
  log: ReplicatedLog;
  index: TimerIndex;
  reader: MessageReader;
  sender: SendService;
  pipeline: CommitPipeline;
  logger: Logger;
  clock?: () => number;
}

/** Rows read per round. */
const ROUND_ROWS = 512;
const ERROR_PAUSE_MS = 1_000;
/** Errors that will not pass by retrying: the row is cancelled. */
const PERMANENT = new Set(['TOPIC_NOT_FOUND', 'ILLEGAL_TOPIC', 'FORBIDDEN', 'BAD_REQUEST']);

/** A due message on its way to its real topic. */
interface DueCopy {
  key: string;
  topic: string;
  queueId: number;
  message: StoredMessage;
}

/** See the file comment. */
export class TimerService {
  private readonly loop: WakeableLoop;
  private readonly clock: () => number;
  /** Messages delivered by this node (for status and metrics). */
  delivered = 0;
  /** The leadership term in which every entry committed before it is known applied here. */
  private readyTerm = -1;

  constructor(private readonly deps: TimerServiceDeps) {
    this.clock = deps.clock ?? Date.now;
    this.loop = new WakeableLoop(() => this.round(), (error) => deps.logger.warn({ err: error }, 'timer round failed; retrying'), ERROR_PAUSE_MS);
  }

  /** Looks for due messages now (a delayed message arrived, or leadership changed). */
  wake(): void {
    this.loop.wake();
  }

  stop(): void {
    this.loop.stop();
  }

  /**
   * Cancels a waiting delayed message of `topic` (v2 RecallMessage); answers its message id.
   * MESSAGE_NOT_FOUND when it was delivered or recalled already, or the handle names none.
   */
  async recall(topic: string, handle: RecallHandle): Promise<string> {
    requireLeader(this.deps.log);
    if (handle.brokerGroup !== this.deps.config.group) throw new LedgerError('BAD_REQUEST', `recall handle of broker group ${handle.brokerGroup}, not ${this.deps.config.group}`);
    const rows = this.deps.index.dueAt(handle.dueMs, 1_000).filter(({ row }) => row.messageId === handle.messageId && row.topic === topic);
    if (rows.length === 0) throw new LedgerError('MESSAGE_NOT_FOUND', `no delayed message ${handle.messageId} of topic ${topic} is waiting (delivered or recalled already)`);
    await this.deps.pipeline.submitMeta([{ kind: 'timer.cancel', rows: rows.map((r) => r.key) }]);
    return handle.messageId;
  }

  /** Messages waiting for their time on this node. */
  pending(): number {
    return this.deps.index.count();
  }

  /** Delivers one batch of due rows; returns ms until the next round (0: more are due), or null when none waits. */
  private async round(): Promise<number | null> {
    if (!this.deps.log.isLeader()) return null;
    // A new leader may not have applied every committed entry yet (a delivered copy whose row is
    // still here): an empty entry of its own term, once applied, covers them all.
    const term = this.deps.log.leadership().term;
    if (this.readyTerm !== term) {
      await this.deps.pipeline.submitMeta([]);
      this.readyTerm = term;
    }
    const due = this.deps.index.due(this.clock(), ROUND_ROWS);
    if (due.length === 0) {
      const next = this.deps.index.first();
      return next === undefined ? null : Math.max(0, next.dueMs - this.clock());
    }
    const copies: DueCopy[] = [];
    for (const { key, row } of due) {
      const copy = await this.copyOf(key, row);
      if (copy === null) return ERROR_PAUSE_MS; // unreadable while the log is repaired: later
      copies.push(copy);
    }
    const cancelled: string[] = [];
    for (const batch of this.batches(copies)) {
      try {
        await this.deps.sender.send(batch[0].topic, batch[0].queueId, batch.map((c) => c.message));
        this.delivered += batch.length;
      } catch (error) {
        if (!(error instanceof LedgerError) || !PERMANENT.has(error.code)) throw error;
        this.deps.logger.warn({ err: error, topic: batch[0].topic, messages: batch.length }, 'delayed messages cannot be delivered to their topic; dropped');
        cancelled.push(...batch.map((c) => c.key));
      }
    }
    if (cancelled.length > 0) await this.deps.pipeline.submitMeta([{ kind: 'timer.cancel', rows: cancelled }]);
    return 0;
  }

  /** The copy to deliver for one row; null when its message cannot be read now. */
  private async copyOf(key: string, row: TimerRow): Promise<DueCopy | null> {
    const message = await this.deps.reader.readOrNull(TIMER_TOPIC, 0, row.queueOffset, row.position, row.size);
    if (message === null) return null;
    const properties = { ...message.properties };
    const topic = properties[ScheduleProperty.REAL_TOPIC] ?? '';
    const queueId = Number(properties[ScheduleProperty.REAL_QUEUE_ID] ?? -1);
    delete properties[ScheduleProperty.REAL_TOPIC];
    delete properties[ScheduleProperty.REAL_QUEUE_ID];
    properties[TIMER_ROW_PROPERTY] = key;
    return { key, topic, queueId: Number.isInteger(queueId) ? queueId : -1, message: { ...message, topic, properties } };
  }

  /** Splits copies into sends of one topic and queue within the batch limits, in due order. */
  private *batches(copies: readonly DueCopy[]): Generator<DueCopy[]> {
    const { maxBatchMessages, maxBatchBytes } = this.deps.config;
    let batch: DueCopy[] = [];
    let bytes = 0;
    for (const copy of copies) {
      const size = copy.message.body.length;
      const fits = batch.length > 0 && batch[0].topic === copy.topic && batch[0].queueId === copy.queueId && batch.length < maxBatchMessages && bytes + size <= maxBatchBytes;
      if (!fits && batch.length > 0) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(copy);
      bytes += size;
    }
    if (batch.length > 0) yield batch;
  }
}
