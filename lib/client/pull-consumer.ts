/**
 * Our PullConsumer (RocketMQ's DefaultLitePullConsumer in assign mode): the application chooses
 * its queues, then polls. Each assigned queue is fetched in the background (long polling, follower
 * reads, bounded buffer); {@link PullConsumer.poll} hands out what arrived. A polled message
 * counts as consumed: {@link PullConsumer.commit} (called every `commitIntervalMs` too, unless
 * `autoCommit` is false) stores progress up to it on the brokers for the consumer group.
 */
import { LedgerError } from '../common/errors.js';
import { ClientContext } from './client-context.js';
import type { ClientOptions } from './client-options.js';
import type { ReceivedMessage } from './message.js';
import { RemoteOffsetStore } from './offset-store.js';
import { ProcessQueue } from './process-queue.js';
import { queueKey } from './queue-allocation.js';
import type { MessageQueue } from './queue-allocation.js';
import { QueueFetchLoop } from './queue-fetch-loop.js';
import { QueueReader } from './queue-reader.js';
import { readableQueues } from './topic-queues.js';

export interface PullConsumerOptions extends ClientOptions {
  group: string;
  /** Tag expression applied to every queue (default "*"). */
  tagExpression?: string;
  /** Where a queue with no committed progress starts (default LAST_OFFSET). */
  consumeFrom?: 'LAST_OFFSET' | 'FIRST_OFFSET';
  /** Most messages one poll returns (default 32). */
  maxPollMessages?: number;
  pullBatchSize?: number;
  pollTimeoutMs?: number;
  maxBufferedMessages?: number;
  /** Commit every `commitIntervalMs` (default true, every 5,000 ms). */
  autoCommit?: boolean;
  commitIntervalMs?: number;
  followerReads?: boolean;
  onError?: (error: unknown) => void;
}

interface Assigned {
  queue: MessageQueue;
  processQueue: ProcessQueue;
  loop: QueueFetchLoop;
  committed: number;
}

export class PullConsumer {
  private readonly context: ClientContext;
  private readonly offsets: RemoteOffsetStore;
  private readonly assigned = new Map<string, Assigned>();
  private readonly arrivals: Array<() => void> = [];
  private commitTimer: NodeJS.Timeout | undefined;
  private nextQueue = 0;
  private closed = false;
  /** Messages served per source (`leader` or a follower address). */
  readonly servedBy = new Map<string, number>();

  constructor(private readonly options: PullConsumerOptions) {
    this.context = new ClientContext(options);
    this.offsets = new RemoteOffsetStore(this.context.gateway, options.group, this.context.requestTimeoutMs);
    if (options.autoCommit ?? true) this.commitTimer = setInterval(() => void this.commit().catch(options.onError ?? (() => undefined)), options.commitIntervalMs ?? 5_000);
  }

  /** Every readable queue of `topic`, over all broker groups. */
  async queuesOf(topic: string): Promise<MessageQueue[]> {
    return readableQueues(await this.context.routes.route(topic));
  }

  /** Fetches exactly `queues` from now on, each from its committed progress (or `consumeFrom`). */
  async assign(queues: readonly MessageQueue[]): Promise<void> {
    if (this.closed) throw new LedgerError('BAD_REQUEST', 'the consumer is shut down');
    const keys = new Set(queues.map(queueKey));
    for (const [key, entry] of this.assigned) {
      if (keys.has(key)) continue;
      entry.processQueue.drop();
      this.assigned.delete(key);
    }
    for (const queue of queues) {
      const key = queueKey(queue);
      if (this.assigned.has(key)) continue;
      const stored = await this.offsets.read(queue);
      const start = stored.offset >= 0 ? stored.offset : (this.options.consumeFrom ?? 'LAST_OFFSET') === 'FIRST_OFFSET' ? stored.minOffset : stored.maxOffset;
      this.startQueue(key, queue, new ProcessQueue(start, stored.resetVersion), stored.offset);
    }
  }

