/**
 * The nemesis schedule: quiet, fault, quiet, fault... until told to stop; then the active fault
 * is stopped (healed). Every start and stop is recorded in the history. Durations are drawn from
 * the run's seeded generator.
 */
import type { History } from '../history/history.js';
import type { Nemesis, NemesisContext } from '../nemesis/nemesis.js';

export interface ScheduleOptions {
  quietMs: [number, number];
  faultMs: [number, number];
}

export class FaultSchedule {
  private running = true;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  /** Errors of nemesis actions (a failed start is recorded and the schedule goes on). */
  readonly errors: string[] = [];

  constructor(
    private readonly nemesis: Nemesis,
    private readonly context: NemesisContext,
    private readonly history: History,
    private readonly options: ScheduleOptions,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Ends the schedule and heals the active fault. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.sleep(this.draw(this.options.quietMs));
      if (!this.running) return;
      let targets: string[] = [];
      try {
        const started = await this.nemesis.start(this.context);
        targets = started.targets;
        this.history.record('nemesis', 'nemesis', 'info', { fault: this.nemesis.name, phase: 'start', targets, detail: started.detail });
      } catch (error) {
        this.errors.push(`start ${this.nemesis.name}: ${(error as Error).message}`);
        this.history.record('nemesis', 'nemesis', 'info', { fault: this.nemesis.name, phase: 'start', targets, detail: `failed: ${(error as Error).message}` });
      }
      await this.sleep(this.draw(this.options.faultMs));
      try {
        await this.nemesis.stop(this.context);
      } catch (error) {
        this.errors.push(`stop ${this.nemesis.name}: ${(error as Error).message}`);
      }
      this.history.record('nemesis', 'nemesis', 'info', { fault: this.nemesis.name, phase: 'stop', targets });
    }
  }

  private draw([low, high]: [number, number]): number {
    return low + this.context.random() * (high - low);
  }

  /** Sleeps, but wakes at once when the schedule is stopped. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
