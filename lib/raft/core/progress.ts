/**
 * A leader's view of each peer's replication (etcd-raft's Progress): how far the peer's log is
 * known to match (`match`), what to send next (`next`), and whether to probe one append at a time
 * or pipeline a bounded window of appends.
 */
import { asIndex } from './types.js';
import type { LogIndex } from './types.js';

/**
 * `probe`: the match point is unknown; one append at a time until one succeeds.
 * `replicate`: in sync; appends are pipelined, at most `maxInflight` unanswered.
 * `install`: the peer is far behind and the driver streams it committed entries in bulk
 * (etcd-raft's snapshot state); no appends until the driver reports the stream ended.
 */
export type ProgressState = 'probe' | 'replicate' | 'install';

/** One peer's replication progress. */
export class Progress {
  match: LogIndex = asIndex(0);
  next: LogIndex;
  state: ProgressState = 'probe';
  /** In probe state: an append is out and unanswered. */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The peer said (in its last append answer) that it is catching up after losing entries (for status). */
  catchingUp = false;
  /** Each unanswered pipelined append: its last index and the leader tick it went out at. */
  private readonly inflight: Array<{ lastIndex: LogIndex; sentAtTick: number }> = [];

  constructor(
    next: LogIndex,
    private readonly maxInflight: number,
  ) {
    this.next = next;
  }

  /** Whether the leader should hold further appends to this peer. */
  isPaused(): boolean {
    if (this.state === 'install') return true;
    return this.state === 'probe' ? this.probeSent : this.inflight.length >= this.maxInflight;
  }

  /**
   * Whether the oldest unanswered append went out `timeoutTicks` or more ago: it or its answer was
   * lost (a connected stream does not lose messages, so this is the safety net, not the norm).
   */
  isStalled(nowTick: number, timeoutTicks: number): boolean {
    const oldest = this.inflight[0];
    return this.state === 'replicate' && oldest !== undefined && nowTick - oldest.sentAtTick >= timeoutTicks;
  }

  /** Records an append of entries up to `lastIndex` (none: `lastIndex` = prevIndex) sent at `nowTick`. */
  sentAppend(lastIndex: LogIndex, count: number, nowTick: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = asIndex(lastIndex + 1);
        this.inflight.push({ lastIndex, sentAtTick: nowTick });
      }
    } else {
      this.probeSent = true;
    }
  }

  /** The peer matches up to `index`; returns whether that was news. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (index + 1 > this.next) this.next = asIndex(index + 1);
    while (this.inflight.length > 0 && this.inflight[0].lastIndex <= index) this.inflight.shift();
    return updated;
  }

  /**
   * The peer refused an append after `rejectedPrev` and suggests `next`. Ignored when stale (a
   * refusal of an append older than the current window). A probe refused at the match point means
   * the peer lost entries it had (see the body). Returns whether it changed anything.
   */
  maybeDecrease(rejectedPrev: LogIndex, suggestedNext: LogIndex): boolean {
    // During an install the driver's stream decides; it falls back to probing when it ends.
    if (this.state === 'install') return false;
    if (this.state === 'replicate') {
      if (rejectedPrev <= this.match) return false;
      this.becomeProbe();
      this.next = asIndex(Math.max(this.match + 1, Math.min(rejectedPrev, suggestedNext)));
      return true;
    }
    if (this.next - 1 !== rejectedPrev) return false;
    if (rejectedPrev !== 0 && rejectedPrev <= this.match) {
      // The peer refuses the very entry it acknowledged: it lost its log (a wiped or damaged store).
      // Forget the match (the commit index never moves back) and probe down to what it has.
      this.match = asIndex(0);
    }
    this.next = asIndex(Math.max(this.match + 1, Math.min(rejectedPrev, suggestedNext)));
    this.probeSent = false;
    return true;
  }

  /** Falls back to probing from just after the match point (what was in flight may be lost). */
  becomeProbe(): void {
    this.state = 'probe';
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = asIndex(this.match + 1);
  }

  /** Stops appends while the driver streams the peer entries in bulk. */
  becomeInstall(): void {
    this.state = 'install';
    this.probeSent = false;
    this.inflight.length = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = asIndex(this.match + 1);
  }
}

/** The smallest number of voters that is a majority of `voterCount`. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The highest index a majority of `matches` (one per voter) has reached. */
export function quorumMatchIndex(matches: readonly LogIndex[]): LogIndex {
  if (matches.length === 0) return asIndex(0);
  const sorted = [...matches].sort((a, b) => b - a);
  return sorted[quorumSize(matches.length) - 1];
}
