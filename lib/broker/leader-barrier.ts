/**
 * Makes a leader's background jobs (timer deliveries, transaction ends, recalls) act on everything
 * committed before them. `ready()` commits one empty entry per term and waits until it is applied:
 * log order then guarantees that every earlier entry (a copy delivered by the previous leader, a
 * rollback that timed out) is applied too, so its effect is visible before the job decides. A
 * write whose outcome is unknown (a timeout, a lost leadership) goes through `certain()`, which
 * makes the next `ready()` commit a new barrier.
 */
import { LedgerError } from '../common/errors.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { ReplicatedLog } from './replicated-log.js';

/** Errors after which a write may or may not have happened (or that pass with time). */
export const UNCERTAIN_ERRORS: ReadonlySet<string> = new Set([
  'NOT_LEADER', 'HA_NOT_AVAILABLE', 'MASTER_PERSISTENCE_TIMEOUT', 'REQUEST_TIMEOUT', 'PROXY_TIMEOUT', 'TOO_MANY_REQUESTS', 'INTERNAL_ERROR', 'INTERNAL_SERVER_ERROR',
]);

/** Whether `error` leaves a write's outcome unknown (anything but a refusal with a known code). */
export function isUncertain(error: unknown): boolean {
  return !(error instanceof LedgerError) || UNCERTAIN_ERRORS.has(error.code);
}

/** See the file comment. */
export class LeaderBarrier {
  private barrier: Promise<void> | null = null;
  private term = -1;

  constructor(private readonly log: ReplicatedLog, private readonly pipeline: CommitPipeline) {}

  /** Resolves once an empty entry of the current term (committed at most once per term and after an uncertain write) is applied. */
  ready(): Promise<void> {
    const term = this.log.leadership().term;
    if (this.barrier === null || this.term !== term) {
      this.term = term;
      const barrier = this.pipeline.submitMeta([]).then(() => undefined, (error: unknown) => {
        if (this.barrier === barrier) this.barrier = null;
        throw error;
      });
      this.barrier = barrier;
    }
    return this.barrier;
  }

  /** Awaits a write; when its outcome is unknown, the next {@link ready} commits a new barrier. */
  async certain<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (error) {
      if (isUncertain(error)) this.barrier = null;
      throw error;
    }
  }
}
