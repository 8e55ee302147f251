/**
 * Proposals waiting for their fate. A proposal made as leader in term T at indexes [first, last]
 * is committed when the commit index reaches `last` and the entry there still has term T; it has
 * failed when that index committed with another term (a new leader overwrote it) or the log was
 * cut below it. Past its deadline the outcome is unknown (it may still commit): the caller is told
 * so, and a retry may duplicate (at-least-once).
 */
import { LedgerError } from '../../common/errors.js';

/** Where a committed proposal's entries are. */
export interface CommittedRange {
  firstIndex: number;
  lastIndex: number;
  term: number;
}

interface Waiter extends CommittedRange {
  deadlineMs: number;
  resolve: (range: CommittedRange) => void;
  reject: (error: Error) => void;
}

export class CommitWaiters {
  /** Ascending by index: proposals get increasing indexes, and a cut removes a suffix. */
  private waiters: Waiter[] = [];

  get size(): number {
    return this.waiters.length;
  }

  add(range: CommittedRange, deadlineMs: number): Promise<CommittedRange> {
    return new Promise((resolve, reject) => this.waiters.push({ ...range, deadlineMs, resolve, reject }));
  }

  /** The commit index reached `commitIndex`; `termAt` tells the term now stored at an index. */
  committed(commitIndex: number, termAt: (index: number) => number | undefined): void {
    let settled = 0;
    for (const waiter of this.waiters) {
      if (waiter.lastIndex > commitIndex) break;
      settled += 1;
      if (termAt(waiter.lastIndex) === waiter.term) waiter.resolve({ firstIndex: waiter.firstIndex, lastIndex: waiter.lastIndex, term: waiter.term });
      else waiter.reject(overwritten(waiter));
    }
    if (settled > 0) this.waiters.splice(0, settled);
  }

  /** Every entry after `index` was dropped from the log: proposals there failed. */
  truncated(index: number): void {
    const keep = this.waiters.filter((waiter) => waiter.lastIndex <= index);
    for (const waiter of this.waiters) if (waiter.lastIndex > index) waiter.reject(overwritten(waiter));
    this.waiters = keep;
  }

  /** Rejects proposals past their deadline with MASTER_PERSISTENCE_TIMEOUT (outcome unknown). */
  expire(nowMs: number): void {
    const keep: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.deadlineMs > nowMs) keep.push(waiter);
      else waiter.reject(new LedgerError('MASTER_PERSISTENCE_TIMEOUT', `entries ${waiter.firstIndex}..${waiter.lastIndex} were not committed in time; they may still commit`));
    }
    this.waiters = keep;
  }

  /** Rejects every waiter with `error` (shutdown, fatal storage error). */
  failAll(error: Error): void {
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters = [];
  }
}

function overwritten(waiter: Waiter): LedgerError {
  return new LedgerError('NOT_LEADER', `entries ${waiter.firstIndex}..${waiter.lastIndex} of term ${waiter.term} were replaced by a newer leader; not committed`);
}
