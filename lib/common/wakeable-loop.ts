/**
 * A background job that runs one round at a time: on `wake()`, and again when the round asks
 * (it returns the ms until it wants to run next, or null to sleep until woken). A wake during a
 * round runs another round right after it. A round that throws is reported and retried after
 * `errorPauseMs`. Timers are unref'd: a sleeping loop never keeps the process alive.
 */
export class WakeableLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly round: () => Promise<number | null>,
    private readonly onError: (error: unknown) => void,
    private readonly errorPauseMs = 1_000,
  ) {}

  /** Runs a round now (or right after the current one). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = true;
    this.again = false;
    void this.round()
      .then((nextMs) => nextMs, (error: unknown) => {
        this.onError(error);
        return this.errorPauseMs;
      })
      .then((nextMs) => {
        // One callback ends the round: a wake() that came during it is never lost.
        this.running = false;
        if (this.again) this.wake();
        else this.schedule(nextMs);
      });
  }

  /** No round starts after this (one in progress finishes). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number | null): void {
    if (delayMs === null || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), Math.max(0, delayMs));
    this.timer.unref();
  }
}
