/**
 * Our Producer (RocketMQ's DefaultMQProducer over LedgerMQ's internal protocol). Sends go straight
 * to the leader of a broker group, found from NameServer routes; NOT_LEADER hints and failovers
 * are followed within the request deadline (BrokerGateway). Queues are chosen round robin over every
 * writable queue of the topic, skipping groups that were recently slow or failing; a failed send is
 * retried with backoff on another group. Messages with a message group (FIFO) always go to the
 * queue their group hashes to, and are retried only there, so their order holds.
 *
 * An acknowledged send is committed: durable (fsynced) on a majority of the group.
 */
import { messageGroupSlot } from '../common/message-group-hash.js';
import { decodeRecallHandle } from '../common/recall-handle.js';
import { LedgerError } from '../common/errors.js';
import type { SendMessagesRequest } from '../gen/internal/ledgermq/v1/SendMessagesRequest.js';
import type { SendMessagesResponse__Output } from '../gen/internal/ledgermq/v1/SendMessagesResponse.js';
import type { TopicRoute } from '../namesrv/route-table.js';
import { ClientContext } from './client-context.js';
import type { ClientOptions } from './client-options.js';
import { newMessageId } from './client-options.js';
import { MessageType, fromMessageData, toMessageData } from './message.js';
import type { Message, ReceivedMessage, SendResult } from './message.js';
import { TransactionCheckWatch } from './transaction-check-watch.js';
import type { TransactionCheckEvent } from './transaction-check-watch.js';
import type { MessageData } from '../gen/internal/ledgermq/v1/MessageData.js';
import type { MessageQueue } from './queue-allocation.js';
import { SendBatcher } from './send-batcher.js';
import type { SendBatchingOptions } from './send-batcher.js';
import { SendFaultTracker } from './send-fault-tracker.js';
import { writableQueues } from './topic-queues.js';

export interface ProducerOptions extends ClientOptions {
  /** Retries after a failed send (RocketMQ's retryTimesWhenSendFailed, default 2). */
  retries?: number;
  /** First pause before a retry; doubles per retry up to 1 s (default 100 ms). */
  retryBackoffMs?: number;
  /** Skip groups that were slow or failing (default true). */
  latencyAvoidance?: boolean;
  /**
   * Single sends (send, sendAsync, sendOneway) issued close together go out as one batch (see
   * send-batcher.ts); default on with a linger of 0 (sends of one event-loop turn). `false` sends
   * each alone.
   */
  batching?: SendBatchingOptions | false;
  /**
   * Answers the broker's checks of this producer's undecided transactions on `topics` (RocketMQ's
   * TransactionListener.checkLocalTransaction): the leaders of every broker group stream them.
   */
  transactionChecker?: TransactionCheckerOptions;
}

/** How a local transaction ended: UNKNOWN leaves the decision to a later check. */
export type TransactionResolution = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN';

/** Our Producer's answer to transaction checks: which topics it answers for, and how it decides. */
export interface TransactionCheckerOptions {
  topics: string[];
  check: (message: ReceivedMessage) => TransactionResolution | Promise<TransactionResolution>;
}

const MAX_BACKOFF_MS = 1_000;


/** See the file comment. */
export class Producer {
  private readonly context: ClientContext;
  private readonly faults = new SendFaultTracker();
  private readonly retries: number;
  private readonly retryBackoffMs: number;
  private readonly latencyAvoidance: boolean;
  private nextQueue = Math.floor(Math.random() * 1024);
  private closed = false;
  /** One-way sends that failed (they have no caller to tell). */
  onewayFailures = 0;
  private readonly batcher: SendBatcher | null;
  private readonly checks: TransactionCheckWatch | null = null;

  constructor(options: ProducerOptions) {
    this.context = new ClientContext(options);
    this.retries = options.retries ?? 2;
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    this.latencyAvoidance = options.latencyAvoidance ?? true;
    this.batcher = options.batching === false ? null : new SendBatcher((messages) => this.sendBatch(messages), options.batching);
    const checker = options.transactionChecker;
    if (checker) {
      const watch = new TransactionCheckWatch(this.context.gateway, this.context.routes, checker.topics, (event) => {
        this.answerCheck(event, checker).catch(() => undefined); // unanswered: the broker checks again later
      });
      this.checks = watch;
      watch.start();
    }
  }

  get clientId(): string {
    return this.context.clientId;
  }

  /** Sends one message and resolves once it is committed (RocketMQ's synchronous send). */
  async send(message: Message): Promise<SendResult> {
    if (this.batcher !== null) return this.batcher.send(message);
    const [result] = await this.sendBatch([message]);
    return result;
  }

