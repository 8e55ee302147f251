/**
 * An orderly push consumer's queue locks (RocketMQ's lockBatchMQ, see lib/broker/queue-locks.ts):
 * the queues this instance owns are locked on their broker group's leader when they are taken
 * and renewed every `renewMs` (20 s; one not granted yet is asked for every second); a queue is consumed only while its lock was (re)confirmed in
 * the last `validMs` (30 s), so after a rebalance the previous owner has finished its running
 * batch, committed and unlocked before the new owner consumes, and an instance cut off from the
 * leader stops consuming before the broker's 60 s lock expires.
 */
import type { LockQueuesRequest } from '../gen/internal/ledgermq/v1/LockQueuesRequest.js';
import type { LockQueuesResponse__Output } from '../gen/internal/ledgermq/v1/LockQueuesResponse.js';
import type { UnlockQueuesResponse__Output } from '../gen/internal/ledgermq/v1/UnlockQueuesResponse.js';
import type { BrokerGateway } from './broker-gateway.js';
import { byBrokerGroup, queueKey } from './queue-allocation.js';
import type { MessageQueue } from './queue-allocation.js';

/** What a QueueLockKeeper works with. */
export interface QueueLockKeeperOptions {
  gateway: BrokerGateway;
  group: string;
  clientId: string;
  requestTimeoutMs: number;
  onError: (error: unknown) => void;
  /** Told when queues were (re)locked: their consumption may resume. */
  onLocked: (queues: MessageQueue[]) => void;
  renewMs?: number;
  validMs?: number;
}

/** See the file comment. */
export class QueueLockKeeper {
  private readonly owned = new Map<string, MessageQueue>();
  private readonly lockedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly validMs: number;

  constructor(private readonly options: QueueLockKeeperOptions) {
    this.validMs = options.validMs ?? 30_000;
  }

  /** Starts renewing: every queue every `renewMs`, and a queue not held yet (another instance still has it) every second. */
  start(): void {
    let lastFull = Date.now();
    this.timer = setInterval(() => {
      const full = Date.now() - lastFull >= (this.options.renewMs ?? 20_000);
      if (full) lastFull = Date.now();
      const due = [...this.owned.values()].filter((queue) => full || !this.holds(queue));
      if (due.length > 0) void this.renew(due);
    }, 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A queue was taken: locks it now (consumption waits for it). */
  track(queue: MessageQueue): void {
    this.owned.set(queueKey(queue), queue);
    void this.renew([queue]);
  }

  /** Whether `queue` may be consumed now. */
  holds(queue: MessageQueue): boolean {
    const at = this.lockedAt.get(queueKey(queue));
    return at !== undefined && Date.now() - at < this.validMs;
  }

  /** A queue was given up (after its running batch finished and its progress was committed): unlocks it. */
  async release(queues: readonly MessageQueue[]): Promise<void> {
    for (const queue of queues) {
      this.owned.delete(queueKey(queue));
      this.lockedAt.delete(queueKey(queue));
    }
    await Promise.all([...byBrokerGroup(queues, (q) => q)].map(async ([brokerGroup, list]) => {
      try {
        await this.options.gateway.call<LockQueuesRequest, UnlockQueuesResponse__Output>(brokerGroup, (c) => (r, o, cb) => c.UnlockQueues(r, o, cb), this.request(list), this.options.requestTimeoutMs);
      } catch (error) {
        this.options.onError(error); // the lock expires on its own
      }
    }));
  }

  private async renew(queues: readonly MessageQueue[]): Promise<void> {
    await Promise.all([...byBrokerGroup(queues, (q) => q)].map(async ([brokerGroup, list]) => {
      try {
        const askedAt = Date.now();
        const response = await this.options.gateway.call<LockQueuesRequest, LockQueuesResponse__Output>(brokerGroup, (c) => (r, o, cb) => c.LockQueues(r, o, cb), this.request(list), this.options.requestTimeoutMs);
        const locked = list.filter((q) => response.locked.some((l) => l.topic === q.topic && l.queueId === q.queueId) && this.owned.has(queueKey(q)));
        for (const queue of locked) this.lockedAt.set(queueKey(queue), askedAt);
        if (locked.length > 0) this.options.onLocked(locked);
      } catch (error) {
        this.options.onError(error);
      }
    }));
  }

  private request(queues: readonly MessageQueue[]): LockQueuesRequest {
    return { group: this.options.group, clientId: this.options.clientId, queues: queues.map((q) => ({ topic: q.topic, queueId: q.queueId })) };
  }
}
