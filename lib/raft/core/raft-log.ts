/**
 * The core's view of the Raft log. It never holds the bodies of entries already handed to the
 * driver: the stored log (the CommitLog) is described by its last index and its *term runs*, the
 * indexes where the term changes, which answer every question the protocol asks of old entries
 * (term at an index, conflicts, up-to-dateness) in O(log terms). Entries the core created or
 * accepted and has not yet handed out wait in `unstable` with their bodies.
 */
import { asIndex, asTerm } from './types.js';
import type { Entry, LogIndex, Term } from './types.js';

/** From `start` on (up to the next run's start) every entry has `term`. */
export interface TermRun {
  start: LogIndex;
  term: Term;
}

/** What the driver recovered from storage at startup. */
export interface StoredLogState {
  /** Index of the last stored entry (0 when empty). */
  lastIndex: LogIndex;
  /** Term runs of the stored log, ascending by start and by term. */
  termRuns: readonly TermRun[];
  /** First index still stored (1 unless compacted). */
  firstIndex?: LogIndex;
  /** Term of the entry at `firstIndex - 1` when compacted (a snapshot's last term); 0 otherwise. */
  compactedTerm?: Term;
}

/** See the file comment. */
export class RaftLog<P> {
  private runs: TermRun[];
  private lastIndexValue: LogIndex;
  private firstIndexValue: LogIndex;
  private compactedTerm: Term;
  /** Entries not yet handed to the driver, contiguous, ending at lastIndex. */
  private unstable: Array<Entry<P>> = [];
  /** Set when stored entries after this index must be dropped before the next append. */
  private truncateAfterValue: LogIndex | null = null;
  /** Highest index durable in the local store (reported by the driver via {@link markPersisted}). */
  private persistedIndexValue: LogIndex;
  committed: LogIndex = asIndex(0);

  constructor(stored: StoredLogState) {
    this.runs = stored.termRuns.map((run) => ({ ...run }));
    this.lastIndexValue = stored.lastIndex;
    this.firstIndexValue = stored.firstIndex ?? asIndex(1);
    this.compactedTerm = stored.compactedTerm ?? asTerm(0);
    this.persistedIndexValue = stored.lastIndex;
    for (let i = 1; i < this.runs.length; i += 1) {
      if (this.runs[i].start <= this.runs[i - 1].start || this.runs[i].term <= this.runs[i - 1].term) throw new Error('term runs must ascend by start and term');
    }
    if (this.runs.length > 0 && this.runs[this.runs.length - 1].start > this.lastIndexValue) throw new Error('a term run starts after the last index');
    if (this.runs.length > 0 && this.runs[0].start > this.firstIndexValue) throw new Error('the first term run starts after the first index');
  }

  get lastIndex(): LogIndex {
    return this.lastIndexValue;
  }

  get firstIndex(): LogIndex {
    return this.firstIndexValue;
  }

  get lastTerm(): Term {
    return this.termAt(this.lastIndexValue) ?? asTerm(0);
  }

  /** Highest index the driver reported durable. */
  get persistedIndex(): LogIndex {
    return this.persistedIndexValue;
  }

