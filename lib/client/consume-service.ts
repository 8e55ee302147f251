/**
 * Runs a push consumer's listener over fetched messages (RocketMQ's ConsumeMessageConcurrentlyService
 * and ConsumeMessageOrderlyService).
 *
 * - Concurrent: batches of up to `batchSize` messages run in parallel, at most `concurrency` at a
 *   time across all queues; a queue's committable offset only passes a message once it succeeded.
 * - Orderly: one batch at a time per queue, oldest first; a failed batch suspends the queue for
 *   `suspendMs` and is retried, so nothing behind it runs first.
 *
 * A failed message (listener returned RETRY or threw) in concurrent mode is sent back to the broker
 * (`sendBack`, clustering mode): the broker redelivers it through `%RETRY%<group>` after the next
 * delay level, or moves it to `%DLQ%<group>` after the group's attempts, and the original counts
 * as consumed. When there is no `sendBack` (broadcasting) or it fails, the message is retried in
 * this instance after a delay (RocketMQ's delays scaled by `retryDelayScale`); it stays in its
 * queue's buffer meanwhile, so progress is never committed past it. Orderly mode suspends the queue
 * and retries in place, keeping order.
 */
import type { ReceivedMessage } from './message.js';
import type { ProcessQueue } from './process-queue.js';
import type { MessageQueue } from './queue-allocation.js';

/** What a listener answers for a batch: consumed, or consume again later. */
export type ConsumeResult = 'SUCCESS' | 'RETRY';

/** The listener also learns the batch's queue and how many times it was delivered before. */
export interface ConsumeContext {
  queue: MessageQueue;
  /** Failed deliveries of this batch before this one (0 the first time; the most of its messages). */
  reconsumeTimes: number;
}

export type MessageListener = (messages: ReceivedMessage[], context: ConsumeContext) => ConsumeResult | Promise<ConsumeResult>;

export interface ConsumeSettings {
  orderly: boolean;
  /** Messages per listener call (RocketMQ's consumeMessageBatchMaxSize, default 1). */
  batchSize: number;
  /** Listener calls running at once (RocketMQ's consumeThreadMax, default 20). */
  concurrency: number;
  /** Pause of an orderly queue after a failed batch (default 1,000 ms). */
  suspendMs: number;
  /** Multiplies RocketMQ's retry delays (1 s, 5 s, 10 s, 30 s, 1 min, ...); tests scale them down. */
  retryDelayScale: number;
  /** Orderly: whether this instance holds the queue's lock (queue-lock-keeper.ts); absent: always. */
  holdsLock?: (queue: MessageQueue) => boolean;
}

/** RocketMQ's messageDelayLevel from level 3 (where retries start): 10s 30s 1m 2m ... 2h. */
const RETRY_DELAYS_MS = [10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200].map((s) => s * 1000);

interface OwnedQueue {
  queue: MessageQueue;
  processQueue: ProcessQueue;
  /** Offsets handed to the listener and not finished. */
  running: Set<number>;
  /** Failed deliveries per offset. */
  attempts: Map<number, number>;
  /** Orderly: a worker is draining this queue. */
  draining: boolean;
  /** Orderly: settles when the worker draining this queue stops (its running batch finished). */
  idle: Promise<void>;
}

