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
 * refuses it (after a try alone and on any queue) is cancelled through the log (META timer.cancel);
 * an unreadable row is set aside and tried again later, so one bad row never holds up the others.
 * A write whose outcome is unknown (a timeout) makes the next write wait for a new barrier entry.
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
import { LeaderBarrier, isUncertain } from './leader-barrier.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { RecallHandle } from '../common/recall-handle.js';
import { SystemProperty } from './system-properties.js';
import type { SendService } from './send-service.js';

/** What the TimerService works with. */
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
/** How long an unreadable row waits before it is tried again, and how many such rows are remembered. */
const SET_ASIDE_MS = 5_000;
const MAX_SET_ASIDE = 10_000;

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
  private readonly barrier: LeaderBarrier;
  /** Rows being sent now (a recall of them is refused). */
  private readonly delivering = new Set<string>();
  /** Rows that could not be read, with when to try again. */
  private readonly setAside = new Map<string, number>();

  constructor(private readonly deps: TimerServiceDeps) {
    this.clock = deps.clock ?? Date.now;
    this.barrier = new LeaderBarrier(deps.log, deps.pipeline);
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
   * MESSAGE_NOT_FOUND when it was delivered, is being delivered or was recalled already, or the
   * handle names none.
   */
  async recall(topic: string, handle: RecallHandle): Promise<string> {
    requireLeader(this.deps.log);
    if (handle.brokerGroup !== this.deps.config.group) throw new LedgerError('BAD_REQUEST', `recall handle of broker group ${handle.brokerGroup}, not ${this.deps.config.group}`);
    await this.barrier.ready();
    const rows = this.deps.index.dueAt(handle.dueMs, ({ row }) => row.messageId === handle.messageId && row.topic === topic);
    if (rows.length === 0 || rows.some((r) => this.delivering.has(r.key))) {
      throw new LedgerError('MESSAGE_NOT_FOUND', `no delayed message ${handle.messageId} of topic ${topic} is waiting (delivered, being delivered or recalled already)`);
    }
    await this.barrier.certain(this.deps.pipeline.submitMeta([{ kind: 'timer.cancel', rows: rows.map((r) => r.key) }]));
    return handle.messageId;
  }

  /** Messages waiting for their time on this node. */
  pending(): number {
    return this.deps.index.count();
  }

  /** Delivers due rows, one bounded batch at a time; returns ms until the next round (0: more are due), or null when none waits. */
  private async round(): Promise<number | null> {
    if (!this.deps.log.isLeader()) return null;
    await this.barrier.ready();
    const now = this.clock();
    const due = this.deps.index.due(now, ROUND_ROWS, (key) => (this.setAside.get(key) ?? 0) > now);
    if (due.length === 0) {
      const next = this.deps.index.first((key) => (this.setAside.get(key) ?? 0) > now);
      return next === undefined ? (this.setAside.size > 0 ? SET_ASIDE_MS : null) : Math.max(0, next.dueMs - now);
    }
    let batch: DueCopy[] = [];
    let bytes = 0;
    for (const { key, row } of due) {
      const copy = await this.copyOf(key, row);
      if (copy === null) {
        this.putAside(key, now, 'unreadable (the log is being repaired?)');
        continue;
      }
      const size = copy.message.body.length;
      const fits = batch.length > 0 && batch[0].topic === copy.topic && batch[0].queueId === copy.queueId && batch.length < this.deps.config.maxBatchMessages && bytes + size <= this.deps.config.maxBatchBytes;
      if (!fits && batch.length > 0) {
        await this.deliver(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(copy);
      bytes += size;
    }
    if (batch.length > 0) await this.deliver(batch);
    return 0;
  }

  /** Sends one batch of copies; a refused batch is retried message by message, and a refused message is cancelled. */
  private async deliver(batch: DueCopy[]): Promise<void> {
    for (const copy of batch) this.delivering.add(copy.key);
    try {
      await this.barrier.certain(this.deps.sender.send(batch[0].topic, batch[0].queueId, batch.map((c) => c.message)));
    } catch (error) {
      if (!(error instanceof LedgerError) || isUncertain(error)) throw error;
      if (batch.length === 1) {
        await this.deliverAlone(batch[0], error);
      } else {
        for (const copy of batch) await this.deliverAlone(copy, error);
      }
    } finally {
      for (const copy of batch) this.delivering.delete(copy.key);
    }
  }

  /** One copy refused in a batch: alone, then to any queue of its topic; cancelled when still refused. */
  private async deliverAlone(copy: DueCopy, batchError: LedgerError): Promise<void> {
    let lastError: unknown = batchError;
    for (const queueId of copy.queueId >= 0 ? [copy.queueId, -1] : [-1]) {
      try {
        await this.barrier.certain(this.deps.sender.send(copy.topic, queueId, [copy.message]));
        return;
      } catch (error) {
        if (!(error instanceof LedgerError) || isUncertain(error)) throw error;
        lastError = error;
      }
    }
    this.deps.logger.warn({ err: lastError, topic: copy.topic, messageId: copy.message.messageId }, 'delayed message refused by its topic; dropped');
    await this.barrier.certain(this.deps.pipeline.submitMeta([{ kind: 'timer.cancel', rows: [copy.key] }]));
  }

  /** Leaves a row for later (bounded: the oldest set-aside row is forgotten first). */
  private putAside(key: string, now: number, why: string): void {
    if (!this.setAside.has(key)) this.deps.logger.warn({ row: key }, `delayed message ${why}; retried later`);
    this.setAside.delete(key);
    this.setAside.set(key, now + SET_ASIDE_MS);
    if (this.setAside.size > MAX_SET_ASIDE) this.setAside.delete(this.setAside.keys().next().value as string);
  }

  /** The copy to deliver for one row; null when its message cannot be read now. */
  private async copyOf(key: string, row: TimerRow): Promise<DueCopy | null> {
    const message = await this.deps.reader.readOrNull(TIMER_TOPIC, 0, row.queueOffset, row.position, row.size);
    if (message === null) return null;
    const properties = { ...message.properties };
    const topic = properties[SystemProperty.REAL_TOPIC] ?? '';
    const queueId = Number(properties[SystemProperty.REAL_QUEUE_ID] ?? -1);
    delete properties[SystemProperty.REAL_TOPIC];
    delete properties[SystemProperty.REAL_QUEUE_ID];
    properties[TIMER_ROW_PROPERTY] = key;
    return { key, topic, queueId: Number.isInteger(queueId) ? queueId : -1, message: { ...message, topic, properties } };
  }
}