  /**
   * Sends one message with a callback (RocketMQ's asynchronous send): returns at once; `callback`
   * gets the result or the error once the send is committed or has failed.
   */
  sendAsync(message: Message, callback: (error: Error | null, result?: SendResult) => void): void {
    this.send(message).then(
      (result) => callback(null, result),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** Sends without waiting for or reporting the outcome (RocketMQ's one-way send); failures are only counted. */
  sendOneway(message: Message): void {
    (this.batcher !== null ? this.batcher.send(message) : this.sendBatch([message], 0)).catch(() => {
      this.onewayFailures += 1;
    });
  }

  /**
   * Sends messages of one topic as one batch: all go to one queue, committed together or not at
   * all. Messages of one FIFO message group (or none) only.
   */
  async sendBatch(messages: readonly Message[], retries: number = this.retries): Promise<SendResult[]> {
    if (this.closed) throw new LedgerError('BAD_REQUEST', 'the producer is shut down');
    if (messages.length === 0) throw new LedgerError('BAD_REQUEST', 'a send carries no message');
    const topic = messages[0].topic;
    const messageGroup = messages[0].messageGroup ?? '';
    for (const message of messages) {
      if (message.topic !== topic) throw new LedgerError('BAD_REQUEST', `every message of a batch must be for topic ${topic}`);
      if ((message.messageGroup ?? '') !== messageGroup) throw new LedgerError('BAD_REQUEST', 'every message of a batch must have the same message group');
    }
    // Ids are fixed before the first attempt, so a retried message keeps its id.
    return this.sendData(topic, messageGroup, messages.map((message) => toMessageData(message, newMessageId())), retries);
  }

  /**
   * Sends a transactional message (RocketMQ's sendMessageInTransaction): the broker keeps it as a
   * half message, invisible to consumers; `execute` runs the local transaction and decides. COMMIT
   * delivers the message, ROLLBACK drops it, UNKNOWN (or a throw) leaves it to the broker's checks
   * (the `transactionChecker` option answers them). A transactional send is not retried.
   */
  async sendInTransaction(message: Message, execute: (sent: SendResult) => TransactionResolution | Promise<TransactionResolution>): Promise<{ sent: SendResult; resolution: TransactionResolution }> {
    if (this.closed) throw new LedgerError('BAD_REQUEST', 'the producer is shut down');
    if (message.messageGroup || message.deliveryTimestampMs || message.delayLevel !== undefined) {
      throw new LedgerError('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', 'a transactional message cannot have a message group or a delivery time');
    }
    const [sent] = await this.sendData(message.topic, '', [toMessageData(message, newMessageId(), MessageType.TRANSACTION)], 0);
    let resolution: TransactionResolution;
    try {
      resolution = await execute(sent);
    } catch {
      resolution = 'UNKNOWN';
    }
    if (resolution !== 'UNKNOWN') await this.endTransaction(message.topic, sent, resolution === 'COMMIT', false);
    return { sent, resolution };
  }

  /** Commits or rolls back a half message sent by {@link sendInTransaction} (or named by a check). */
  async endTransaction(topic: string, sent: Pick<SendResult, 'brokerGroup' | 'messageId' | 'transactionId'>, commit: boolean, fromCheck: boolean): Promise<void> {
    if (!sent.transactionId) throw new LedgerError('INVALID_TRANSACTION_ID', 'the send result carries no transaction id');
    await this.context.gateway.endTransaction(sent.brokerGroup, { topic, messageId: sent.messageId, transactionId: sent.transactionId, commit, fromCheck }, this.context.requestTimeoutMs);
  }

  /**
   * Cancels a delayed message that is still waiting (RocketMQ 5's recallMessage), by the
   * `recallHandle` its send answered; resolves with its message id. MESSAGE_NOT_FOUND when it was
   * delivered or recalled already.
   */
  async recallMessage(topic: string, recallHandle: string): Promise<string> {
    const { brokerGroup } = decodeRecallHandle(recallHandle);
    const response = await this.context.gateway.recallMessage(brokerGroup, { topic, recallHandle }, this.context.requestTimeoutMs);
    return response.messageId;
  }

  /** Answers one transaction check with the application's checker. */
  private async answerCheck(event: TransactionCheckEvent, checker: TransactionCheckerOptions): Promise<void> {
    const data = event.check.message;
    if (!data) return;
    const message = fromMessageData(data, event.brokerGroup, 0, 0);
    const resolution = await checker.check(message);
    if (resolution === 'UNKNOWN') return;
    await this.endTransaction(message.topic, { brokerGroup: event.brokerGroup, messageId: message.messageId, transactionId: event.check.transactionId }, resolution === 'COMMIT', true);
  }

  private async sendData(topic: string, messageGroup: string, data: MessageData[], retries: number): Promise<SendResult[]> {
    let lastError: unknown = null;
    let avoid: string | null = null;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await pause(Math.min(MAX_BACKOFF_MS, this.retryBackoffMs * 2 ** (attempt - 1)));
      let target: MessageQueue;
      try {
        const queues = writableQueues(await this.routeOf(topic));
        target = messageGroup ? queueOfGroup(queues, messageGroup) : this.pickQueue(queues, avoid);
      } catch (error) {
        lastError = error;
        if (error instanceof LedgerError && !error.retriable) throw error;
        continue;
      }
      const started = Date.now();
      try {
        const request: SendMessagesRequest = { topic, queueId: target.queueId, messages: data };
        const response = await this.context.gateway.call<SendMessagesRequest, SendMessagesResponse__Output>(
          target.brokerGroup, (c) => (r, o, cb) => c.SendMessages(r, o, cb), request, this.context.requestTimeoutMs,
        );
        this.faults.record(target.brokerGroup, Date.now() - started, false);
        return response.entries.map((entry) => ({
          messageId: entry.messageId, brokerGroup: target.brokerGroup, queueId: entry.queueId, queueOffset: Number(entry.queueOffset),
          ...(entry.transactionId ? { transactionId: entry.transactionId } : {}),
          ...(entry.recallHandle ? { recallHandle: entry.recallHandle } : {}),
        }));
      } catch (error) {
        lastError = error;
        this.faults.record(target.brokerGroup, Date.now() - started, true);
        if (!(error instanceof LedgerError) || !error.retriable) throw error;
        avoid = target.brokerGroup;
        this.context.routes.invalidate();
      }
    }
    if (lastError instanceof Error) throw lastError;
    throw new LedgerError('INTERNAL_SERVER_ERROR', `send to ${topic} failed`, { cause: lastError });
  }

  /**
   * The topic's route. A topic no NameServer knows is auto-created (RocketMQ's TBW102 path): every
   * broker group is asked for it with auto-creation, then the route is awaited (brokers register the
   * new topic at once). Throws TOPIC_NOT_FOUND when the brokers do not auto-create topics.
   */
  private async routeOf(topic: string): Promise<TopicRoute> {
    try {
      return await this.context.routes.route(topic);
    } catch (error) {
      if (!(error instanceof LedgerError) || error.code !== 'TOPIC_NOT_FOUND') throw error;
    }
    const groups = await this.context.routes.groups();
    if (groups.length === 0) throw new LedgerError('TOPIC_NOT_FOUND', `topic ${topic} does not exist and no broker group is registered`);
    await Promise.all(groups.map((g) => this.context.gateway.getTopic(g.group, { name: topic, autoCreate: true }, this.context.requestTimeoutMs)));
    const deadline = Date.now() + this.context.requestTimeoutMs;
    for (;;) {
      this.context.routes.invalidate();
      await pause(50);
      try {
        return await this.context.routes.route(topic);
      } catch (error) {
        if (!(error instanceof LedgerError) || error.code !== 'TOPIC_NOT_FOUND' || Date.now() > deadline) throw error;
      }
    }
  }

  /** Closes connections; sends still waiting in a batch and later sends fail (BAD_REQUEST). Idempotent. */
  shutdown(): void {
    if (this.closed) return;
    this.batcher?.failAll(new LedgerError('BAD_REQUEST', 'the producer is shut down'));
    this.checks?.stop();
    this.closed = true;
    this.context.close();
  }

  /** The next queue round robin, skipping avoided groups and `avoid` (the group that just failed) while others exist. */
  private pickQueue(queues: readonly MessageQueue[], avoid: string | null): MessageQueue {
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[this.nextQueue++ % queues.length];
      if (queue.brokerGroup === avoid && queues.some((q) => q.brokerGroup !== avoid)) continue;
      if (!this.latencyAvoidance || this.faults.isAvailable(queue.brokerGroup)) return queue;
    }
    const group = this.faults.leastAvoided([...new Set(queues.map((q) => q.brokerGroup))]);
    const candidates = queues.filter((q) => q.brokerGroup === group);
    return candidates[this.nextQueue++ % candidates.length];
  }
}

/**
 * Where a FIFO message group goes: its broker group (by the group hash over the topic's broker
 * groups, sorted by name, as the v2 Proxy picks it), queue -1 so that the broker picks the queue
 * by the same hash. Stable while the topic's groups and queue counts do not change.
 */
function queueOfGroup(queues: readonly MessageQueue[], messageGroup: string): MessageQueue {
  const groups = [...new Set(queues.map((q) => q.brokerGroup))].sort();
  const brokerGroup = groups[messageGroupSlot(messageGroup, groups.length)];
  return { topic: queues[0].topic, brokerGroup, queueId: -1 };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
