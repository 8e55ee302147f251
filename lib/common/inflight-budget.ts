/**
 * A semaphore of bytes for requests being read and processed, for the whole process, with fair
 * shares per client (a connection, or a client instance id): RocketMQ's SYSTEM_BUSY, Kafka's
 * `queued.max.request.bytes`.
 *
 * A request is admitted *before its body is read*: it asks for the largest size a request may have
 * (the server's receive limit), is granted that once it fits under the process's budget, and
 * shrinks the grant to its real size once decoded. Until granted it waits, unread: the HTTP/2
 * stream stays paused, so the client can push at most one flow-control window (64 KiB) for it.
 *
 * One client gets a grant only while it has fewer than `maxReadingPerClient` requests being read
 * and the grant fits in its `maxInflightBytesPerClient` (or it holds nothing); grants go round
 * robin across clients, so a client with many requests waiting cannot starve another with one.
 * The wait is bounded: at most `maxWaiting` requests in the process and `maxWaitingPerClient` for
 * one client; one more is refused at once ({@link BudgetRefusal}).
 *
 * So the request bytes held by the process stay under `maxInflightBytes` (one request larger than
 * the whole budget is admitted alone), plus answers, which are counted but never wait (an answer
 * is built by then; its bytes are released when written).
 */

/** Why a request was refused instead of waiting. */
export type BudgetRefusal = 'read_queue_node' | 'read_queue_client';

export interface InflightBudgetLimits {
  /** Bytes of requests (and their answers) being read or processed in the whole process at most. */
  maxInflightBytes: number;
  /** Bytes one client may hold (grants, decoded requests, answers); a request that would pass it waits. */
  maxInflightBytesPerClient: number;
  /** Requests of one client being read at once at most. */
  maxReadingPerClient: number;
  /** Requests waiting for bytes in the whole process at most. */
  maxWaiting: number;
  /** Requests waiting for bytes for one client at most. */
  maxWaitingPerClient: number;
}

/** What one client holds. */
interface ClientShare {
  /** All bytes held: grants being read, decoded requests, answers. */
  held: number;
  /** Requests being read (granted, not decoded yet). */
  reading: number;
  /** Reservations not released yet (the share is forgotten at 0). */
  active: number;
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
  private readonly shares = new Map<string, ClientShare>();
  /** Waiting requests per client; the Map's order is the round-robin order. */
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

  /** Bytes held now by `client`. */
  clientBytes(client: string): number {
    return this.shares.get(client)?.held ?? 0;
  }

  /**
   * Asks for `bytes` for `client`: `grant` is called (now or later) with the reservation, unless
   * the returned cancel function is called first. Returns the refusal instead when the wait is full.
   */
  request(client: string, bytes: number, grant: (reservation: Reservation) => void): BudgetRefusal | (() => void) {
    if (this.waitingCount === 0 && this.fits(client, bytes)) {
      grant(this.reserve(client, bytes, true));
      return () => undefined;
    }
    const limits = this.limits();
    const queue = this.waiting.get(client) ?? [];
    if (queue.length >= limits.maxWaitingPerClient) return 'read_queue_client';
    if (this.waitingCount >= limits.maxWaiting) return 'read_queue_node';
    const waiter: Waiter = { bytes, grant };
    queue.push(waiter);
    this.waiting.set(client, queue);
    this.waitingCount += 1;
    // Someone may fit now although others wait (they wait on their own client's share).
    this.pump();
    return () => this.forget(client, waiter);
  }

  /** Holds `bytes` at once, whatever the budgets (an answer already built). */
  hold(client: string, bytes: number): Reservation {
    return this.reserve(client, bytes, false);
  }

  /** A reservation of `bytes` for `client`; `reading`: a grant, counted as being read until its first resize. */
  private reserve(client: string, bytes: number, reading: boolean): Reservation {
    const share = this.shares.get(client) ?? { held: 0, reading: 0, active: 0 };
    this.shares.set(client, share);
    let held = 0;
    let released = false;
    let isReading = reading;
    const change = (delta: number): void => {
      this.used += delta;
      this.peak = Math.max(this.peak, this.used);
      share.held += delta;
    };
    const endReading = (): void => {
      if (!isReading) return;
      isReading = false;
      share.reading -= 1;
    };
    const reservation: Reservation = {
      resize: (next) => {
        if (released) return;
        endReading();
        const target = Math.max(0, next);
        const shrank = target < held;
        change(target - held);
        held = target;
        if (shrank) this.pump();
      },
      release: () => {
        if (released) return;
        released = true;
        endReading();
        change(-held);
        held = 0;
        share.active -= 1;
        if (share.active === 0) this.shares.delete(client);
        this.pump();
      },
    };
    share.active += 1;
    if (reading) {
      share.reading += 1;
    }
    change(bytes);
    held = bytes;
    return reservation;
  }

  /** Whether a request of `bytes` may be read for `client` now (anything fits where nothing is held). */
  private fits(client: string, bytes: number): boolean {
    const limits = this.limits();
    if (this.used !== 0 && this.used + bytes > limits.maxInflightBytes) return false;
    const share = this.shares.get(client);
    if (!share) return true;
    return share.reading < limits.maxReadingPerClient && (share.held === 0 || share.held + bytes <= limits.maxInflightBytesPerClient);
  }

  /** Grants waiting requests that fit, one per client per round, until a round grants none. */
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
      for (const [client, queue] of [...this.waiting]) {
        const head = queue[0];
        if (!this.fits(client, head.bytes)) continue;
        queue.shift();
        this.waitingCount -= 1;
        // To the back of the round-robin order (or out of it).
        this.waiting.delete(client);
        if (queue.length > 0) this.waiting.set(client, queue);
        granted = true;
        head.grant(this.reserve(client, head.bytes, true));
      }
    }
  }

  private forget(client: string, waiter: Waiter): void {
    const queue = this.waiting.get(client);
    const at = queue?.indexOf(waiter) ?? -1;
    if (!queue || at < 0) return;
    queue.splice(at, 1);
    this.waitingCount -= 1;
    if (queue.length === 0) this.waiting.delete(client);
  }
}