export class ConsumeService {
  private readonly owned = new Map<ProcessQueue, OwnedQueue>();
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly settings: ConsumeSettings,
    private readonly listener: MessageListener,
    private readonly onError: (error: unknown) => void,
    /** Hands a failed message to the broker's retry path; resolves once the retry copy is stored. */
    private readonly sendBack: ((message: ReceivedMessage) => Promise<void>) | null = null,
  ) {}

  /** Starts consuming a queue's buffer. */
  add(queue: MessageQueue, processQueue: ProcessQueue): void {
    this.owned.set(processQueue, { queue, processQueue, running: new Set(), attempts: new Map(), draining: false, idle: Promise.resolve() });
  }

  /**
   * Stops handing out a queue's messages; resolves once none of them is in the listener any more
   * (orderly: the running batch finished; concurrent batches are not waited for).
   */
  remove(processQueue: ProcessQueue): Promise<void> {
    const owned = this.owned.get(processQueue);
    this.owned.delete(processQueue);
    return owned?.idle ?? Promise.resolve();
  }

  /** Messages just fetched into `processQueue`. */
  submit(processQueue: ProcessQueue): void {
    const owned = this.owned.get(processQueue);
    if (!owned) return;
    if (this.settings.orderly) this.drainOrderly(owned);
    else this.dispatchConcurrently(owned);
  }

  /** Stops scheduling retries; running listener calls finish on their own. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private dispatchConcurrently(owned: OwnedQueue): void {
    while (!this.stopped) {
      const batch = owned.processQueue.oldest(this.settings.batchSize, owned.running);
      // Messages waiting for a retry are marked running until their timer fires.
      if (batch.length === 0) return;
      for (const message of batch) owned.running.add(message.queueOffset);
      void this.runBatch(owned, batch);
    }
  }

  private async runBatch(owned: OwnedQueue, batch: ReceivedMessage[]): Promise<void> {
    await this.acquire();
    let result: ConsumeResult;
    const reconsumeTimes = Math.max(...batch.map((m) => (owned.attempts.get(m.queueOffset) ?? 0) + m.reconsumeTimes));
    try {
      result = owned.processQueue.dropped ? 'RETRY' : await this.listener(batch, { queue: owned.queue, reconsumeTimes });
    } catch (error) {
      this.onError(error);
      result = 'RETRY';
    } finally {
      this.release();
    }
    const offsets = batch.map((m) => m.queueOffset);
    if (owned.processQueue.dropped) return;
    if (result === 'SUCCESS') {
      for (const offset of offsets) {
        owned.running.delete(offset);
        owned.attempts.delete(offset);
      }
      owned.processQueue.remove(offsets);
      return;
    }
    const sentBack = await this.trySendBack(batch);
    if (sentBack.length > 0) {
      for (const offset of sentBack) {
        owned.running.delete(offset);
        owned.attempts.delete(offset);
      }
      owned.processQueue.remove(sentBack);
    }
    const remaining = offsets.filter((offset) => !sentBack.includes(offset));
    if (remaining.length === 0) return;
    const delay = this.retryDelay(reconsumeTimes);
    for (const offset of remaining) owned.attempts.set(offset, (owned.attempts.get(offset) ?? 0) + 1);
    this.later(delay, () => {
      for (const offset of remaining) owned.running.delete(offset);
      if (this.owned.get(owned.processQueue) === owned) this.dispatchConcurrently(owned);
    });
  }

  private drainOrderly(owned: OwnedQueue): void {
    if (owned.draining) return;
    owned.draining = true;
    owned.idle = this.runOrderly(owned).finally(() => {
      owned.draining = false;
    });
  }

  private async runOrderly(owned: OwnedQueue): Promise<void> {
    while (!this.stopped && !owned.processQueue.dropped && this.owned.get(owned.processQueue) === owned) {
      // Not locked (yet, or any more): the lock keeper submits the queue again once it is.
      if (this.settings.holdsLock && !this.settings.holdsLock(owned.queue)) return;
      const batch = owned.processQueue.oldest(this.settings.batchSize, new Set());
      if (batch.length === 0) return;
      const reconsumeTimes = owned.attempts.get(batch[0].queueOffset) ?? 0;
      await this.acquire();
      let result: ConsumeResult;
      try {
        result = await this.listener(batch, { queue: owned.queue, reconsumeTimes });
      } catch (error) {
        this.onError(error);
        result = 'RETRY';
      } finally {
        this.release();
      }
      if (result === 'SUCCESS') {
        owned.attempts.delete(batch[0].queueOffset);
        owned.processQueue.remove(batch.map((m) => m.queueOffset));
      } else {
        owned.attempts.set(batch[0].queueOffset, reconsumeTimes + 1);
        await new Promise<void>((resolve) => this.later(this.settings.suspendMs, resolve));
      }
    }
  }

  /** Sends failed messages back to the broker; returns the offsets it accepted. */
  private async trySendBack(batch: readonly ReceivedMessage[]): Promise<number[]> {
    if (this.sendBack === null || this.stopped) return [];
    const accepted: number[] = [];
    for (const message of batch) {
      try {
        await this.sendBack(message);
        accepted.push(message.queueOffset);
      } catch (error) {
        this.onError(error);
      }
    }
    return accepted;
  }

  private retryDelay(reconsumeTimes: number): number {
    return RETRY_DELAYS_MS[Math.min(reconsumeTimes, RETRY_DELAYS_MS.length - 1)] * this.settings.retryDelayScale;
  }

  private later(ms: number, run: () => void): void {
    if (this.stopped) return run();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private acquire(): Promise<void> {
    if (this.active < this.settings.concurrency) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => resolve()));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}
