/**
 * Sends from producers (the BrokerService's SendMessages, which our client and the v2 Proxy call):
 * the message-type rules (message-types.ts), then by type:
 *
 * - NORMAL: stored in the queue the producer names, or round robin.
 * - FIFO: every message of a batch shares one message group; with no queue named, the group's
 *   queue is `messageGroupSlot(group, writeQueues)`, so a group stays in one queue in send order.
 * - DELAY: a delivery timestamp (or a delay level, property `DELAY`, turned into one) in the past or
 *   now stores the message at once; a later one, up to `timerMaxDelayMs` ahead, stores it in the
 *   timer topic with its real topic and queue in REAL_TOPIC / REAL_QID, replicated like any send
 *   before the producer hears back; the leader's TimerService delivers it when it falls due.
 * - TRANSACTION: stored as a half message in the half topic (invisible until committed), with its
 *   real topic and queue; the answer carries its transaction id (transaction-service.ts).
 *
 * Every producer send is refused with DISK_FULL first while the disk watermarks say so
 * (disk-space-monitor.ts); the broker's internal writes are checked later, in the CommitPipeline.
 *
 * Broker-internal copies (retries, dead letters, scheduled and timer deliveries) go straight to
 * SendService and skip these rules.
 */
import { LedgerError } from '../common/errors.js';
import { messageGroupSlot } from '../common/message-group-hash.js';
import { TIMER_TOPIC } from '../store/timer-index.js';
import type { BrokerConfig } from './broker-config.js';
import { DELAY_LEVEL_PROPERTY, MessageType, checkTopicAccepts, checkTypeProperties, effectiveType } from './message-types.js';
import type { IncomingMessage } from './message-validator.js';
import { validateBatch } from './message-validator.js';
import { encodeRecallHandle } from '../common/recall-handle.js';
import { RESERVED_PROPERTIES, SystemProperty } from './system-properties.js';
import { transactionIdOf } from '../common/transaction-id.js';
import { HALF_TOPIC } from '../store/transaction-table.js';
import type { SendResult, SendService } from './send-service.js';
import type { TopicService } from './topic-service.js';

/** What the ProduceService works with. */
export interface ProduceServiceDeps {
  config: BrokerConfig;
  sender: SendService;
  topics: TopicService;
  /** Delay levels in ms (level n is `delayLevels[n - 1]`). */
  delayLevels: readonly number[];
  /** Transactions open on this node now (a new half message is refused past MAX_OPEN_TRANSACTIONS). */
  openTransactions: () => number;
  /** Throws DISK_FULL while the disk watermarks refuse producers' writes. */
  checkDiskSpace?: () => void;
  clock?: () => number;
}

/** Open transactions a broker group keeps at most (each costs memory on every node). */
const MAX_OPEN_TRANSACTIONS = 1_000_000;

/** See the file comment. */
export class ProduceService {
  private readonly clock: () => number;

