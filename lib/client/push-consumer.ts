/**
 * Our PushConsumer (RocketMQ's DefaultMQPushConsumer over LedgerMQ's internal protocol): long-polls
 * the queues it owns and calls a listener.
 *
 * - Clustering mode (default): the group's live instances share the topic's queues
 *   ({@link RebalanceService}); each message goes to one instance. Progress is committed to the
 *   brokers every `commitIntervalMs`, when a queue is revoked, and on shutdown.
 * - Broadcasting mode: every instance consumes every queue; progress is kept in a local file.
 * - Follower reads: a queue far behind is read from the follower the leader suggests.
 * - Flow control: fetching a queue pauses while its buffer holds `maxBufferedMessages` or
 *   `maxBufferedBytes`.
 * - Offset resets by an operator (by time or offset) reach running consumers on their next pull.
 *
 * Delivery is at least once: progress is committed only past messages the listener accepted, so a
 * crash, a rebalance or a failover can deliver a message again but never skips one.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SendMessageBackRequest } from '../gen/internal/ledgermq/v1/SendMessageBackRequest.js';
import type { SendMessageBackResponse__Output } from '../gen/internal/ledgermq/v1/SendMessageBackResponse.js';
import { ClientContext } from './client-context.js';
import type { ClientOptions } from './client-options.js';
import { ConsumeService } from './consume-service.js';
import type { MessageListener } from './consume-service.js';
import type { ReceivedMessage } from './message.js';
import { LocalFileOffsetStore, RemoteOffsetStore } from './offset-store.js';
import type { OffsetStore } from './offset-store.js';
import { ProcessQueue } from './process-queue.js';
import { queueKey } from './queue-allocation.js';
import type { MessageQueue } from './queue-allocation.js';
import { QueueFetchLoop } from './queue-fetch-loop.js';
import { QueueLockKeeper } from './queue-lock-keeper.js';
import { QueueReader } from './queue-reader.js';
import { RebalanceService } from './rebalance-service.js';
import type { ConsumeMode, TopicSubscription } from './rebalance-service.js';

/** Where a queue with no stored progress starts (RocketMQ's ConsumeFromWhere). */
export type ConsumeFrom = 'LAST_OFFSET' | 'FIRST_OFFSET';

export interface PushConsumerOptions extends ClientOptions {
  group: string;
  listener: MessageListener;
  mode?: ConsumeMode;
  /** Default LAST_OFFSET: a new group starts at the end of each queue. */
  consumeFrom?: ConsumeFrom;
  /** One batch at a time per queue, in order (default false: concurrent). */
  orderly?: boolean;
  /** Listener calls running at once (default 20). */
  concurrency?: number;
  /** Messages per listener call (default 1). */
  consumeBatchSize?: number;
  /** Messages per pull (default 32). */
  pullBatchSize?: number;
  /** Long-poll hold (default 15,000 ms). */
  pollTimeoutMs?: number;
  maxBufferedMessages?: number;
  maxBufferedBytes?: number;
  /** Default 5,000 ms (RocketMQ's persistConsumerOffsetInterval). */
  commitIntervalMs?: number;
  /** Default 1,000 ms. */
  heartbeatIntervalMs?: number;
  /** Follow leaders' suggestions to read from followers (default true). */
  followerReads?: boolean;
  /** Scales the delays of retries kept in this instance (broadcasting mode, or when sending back fails; default 1). */
  retryDelayScale?: number;
  /** Broadcasting mode's progress folder (default ~/.ledgermq/offsets); the file is `<instanceName>/<group>.json`. */
  offsetStoreDir?: string;
  /** Names this instance's local progress in broadcasting mode (default "DEFAULT"). */
  instanceName?: string;
  /** Told of errors the consumer recovers from (failed pulls, heartbeats, commits, listener throws). */
  onError?: (error: unknown) => void;
}

interface OwnedQueueState {
  queue: MessageQueue;
  processQueue: ProcessQueue;
  reader: QueueReader;
  loop: QueueFetchLoop;
  committed: number;
}

