import { LedgerError } from '../common/errors.js';

interface Waiter {
  topic: string;
  timer: NodeJS.Timeout;
  resolve: () => void;
}

/**
 * Parked long-poll requests. A waiter is released when a message for its topic is dispatched or
 * when its time is up, whichever comes first; parked requests cost a timer each and no CPU.
 * At most `maxParked` requests wait at once; one more is refused with TOO_MANY_REQUESTS.
 */
export class PollWaiters {
  private readonly byTopic = new Map<string, Set<Waiter>>();
  private parked = 0;

  constructor(private readonly maxParked: number) {}

  /** How many requests are parked now. */
  get size(): number {
    return this.parked;
  }

  /** Resolves after `waitMs` or at the next {@link notify} for `topic`. */
  wait(topic: string, waitMs: number): Promise<void> {
    if (this.parked >= this.maxParked) {
      return Promise.reject(new LedgerError('TOO_MANY_REQUESTS', `too many parked long-poll requests (${this.maxParked})`));
    }
    return new Promise((resolve) => {
      const set = this.byTopic.get(topic) ?? new Set<Waiter>();
      this.byTopic.set(topic, set);
      const waiter: Waiter = {
        topic,
        resolve,
        timer: setTimeout(() => this.release(waiter), Math.max(0, waitMs)),
      };
      set.add(waiter);
      this.parked++;
    });
  }

  /** Releases every request parked on `topic`. */
  notify(topic: string): void {
    const set = this.byTopic.get(topic);
    if (!set) return;
    for (const waiter of [...set]) this.release(waiter);
  }

  /** Releases everything (shutdown, or a leadership change: each request re-checks that it may be served here). */
  releaseAll(): void {
    for (const set of [...this.byTopic.values()]) for (const waiter of [...set]) this.release(waiter);
  }

  /** Releases everything at shutdown. */
  close(): void {
    this.releaseAll();
  }

  private release(waiter: Waiter): void {
    const set = this.byTopic.get(waiter.topic);
    if (!set || !set.delete(waiter)) return;
    if (set.size === 0) this.byTopic.delete(waiter.topic);
    clearTimeout(waiter.timer);
    this.parked--;
    waiter.resolve();
  }
}