  /** Moves an assigned queue's position; buffered messages of it are dropped. */
  seek(queue: MessageQueue, offset: number): void {
    const entry = this.assigned.get(queueKey(queue));
    if (!entry) throw new LedgerError('BAD_REQUEST', `queue ${queueKey(queue)} is not assigned`);
    // A fresh fetch loop starts at the new position; the old one ends with its dropped buffer.
    entry.processQueue.drop();
    this.startQueue(queueKey(queue), queue, new ProcessQueue(offset, entry.processQueue.resetVersion), entry.committed);
  }

  /** Up to `maxPollMessages` fetched messages, waiting up to `timeoutMs` for some. Polled messages count as consumed. */
  async poll(timeoutMs = 5_000): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const taken = this.take(this.options.maxPollMessages ?? 32);
      if (taken.length > 0 || Date.now() >= deadline || this.closed) return taken;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
        const arrivals = this.arrivals;
        function wake(): void {
          clearTimeout(timer);
          const at = arrivals.indexOf(wake);
          if (at >= 0) arrivals.splice(at, 1);
          resolve();
        }
        arrivals.push(wake);
      });
    }
  }

  /** Stores progress up to every polled message on the brokers. */
  async commit(): Promise<void> {
    const changed = [...this.assigned.values()]
      .map((entry) => ({ entry, offset: entry.processQueue.committableOffset() }))
      .filter(({ entry, offset }) => offset > entry.committed);
    if (changed.length === 0) return;
    await this.offsets.commit(changed.map(({ entry, offset }) => ({ queue: entry.queue, offset, resetVersion: entry.processQueue.resetVersion })));
    for (const { entry, offset } of changed) entry.committed = offset;
  }

  /** The group's committed progress on `queue` (-1 when none). */
  async committed(queue: MessageQueue): Promise<number> {
    return (await this.offsets.read(queue)).offset;
  }

  /** Stops fetching, commits (with auto-commit), closes connections. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.commitTimer);
    const entries = [...this.assigned.values()];
    for (const entry of entries) entry.processQueue.drop();
    await Promise.all(entries.map((entry) => entry.loop.done));
    if (this.options.autoCommit ?? true) await this.commit().catch(this.options.onError ?? (() => undefined));
    for (const wake of this.arrivals.splice(0)) wake();
    this.context.close();
  }

  private startQueue(key: string, queue: MessageQueue, processQueue: ProcessQueue, committed: number): void {
    const reader = new QueueReader(queue, this.context.gateway, this.context.requestTimeoutMs, this.options.followerReads ?? true);
    const loop = new QueueFetchLoop(
      processQueue,
      reader,
      {
        group: this.options.group,
        filterType: 'TAG',
        filterExpression: this.options.tagExpression ?? '*',
        batchSize: this.options.pullBatchSize ?? 32,
        pollTimeoutMs: this.options.pollTimeoutMs ?? 15_000,
        maxBufferedMessages: this.options.maxBufferedMessages ?? 1_000,
        maxBufferedBytes: 100 * 1024 * 1024,
        followResets: true,
      },
      () => {
        for (const wake of this.arrivals.splice(0)) wake();
      },
      this.options.onError ?? (() => undefined),
      (outcome) => {
        if (outcome.messages.length > 0) this.servedBy.set(outcome.servedBy, (this.servedBy.get(outcome.servedBy) ?? 0) + outcome.messages.length);
      },
    );
    this.assigned.set(key, { queue, processQueue, loop, committed });
  }

  /** Takes buffered messages round robin over the queues, oldest first per queue. */
  private take(limit: number): ReceivedMessage[] {
    const entries = [...this.assigned.values()];
    const taken: ReceivedMessage[] = [];
    for (let i = 0; i < entries.length && taken.length < limit; i++) {
      const entry = entries[(this.nextQueue + i) % entries.length];
      const batch = entry.processQueue.oldest(limit - taken.length, new Set());
      entry.processQueue.remove(batch.map((m) => m.queueOffset));
      taken.push(...batch);
    }
    this.nextQueue += 1;
    return taken;
  }
}