export class PushConsumer {
  private readonly context: ClientContext;
  private readonly subscriptions = new Map<string, TopicSubscription>();
  private readonly queues = new Map<string, OwnedQueueState>();
  private readonly consume: ConsumeService;
  private readonly offsets: OffsetStore;
  private rebalance: RebalanceService | null = null;
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private readonly mode: ConsumeMode;
  private readonly onError: (error: unknown) => void;
  /** Orderly clustering consumers only: the queue locks (queue-lock-keeper.ts). */
  private readonly locks: QueueLockKeeper | null;
  /** Messages served per source (`leader` or a follower address), for tests and diagnostics. */
  readonly servedBy = new Map<string, number>();

  constructor(private readonly options: PushConsumerOptions) {
    this.context = new ClientContext(options);
    this.mode = options.mode ?? 'CLUSTERING';
    this.onError = options.onError ?? (() => undefined);
    this.consume = new ConsumeService(
      {
        orderly: options.orderly ?? false,
        batchSize: options.consumeBatchSize ?? 1,
        concurrency: options.concurrency ?? 20,
        suspendMs: 1_000,
        retryDelayScale: options.retryDelayScale ?? 1,
        holdsLock: (queue) => this.locks?.holds(queue) ?? true,
      },
      options.listener,
      this.onError,
      this.mode === 'CLUSTERING' ? (message) => this.sendBack(message) : null,
    );
    this.locks = (options.orderly ?? false) && this.mode === 'CLUSTERING'
      ? new QueueLockKeeper({
        gateway: this.context.gateway, group: options.group, clientId: this.context.clientId, requestTimeoutMs: this.context.requestTimeoutMs, onError: this.onError,
        onLocked: (queues) => {
          for (const queue of queues) {
            const state = this.queues.get(queueKey(queue));
            if (state) this.consume.submit(state.processQueue);
          }
        },
      })
      : null;
    this.offsets = this.mode === 'CLUSTERING'
      ? new RemoteOffsetStore(this.context.gateway, options.group, this.context.requestTimeoutMs)
      : new LocalFileOffsetStore(join(options.offsetStoreDir ?? join(homedir(), '.ledgermq', 'offsets'), options.instanceName ?? 'DEFAULT', `${options.group}.json`));
  }

  get clientId(): string {
    return this.context.clientId;
  }

  /** Subscribes to `topic` with a tag expression ("*" or "a || b"); call before {@link start}. */
  subscribe(topic: string, tagExpression = '*'): this {
    this.subscriptions.set(topic, { topic, filterType: 'TAG', filterExpression: tagExpression });
    return this;
  }

  /** Joins the group and starts consuming; resolves after the first rebalance round. */
  async start(): Promise<void> {
    if (this.subscriptions.size === 0) throw new Error('subscribe to at least one topic before start()');
    // Clustering consumers also read the group's retries (RocketMQ subscribes %RETRY%<group> for them).
    if (this.mode === 'CLUSTERING') this.subscribe(`%RETRY%${this.options.group}`, '*');
    this.rebalance = new RebalanceService(
      this.context,
      { group: this.options.group, mode: this.mode, subscriptions: [...this.subscriptions.values()], heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 1_000 },
      (queues) => this.applyAssignment(queues),
      this.onError,
    );
    this.locks?.start();
    await this.rebalance.start();
    this.commitTimer = setInterval(() => void this.commitAll(), this.options.commitIntervalMs ?? 5_000);
  }

  /** The queues this instance owns now. */
  assignment(): MessageQueue[] {
    return [...this.queues.values()].map((state) => state.queue);
  }

  /** Leaves the group: stops fetching, commits progress, unregisters. Running listener calls finish first. */
  async shutdown(): Promise<void> {
    clearInterval(this.commitTimer);
    await this.rebalance?.stop();
    const states = [...this.queues.values()];
    for (const state of states) state.processQueue.drop();
    await Promise.all(states.map((state) => state.loop.done));
    // Orderly: running batches finish before the last commit and the unlock.
    await Promise.all(states.map((state) => this.consume.remove(state.processQueue)));
    this.consume.stop();
    await this.commitAll();
    this.locks?.stop();
    await this.locks?.release(states.map((state) => state.queue));
    this.queues.clear();
    this.context.close();
  }