  constructor(private readonly deps: ProduceServiceDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Stores a producer's batch (all-or-nothing); `queueId` -1 lets the broker choose. */
  async send(topicName: string, queueId: number, messages: readonly IncomingMessage[]): Promise<SendResult[]> {
    validateBatch(topicName, messages, this.deps.config);
    for (const message of messages) {
      for (const name of Object.keys(message.properties)) {
        if (RESERVED_PROPERTIES.has(name)) throw new LedgerError('ILLEGAL_MESSAGE_PROPERTY_KEY', `property ${name} is reserved for the broker`);
      }
    }
    // Before the topic look-up, which may auto-create the topic (a META write of its own).
    this.deps.checkDiskSpace?.();
    const type = effectiveType(messages[0]);
    for (const message of messages) {
      if (effectiveType(message) !== type) throw new LedgerError('BAD_REQUEST', 'every message of a batch must have the same message type');
      checkTypeProperties(message, type);
    }
    const topic = await this.deps.topics.topic(topicName, true);
    checkTopicAccepts(topic, type);
    const typed = messages.map((message) => ({ ...message, messageType: type }));
    if (type === MessageType.FIFO) {
      const group = typed[0].messageGroup;
      if (typed.some((m) => m.messageGroup !== group)) throw new LedgerError('ILLEGAL_MESSAGE_GROUP', 'every FIFO message of a batch must have the same message group');
      return this.deps.sender.send(topicName, queueId >= 0 ? queueId : messageGroupSlot(group, topic.writeQueues), typed);
    }
    if (type === MessageType.DELAY) return this.sendDelayed(topicName, queueId, typed);
    if (type === MessageType.TRANSACTION) return this.sendHalf(topicName, queueId, typed);
    return this.deps.sender.send(topicName, queueId, typed);
  }

  /** TRANSACTION: half messages, delivered once their producer commits them. */
  private async sendHalf(topicName: string, queueId: number, messages: readonly IncomingMessage[]): Promise<SendResult[]> {
    if (messages.length !== 1) throw new LedgerError('BAD_REQUEST', 'a transactional send carries exactly one message');
    if (this.deps.openTransactions() >= MAX_OPEN_TRANSACTIONS) {
      throw new LedgerError('TOO_MANY_REQUESTS', `${MAX_OPEN_TRANSACTIONS} transactions are open on this broker group; commit or roll back some first`);
    }
    await this.deps.topics.systemTopic(HALF_TOPIC, 1);
    const half = messages.map((message) => ({
      ...message,
      topic: HALF_TOPIC,
      properties: { ...message.properties, [SystemProperty.REAL_TOPIC]: topicName, [SystemProperty.REAL_QUEUE_ID]: String(queueId) },
    }));
    const results = await this.deps.sender.send(HALF_TOPIC, 0, half);
    return results.map((result) => ({ ...result, transactionId: transactionIdOf(this.deps.config.group, result.messageId) }));
  }

  /** DELAY: stored now when due, else in the timer topic until its time. */
  private async sendDelayed(topicName: string, queueId: number, messages: readonly IncomingMessage[]): Promise<SendResult[]> {
    const now = this.clock();
    const dueTimes = messages.map((message) => this.dueTimeOf(message, now));
    const horizon = now + this.deps.config.timerMaxDelayMs;
    if (dueTimes.some((due) => due > horizon)) {
      throw new LedgerError('ILLEGAL_DELIVERY_TIME', `a delivery time may lie at most ${this.deps.config.timerMaxDelayMs} ms ahead (timerMaxDelayMs)`);
    }
    if (dueTimes.every((due) => due <= now)) return this.deps.sender.send(topicName, queueId, messages.map((m, i) => ({ ...m, deliveryTimestampMs: dueTimes[i] })));
    await this.deps.topics.systemTopic(TIMER_TOPIC, 1);
    const waiting = messages.map((message, i) => {
      const properties: Record<string, string> = { ...message.properties, [SystemProperty.REAL_TOPIC]: topicName, [SystemProperty.REAL_QUEUE_ID]: String(queueId) };
      delete properties[DELAY_LEVEL_PROPERTY];
      return { ...message, topic: TIMER_TOPIC, properties, deliveryTimestampMs: dueTimes[i] };
    });
    const results = await this.deps.sender.send(TIMER_TOPIC, 0, waiting);
    return results.map((result, i) => ({ ...result, recallHandle: encodeRecallHandle({ brokerGroup: this.deps.config.group, dueMs: dueTimes[i], messageId: result.messageId }) }));
  }

  /** The delivery time of a DELAY message: its timestamp, or now plus its level's delay. */
  private dueTimeOf(message: IncomingMessage, now: number): number {
    if (message.deliveryTimestampMs > 0) return message.deliveryTimestampMs;
    const text = message.properties[DELAY_LEVEL_PROPERTY];
    const level = Number(text);
    const levels = this.deps.delayLevels;
    if (!/^\d+$/.test(text) || level < 1 || level > levels.length) {
      throw new LedgerError('ILLEGAL_DELIVERY_TIME', `delay level must be 1..${levels.length}, got ${JSON.stringify(text)}`);
    }
    return now + levels[level - 1];
  }
}
