import { LedgerError } from '../common/errors.js';

/** A queue id that stands for every queue of a topic (a pop that takes from any queue). */
export const ANY_QUEUE = -1;

interface Waiter {
  topic: string;
  queueId: number;
  timer: NodeJS.Timeout;
  resolve: () => void;
}

/**
 * Parked long-poll requests. A waiter is released when a message for its queue (or, for a waiter
 * on {@link ANY_QUEUE}, for any queue of its topic) is dispatched, or when its time is up, whichever
 * comes first; parked requests cost a timer each and no CPU, and a message wakes only the requests
 * that can read it. At most `maxParked` requests wait at once; one more is refused with
 * TOO_MANY_REQUESTS.
 */
export class PollWaiters {
  /** topic → queue id (or ANY_QUEUE) → waiters. */
  private readonly byTopic = new Map<string, Map<number, Set<Waiter>>>();
  private parked = 0;

  constructor(private readonly maxParked: number) {}

  /** How many requests are parked now. */
  get size(): number {
    return this.parked;
  }

  /** Resolves after `waitMs` or at the next {@link notify} that concerns `topic`/`queueId`. */
  wait(topic: string, queueId: number, waitMs: number): Promise<void> {
    if (this.parked >= this.maxParked) {
      return Promise.reject(new LedgerError('TOO_MANY_REQUESTS', `too many parked long-poll requests (${this.maxParked})`));
    }
    return new Promise((resolve) => {
      const queues = this.byTopic.get(topic) ?? new Map<number, Set<Waiter>>();
      this.byTopic.set(topic, queues);
      const set = queues.get(queueId) ?? new Set<Waiter>();
      queues.set(queueId, set);
      const waiter: Waiter = {
        topic,
        queueId,
        resolve,
        timer: setTimeout(() => this.release(waiter), Math.max(0, waitMs)),
      };
      set.add(waiter);
      this.parked++;
    });
  }

  /**
   * Releases the requests parked on `topic`/`queueId` and those parked on any queue of `topic`;
   * without `queueId`, every request parked on `topic`.
   */
  notify(topic: string, queueId?: number): void {
    const queues = this.byTopic.get(topic);
    if (!queues) return;
    const sets = queueId === undefined ? [...queues.values()] : [queues.get(queueId), queues.get(ANY_QUEUE)];
    for (const set of sets) if (set) for (const waiter of [...set]) this.release(waiter);
  }

  /** Releases everything (shutdown, or a leadership change: each request re-checks that it may be served here). */
  releaseAll(): void {
    for (const topic of [...this.byTopic.keys()]) this.notify(topic);
  }

  /** Releases everything at shutdown. */
  close(): void {
    this.releaseAll();
  }

  private release(waiter: Waiter): void {
    const queues = this.byTopic.get(waiter.topic);
    const set = queues?.get(waiter.queueId);
    if (!queues || !set || !set.delete(waiter)) return;
    if (set.size === 0) queues.delete(waiter.queueId);
    if (queues.size === 0) this.byTopic.delete(waiter.topic);
    clearTimeout(waiter.timer);
    this.parked--;
    waiter.resolve();
  }
}