  /** Sends a failed message back to its broker group: redelivered later via %RETRY%<group>, or dead-lettered. */
  private async sendBack(message: ReceivedMessage): Promise<void> {
    await this.context.gateway.call<SendMessageBackRequest, SendMessageBackResponse__Output>(
      message.brokerGroup,
      (c) => (r, o, cb) => c.SendMessageBack(r, o, cb),
      { group: this.options.group, topic: message.sourceTopic, queueId: message.queueId, offset: message.queueOffset, delayLevel: 0 },
      this.context.requestTimeoutMs,
    );
  }

  /** Commits every owned queue whose progress moved. */
  commitAll(): Promise<void> {
    this.committing = this.committing.then(() => this.commit([...this.queues.values()]));
    return this.committing;
  }

  private async commit(states: OwnedQueueState[]): Promise<void> {
    const changed = states
      .map((state) => ({ state, offset: state.processQueue.committableOffset() }))
      .filter(({ state, offset }) => offset > state.committed);
    if (changed.length === 0) return;
    try {
      await this.offsets.commit(changed.map(({ state, offset }) => ({ queue: state.queue, offset, resetVersion: state.processQueue.resetVersion })));
      for (const { state, offset } of changed) state.committed = offset;
    } catch (error) {
      this.onError(error);
    }
  }

  /** Drops revoked queues (committing their progress first) and starts newly owned ones. */
  private async applyAssignment(next: MessageQueue[]): Promise<void> {
    const nextKeys = new Set(next.map(queueKey));
    const revoked = [...this.queues.entries()].filter(([key]) => !nextKeys.has(key));
    const finishing: Array<Promise<void>> = [];
    for (const [key, state] of revoked) {
      state.processQueue.drop();
      finishing.push(this.consume.remove(state.processQueue));
      this.queues.delete(key);
    }
    // Orderly: a revoked queue's running batch finishes before its commit and unlock, so the next
    // owner (which waits for the lock) starts after it, where this one stopped.
    await Promise.all(finishing);
    // Wait for revoked queues' commits so the next owner starts where this one stopped.
    if (revoked.length > 0) await (this.committing = this.committing.then(() => this.commit(revoked.map(([, state]) => state))));
    if (revoked.length > 0) await this.locks?.release(revoked.map(([, state]) => state.queue));
    for (const queue of next) {
      const key = queueKey(queue);
      if (this.queues.has(key)) continue;
      try {
        await this.startQueue(key, queue);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  private async startQueue(key: string, queue: MessageQueue): Promise<void> {
    const stored = await this.offsets.read(queue);
    let offset = stored.offset;
    if (offset < 0) {
      // No progress stored: start where the group's policy says (the fetch loop corrects an
      // illegal offset; a local store does not know the bounds, so the broker is asked on the first pull).
      offset = (this.options.consumeFrom ?? 'LAST_OFFSET') === 'FIRST_OFFSET' ? Math.max(0, stored.minOffset) : Math.max(0, stored.maxOffset);
      if (stored.maxOffset < 0) offset = (this.options.consumeFrom ?? 'LAST_OFFSET') === 'FIRST_OFFSET' ? 0 : Number.MAX_SAFE_INTEGER;
    }
    const processQueue = new ProcessQueue(offset, stored.resetVersion);
    const reader = new QueueReader(queue, this.context.gateway, this.context.requestTimeoutMs, this.options.followerReads ?? true);
    const subscription = this.subscriptions.get(queue.topic);
    this.consume.add(queue, processQueue);
    this.locks?.track(queue);
    const loop = new QueueFetchLoop(
      processQueue,
      reader,
      {
        group: this.options.group,
        filterType: subscription?.filterType ?? 'TAG',
        filterExpression: subscription?.filterExpression ?? '*',
        batchSize: this.options.pullBatchSize ?? 32,
        pollTimeoutMs: this.options.pollTimeoutMs ?? 15_000,
        maxBufferedMessages: this.options.maxBufferedMessages ?? 1_000,
        maxBufferedBytes: this.options.maxBufferedBytes ?? 100 * 1024 * 1024,
        followResets: this.mode === 'CLUSTERING',
      },
      () => this.consume.submit(processQueue),
      this.onError,
      (outcome) => {
        if (outcome.messages.length > 0) this.servedBy.set(outcome.servedBy, (this.servedBy.get(outcome.servedBy) ?? 0) + outcome.messages.length);
      },
    );
    this.queues.set(key, { queue, processQueue, reader, loop, committed: stored.offset });
  }
}
