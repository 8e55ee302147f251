/**
 * Times of first arrival of numbered benchmark messages (bodies `<prefix><seq>`), and waits for
 * them: the receiving side records, the sending side awaits.
 */

/** See the file comment. */
export class DeliveryClock {
  private readonly arrivals = new Map<number, number>();
  private readonly waiters = new Map<number, () => void>();

  constructor(private readonly prefix: string) {}

  /** The body of message `seq`. */
  body(seq: number): Buffer {
    return Buffer.from(`${this.prefix}${seq}`);
  }

  /** Records the arrival of each body at `atMs` (performance.now()) unless one arrived earlier; ignores foreign bodies. */
  record(bodies: readonly Buffer[], atMs: number): void {
    for (const body of bodies) {
      const text = body.toString();
      if (!text.startsWith(this.prefix)) continue;
      const seq = Number(text.slice(this.prefix.length));
      if (this.arrivals.has(seq)) continue;
      this.arrivals.set(seq, atMs);
      this.waiters.get(seq)?.();
    }
  }

  /** When `seq` first arrived (performance.now()), waiting up to `timeoutMs`; null if it did not. */
  async arrival(seq: number, timeoutMs: number): Promise<number | null> {
    if (!this.arrivals.has(seq)) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.set(seq, resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.waiters.delete(seq);
    }
    return this.arrivals.get(seq) ?? null;
  }
}
