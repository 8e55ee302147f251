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
 * is built by then; the caller releases its bytes once written). A connection may also have at
 * most `maxReadingPerConnection` requests being read, whatever client ids it names.
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
  /** Requests being read at once on one connection at most, whatever clients it names. */
  maxReadingPerConnection: number;
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
  connection: string;
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
  /** Requests being read per connection. */
  private readonly readingOn = new Map<string, number>();
  private readonly roomListeners: Array<() => void> = [];

  /**
   * `admissible`: a further condition on every grant (a read slot pool asks whether the byte budget
   * has room); when it can turn true, call {@link wake}.
   */
  constructor(
    private readonly limits: () => InflightBudgetLimits,
    private readonly admissible: (client: string) => boolean = () => true,
  ) {}

  /** Whether the process and `client` are under their byte budgets now (nothing is asked). */
  hasRoom(client: string): boolean {
    const limits = this.limits();
    return this.used < limits.maxInflightBytes && this.clientBytes(client) < limits.maxInflightBytesPerClient;
  }

  /** Calls `listener` whenever bytes come back (a release or a shrink). */
  onRoom(listener: () => void): void {
    this.roomListeners.push(listener);
  }

  /** Grants what fits now (after `admissible` may have turned true). */
  wake(): void {
    this.pump();
  }

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
   * Asks for `bytes` for `client` on `connection`: `grant` is called (now or later) with the reservation, unless
   * the returned cancel function is called first. Returns the refusal instead when the wait is full.
   */
  request(client: string, connection: string, bytes: number, grant: (reservation: Reservation) => void): BudgetRefusal | (() => void) {
    if (this.waitingCount === 0 && this.fits(client, connection, bytes)) {
      grant(this.reserve(client, bytes, connection));
      return () => undefined;
    }
    const limits = this.limits();
    const queue = this.waiting.get(client) ?? [];
    if (queue.length >= limits.maxWaitingPerClient) return 'read_queue_client';
    if (this.waitingCount >= limits.maxWaiting) return 'read_queue_node';
    const waiter: Waiter = { bytes, connection, grant };
    queue.push(waiter);
    this.waiting.set(client, queue);
    this.waitingCount += 1;
    // Someone may fit now although others wait (they wait on their own client's share).
    this.pump();
    return () => this.forget(client, waiter);
  }

  /** Holds `bytes` at once, whatever the budgets (an answer already built). */
  hold(client: string, bytes: number): Reservation {
    return this.reserve(client, bytes, null);
  }

  /**
   * A reservation of `bytes` for `client`; with a `connection`, a grant, counted as being read (for
   * the client and the connection) until its first resize or its release.
   */
  private reserve(client: string, bytes: number, connection: string | null): Reservation {
    const reading = connection !== null;
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
      if (!isReading || connection === null) return;
      isReading = false;
      share.reading -= 1;
      const left = (this.readingOn.get(connection) ?? 1) - 1;
      if (left > 0) this.readingOn.set(connection, left);
      else this.readingOn.delete(connection);
    };
    const reservation: Reservation = {
      resize: (next) => {
        if (released) return;
        endReading();
        const target = Math.max(0, next);
        const shrank = target < held;
        change(target - held);
        held = target;
        if (shrank) this.freed();
      },
      release: () => {
        if (released) return;
        released = true;
        endReading();
        change(-held);
        held = 0;
        share.active -= 1;
        if (share.active === 0) this.shares.delete(client);
        this.freed();
      },
    };
    share.active += 1;
    if (connection !== null) {
      share.reading += 1;
      this.readingOn.set(connection, (this.readingOn.get(connection) ?? 0) + 1);
    }
    change(bytes);
    held = bytes;
    return reservation;
  }

  /** Bytes came back: grant what fits, and tell whoever waits on this budget's room. */
  private freed(): void {
    this.pump();
    for (const listener of this.roomListeners) listener();
  }

  /** Whether a request of `bytes` may be read for `client` on `connection` now (anything fits where nothing is held). */
  private fits(client: string, connection: string, bytes: number): boolean {
    const limits = this.limits();
    if (this.used !== 0 && this.used + bytes > limits.maxInflightBytes) return false;
    if ((this.readingOn.get(connection) ?? 0) >= limits.maxReadingPerConnection) return false;
    if (!this.admissible(client)) return false;
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
        if (!head || !this.fits(client, head.connection, head.bytes)) continue;
        queue.shift();
        this.waitingCount -= 1;
        // To the back of the round-robin order (or out of it).
        this.waiting.delete(client);
        if (queue.length > 0) this.waiting.set(client, queue);
        granted = true;
        head.grant(this.reserve(client, head.bytes, head.connection));
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
