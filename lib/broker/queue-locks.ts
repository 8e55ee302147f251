/**
 * Queue locks of orderly push consumers (RocketMQ's RebalanceLockManager, lockBatchMQ): a queue of
 * a consumer group is consumed by the one client holding its lock, so when a rebalance moves it
 * the new owner waits until the old one has finished its running batch, committed and unlocked (or
 * its lock expired). Kept in memory on the leader, like RocketMQ's master: a new leader starts
 * with none and grants each queue to the first client that asks. A lock lasts `ttlMs` (60 s)
 * unless renewed; clients renew every 20 s and stop consuming a queue whose lock they have not
 * renewed for 30 s. Bounded by `maxLocks`.
 */
import { LedgerError } from '../common/errors.js';

/** A queue a lock is for. */
export interface LockedQueue {
  topic: string;
  queueId: number;
}

interface QueueLock {
  clientId: string;
  expiresAtMs: number;
}

/** See the file comment. */
export class QueueLocks {
  private readonly locks = new Map<string, QueueLock>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxLocks = 1_000_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Locks (or renews) each queue that is free, expired or already `clientId`'s; returns those it holds now. */
  lock(group: string, clientId: string, queues: readonly LockedQueue[]): LockedQueue[] {
    const now = this.clock();
    const held: LockedQueue[] = [];
    for (const queue of queues) {
      const key = lockKey(group, queue);
      const current = this.locks.get(key);
      if (current && current.clientId !== clientId && current.expiresAtMs > now) continue;
      if (!current && this.locks.size >= this.maxLocks) this.sweep(now);
      if (!current && this.locks.size >= this.maxLocks) throw new LedgerError('TOO_MANY_REQUESTS', `at most ${this.maxLocks} queue locks per node`);
      this.locks.set(key, { clientId, expiresAtMs: now + this.ttlMs });
      held.push(queue);
    }
    return held;
  }

  /** Releases the queues `clientId` holds (others' locks are left alone). */
  unlock(group: string, clientId: string, queues: readonly LockedQueue[]): void {
    for (const queue of queues) {
      const key = lockKey(group, queue);
      if (this.locks.get(key)?.clientId === clientId) this.locks.delete(key);
    }
  }

  /** Forgets every lock (this node stopped leading: the next leader starts afresh). */
  clear(): void {
    this.locks.clear();
  }

  get size(): number {
    return this.locks.size;
  }

  private sweep(now: number): void {
    for (const [key, lock] of this.locks) if (lock.expiresAtMs <= now) this.locks.delete(key);
  }
}

function lockKey(group: string, queue: LockedQueue): string {
  return `${group}\u0000${queue.topic}\u0000${queue.queueId}`;
}
