/**
 * A semaphore of bytes for requests being read and processed: one budget for the whole process and
 * one per connection (RocketMQ's SYSTEM_BUSY, Kafka's `queued.max.request.bytes`).
 *
 * A request is admitted *before its body is read*: it asks for the largest size a request may have
 * (the server's receive limit), is granted that once it fits under both budgets, and shrinks the
 * grant to its real size once decoded. Until granted it waits, unread: the HTTP/2 stream stays
 * paused, so the client can push at most one flow-control window (64 KiB) for it. Grants go round
 * robin across connections, so a connection with many requests waiting cannot starve another with
 * one. The wait is bounded: at most `maxWaiting` requests in the process and
 * `maxWaitingPerConnection` on one connection; one more is refused at once ({@link BudgetRefusal}).
 *
 * So the request bytes held by the process stay under `maxInflightBytes` (one request larger than
 * the whole budget is admitted alone), plus answers, which are counted but never wait (an answer
 * is built by then; its bytes are released when written).
 */

/** Why a request was refused instead of waiting. */
export type BudgetRefusal = 'read_queue_node' | 'read_queue_connection';

export interface InflightBudgetLimits {
  /** Bytes of requests (and their answers) being read or processed in the whole process at most. */
  maxInflightBytes: number;
  /** The same for one connection (one remote `host:port`). */
  maxInflightBytesPerConnection: number;
  /** Requests waiting for bytes in the whole process at most. */
  maxWaiting: number;
  /** Requests waiting for bytes on one connection at most. */
  maxWaitingPerConnection: number;
}

/** Bytes held for one request; {@link resize} and {@link release} may be called in any order, release twice. */
export interface Reservation {
  /** Holds `bytes` from now on instead of what it held (shrink after decoding, grow for an answer). */
  resize(bytes: number): void;
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: (reservation: Reservation) => void;
}

/** See the file comment. */
export class InflightBudget {
  private used = 0;
  private peak = 0;
  private readonly byConnection = new Map<string, number>();
  /** Waiting requests per connection; the Map's order is the round-robin order. */
  private readonly waiting = new Map<string, Waiter[]>();
  private waitingCount = 0;
  private pumping = false;

  constructor(private readonly limits: () => InflightBudgetLimits) {}

  /** Bytes held now in the whole process. */
  get usedBytes(): number {
    return this.used;
  }

  /** The most bytes ever held at once. */
  get peakBytes(): number {
    return this.peak;
  }

  /** Requests waiting now. */
  get waitingRequests(): number {
    return this.waitingCount;
  }

  /** Bytes held now by `connection`. */
  connectionBytes(connection: string): number {
    return this.byConnection.get(connection) ?? 0;
  }

  /**
   * Asks for `bytes` on `connection`: `grant` is called (now or later) with the reservation, unless
   * the returned cancel function is called first. Returns the refusal instead when the wait is full.
   */
  request(connection: string, bytes: number, grant: (reservation: Reservation) => void): BudgetRefusal | (() => void) {
    if (this.waitingCount === 0 && this.fits(connection, bytes)) {
      grant(this.hold(connection, bytes));
      return () => undefined;
    }
    const limits = this.limits();
    const queue = this.waiting.get(connection) ?? [];
    if (queue.length >= limits.maxWaitingPerConnection) return 'read_queue_connection';
    if (this.waitingCount >= limits.maxWaiting) return 'read_queue_node';
    const waiter: Waiter = { bytes, grant };
    queue.push(waiter);
    this.waiting.set(connection, queue);
    this.waitingCount += 1;
    // Someone may fit now although others wait (they wait on their own connection's budget).
    this.pump();
    return () => this.forget(connection, waiter);
  }

  /** Holds `bytes` at once, whatever the budgets (an answer already built). */
  hold(connection: string, bytes: number): Reservation {
    let held = 0;
    let released = false;
    const change = (delta: number): void => {
      this.used += delta;
      this.peak = Math.max(this.peak, this.used);
      const left = this.connectionBytes(connection) + delta;
      if (left > 0) this.byConnection.set(connection, left);
      else this.byConnection.delete(connection);
    };
    const reservation: Reservation = {
      resize: (next) => {
        if (released) return;
        const target = Math.max(0, next);
        const shrank = target < held;
        change(target - held);
        held = target;
        if (shrank) this.pump();
      },
      release: () => {
        if (released) return;
        released = true;
        change(-held);
        held = 0;
        this.pump();
      },
    };
    change(bytes);
    held = bytes;
    return reservation;
  }

  /** Whether `bytes` more fit on `connection` now (anything fits where nothing is held). */
  private fits(connection: string, bytes: number): boolean {
    const limits = this.limits();
    const node = this.used === 0 || this.used + bytes <= limits.maxInflightBytes;
    const held = this.connectionBytes(connection);
    return node && (held === 0 || held + bytes <= limits.maxInflightBytesPerConnection);
  }

  /** Grants waiting requests that fit, one per connection per round, until a round grants none. */
  private pump(): void {
    // A grant that releases bytes at once would pump again from inside this loop.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.grantRounds();
    } finally {
      this.pumping = false;
    }
  }

  private grantRounds(): void {
    let granted = true;
    while (granted && this.waitingCount > 0) {
      granted = false;
      for (const [connection, queue] of [...this.waiting]) {
        const head = queue[0];
        if (!this.fits(connection, head.bytes)) continue;
        queue.shift();
        this.waitingCount -= 1;
        // To the back of the round-robin order (or out of it).
        this.waiting.delete(connection);
        if (queue.length > 0) this.waiting.set(connection, queue);
        granted = true;
        head.grant(this.hold(connection, head.bytes));
      }
    }
  }

  private forget(connection: string, waiter: Waiter): void {
    const queue = this.waiting.get(connection);
    const at = queue?.indexOf(waiter) ?? -1;
    if (!queue || at < 0) return;
    queue.splice(at, 1);
    this.waitingCount -= 1;
    if (queue.length === 0) this.waiting.delete(connection);
  }
}