  /** Term of the entry at `index`; 0 for index 0; undefined when past the end or compacted away. */
  termAt(index: LogIndex): Term | undefined {
    if (index === 0) return asTerm(0);
    if (index > this.lastIndexValue) return undefined;
    if (index === this.firstIndexValue - 1) return this.compactedTerm;
    if (index < this.firstIndexValue) return undefined;
    let low = 0;
    let high = this.runs.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.runs[middle].start <= index) low = middle;
      else high = middle - 1;
    }
    return this.runs[low]?.term;
  }

  /** Whether the entry at `index` exists with `term`. */
  matches(index: LogIndex, term: Term): boolean {
    return this.termAt(index) === term;
  }

  /** Raft's up-to-date rule: a candidate's log is at least as current as this one. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndexValue);
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with its term: where a leader and a
   * follower may agree. Skips whole term runs, so backtracking costs one round trip per term.
   */
  findConflictByTerm(index: LogIndex, term: Term): { index: LogIndex; term: Term } {
    let at = asIndex(Math.min(index, this.lastIndexValue));
    for (;;) {
      const atTerm = this.termAt(at);
      if (atTerm === undefined) return { index: asIndex(0), term: asTerm(0) };
      if (atTerm <= term || at === 0) return { index: at, term: atTerm };
      const run = this.runContaining(at);
      at = asIndex(Math.max(0, (run?.start ?? 1) - 1));
      if (at < this.firstIndexValue - 1) return { index: asIndex(0), term: asTerm(0) };
    }
  }

  /** Appends entries created by this node as leader (indexes must continue the log). */
  appendOwn(entries: ReadonlyArray<Entry<P>>): void {
    for (const entry of entries) this.push(entry);
  }

  /**
   * A follower's append: checks `prevIndex`/`prevTerm`, drops a conflicting suffix, appends what is
   * new, and advances the commit index to min(`leaderCommit`, last new index). Returns the last
   * index known to match the leader, or null when `prevIndex`/`prevTerm` do not match. Throws if
   * asked to drop a committed entry or given an entry of a term above `leaderTerm` (protocol bugs).
   */
  tryAppend(prevIndex: LogIndex, prevTerm: Term, entries: ReadonlyArray<Entry<P>>, leaderCommit: LogIndex, leaderTerm: Term): LogIndex | null {
    if (!this.matches(prevIndex, prevTerm)) return null;
    for (const entry of entries) if (entry.term > leaderTerm) throw new Error(`append of term ${leaderTerm} carries entry ${entry.index} of term ${entry.term}`);
    let firstNew = entries.length;
    for (let i = 0; i < entries.length; i += 1) {
      const entry = entries[i];
      if (entry.index !== prevIndex + i + 1) throw new Error(`append entries are not contiguous at ${entry.index}`);
      if (!this.matches(entry.index, entry.term)) {
        firstNew = i;
        break;
      }
    }
    if (firstNew < entries.length) {
      const conflictIndex = entries[firstNew].index;
      if (conflictIndex <= this.lastIndexValue) {
        if (conflictIndex <= this.committed) throw new Error(`conflict at committed index ${conflictIndex} (commit ${this.committed})`);
        this.truncateAfter(asIndex(conflictIndex - 1));
      }
      for (const entry of entries.slice(firstNew)) this.push(entry);
    }
    const lastNew = asIndex(prevIndex + entries.length);
    const newCommit = Math.min(leaderCommit, lastNew);
    if (newCommit > this.committed) this.committed = asIndex(newCommit);
    return lastNew;
  }

  /** Moves the commit index forward (never back). */
  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndexValue) throw new Error(`commit ${index} past the last index ${this.lastIndexValue}`);
    this.committed = index;
    return true;
  }

  /** Hands out the pending truncation and unstable entries (the driver must store them). */
  takeUnstable(): { truncateAfter: LogIndex | null; entries: Array<Entry<P>> } {
    const taken = { truncateAfter: this.truncateAfterValue, entries: this.unstable };
    this.truncateAfterValue = null;
    this.unstable = [];
    return taken;
  }

  /**
   * The driver made everything it was handed up to entry (`index`, `term`) durable. Ignored when
   * that entry has been replaced since (a truncation while the Ready was in flight): the entries now
   * at those indexes are not durable yet.
   */
  markPersisted(index: LogIndex, term: Term): void {
    if (index > this.persistedIndexValue && index <= this.lastIndexValue && this.termAt(index) === term) this.persistedIndexValue = index;
  }

  private truncateAfter(index: LogIndex): void {
    // Entries below the first unstable one were handed to the driver: dropping any needs a stored truncation.
    const firstUnstable = this.unstable[0]?.index ?? this.lastIndexValue + 1;
    if (index < firstUnstable - 1 && (this.truncateAfterValue === null || index < this.truncateAfterValue)) this.truncateAfterValue = index;
    this.lastIndexValue = index;
    this.runs = this.runs.filter((run) => run.start <= index);
    this.unstable = this.unstable.filter((entry) => entry.index <= index);
    if (this.persistedIndexValue > index) this.persistedIndexValue = index;
  }

  private push(entry: Entry<P>): void {
    if (entry.index !== this.lastIndexValue + 1) throw new Error(`entry ${entry.index} does not follow ${this.lastIndexValue}`);
    const last = this.runs[this.runs.length - 1];
    if (last === undefined || last.term !== entry.term) {
      if (last !== undefined && entry.term < last.term) throw new Error(`entry term ${entry.term} below ${last.term}`);
      this.runs.push({ start: entry.index, term: entry.term });
    }
    this.lastIndexValue = entry.index;
    this.unstable.push(entry);
  }

  private runContaining(index: LogIndex): TermRun | undefined {
    let found: TermRun | undefined;
    for (const run of this.runs) {
      if (run.start > index) break;
      found = run;
    }
    return found;
  }
}
