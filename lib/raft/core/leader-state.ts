/**
 * What only a leader holds: every peer's replication progress, the commit rule, check-quorum
 * bookkeeping and a pending leadership transfer. Created when a node wins an election and dropped
 * when it steps down. Pure: it emits messages through a callback and reads the log view.
 */
import { Progress, quorumMatchIndex, quorumSize } from './progress.js';
import type { RaftLog } from './raft-log.js';
import { asIndex, asTerm } from './types.js';
import type { AppendResponse, LogIndex, Membership, Message, NodeId, Term } from './types.js';

/** Limits of the replication pipeline. */
export interface ReplicationLimits {
  /** Unanswered appends per peer in replicate state. */
  maxInflightAppends: number;
  /** Entries per append message (the driver may also cut by bytes). */
  maxEntriesPerAppend: number;
  /**
   * A peer found in sync (its probe answered) this many entries or more behind the commit index
   * gets an `install` instead of appends; 0 or absent: never.
   */
  installMinEntries?: number;
}

/** See the file comment. */
export class LeaderState<P> {
  private readonly progress = new Map<NodeId, Progress>();
  /** Peer a leadership transfer is handing over to, or null. */
  transferee: NodeId | null = null;
  /** Ticks since the transfer started. */
  transferElapsedTicks = 0;

  constructor(
    private readonly selfId: NodeId,
    private readonly term: Term,
    private membership: Membership,
    private readonly log: RaftLog<P>,
    private readonly limits: ReplicationLimits & { electionTicks: number },
    private readonly send: (message: Message<P>) => void,
    /** The core's logical tick count. */
    private readonly nowTick: () => number,
  ) {
    this.resetPeers(membership);
  }

  /** The peers (voters and learners other than this node). */
  peers(): NodeId[] {
    return [...this.progress.keys()];
  }

  /** A peer's progress (for status and tests); undefined for non-members. */
  progressOf(peer: NodeId): Readonly<Progress> | undefined {
    return this.progress.get(peer);
  }

  /** Adopts a new membership: new peers start probing, removed ones are forgotten. */
  resetPeers(membership: Membership): void {
    this.membership = membership;
    const members = new Set([...membership.voters, ...membership.learners]);
    for (const peer of [...this.progress.keys()]) if (!members.has(peer)) this.progress.delete(peer);
    for (const peer of members) {
      if (peer === this.selfId || this.progress.has(peer)) continue;
      this.progress.set(peer, new Progress(asIndex(this.log.lastIndex + 1), this.limits.maxInflightAppends));
    }
  }

  /**
   * Sends `peer` the entries it lacks (up to the per-message limit) unless its pipeline is full.
   * With `allowEmpty`, sends an empty append to carry the commit index when there is nothing new.
   */
  sendAppend(peer: NodeId, allowEmpty: boolean): void {
    const progress = this.progress.get(peer);
    if (progress === undefined || progress.isPaused()) return;
    const prevIndex = asIndex(progress.next - 1);
    const prevTerm = this.log.termAt(prevIndex);
    // Compacted below the peer's need: a snapshot is required (hook; retention is a later issue).
    if (prevTerm === undefined) return;
    const count = Math.min(this.limits.maxEntriesPerAppend, this.log.lastIndex - prevIndex);
    if (count <= 0 && !allowEmpty && progress.state === 'replicate') return;
    this.send({ type: 'append', from: this.selfId, to: peer, term: this.term, prevIndex, prevTerm, commit: this.log.committed, count: Math.max(0, count), entries: null });
    progress.sentAppend(asIndex(prevIndex + Math.max(0, count)), Math.max(0, count), this.nowTick());
  }

  /** Sends every peer what it lacks. */
  broadcastAppend(allowEmpty: boolean): void {
    for (const peer of this.progress.keys()) this.sendAppend(peer, allowEmpty);
  }

  /** Heartbeats every peer, with a commit index no higher than what the peer matches. */
  broadcastHeartbeat(): void {
    for (const [peer, progress] of this.progress) {
      const commit = asIndex(Math.min(progress.match, this.log.committed));
      this.send({ type: 'heartbeat', from: this.selfId, to: peer, term: this.term, commit });
    }
  }

  /** Handles a peer's answer to an append; returns whether the commit index moved. */
  onAppendResponse(message: AppendResponse): boolean {
    const progress = this.progress.get(message.from);
    if (progress === undefined) return false;
    progress.recentActive = true;
    progress.catchingUp = message.catchingUp === true;
    if (!message.success) {
      let suggestedNext = asIndex(message.hintIndex + 1);
      if (message.hintTerm > 0) suggestedNext = asIndex(this.log.findConflictByTerm(message.hintIndex, message.hintTerm).index + 1);
      if (progress.maybeDecrease(message.rejectedPrevIndex, suggestedNext)) this.sendAppend(message.from, false);
      return false;
    }
    // No correct peer of this term matches past our log: taking such a match would point the peer's
    // next append past the log, and replication to it would stop for the rest of the term.
    if (message.matchIndex > this.log.lastIndex) return false;
    // A probe answered at exactly the known match point also proves the peer in sync. During an
    // install the answers to the streamed entries only move the match point.
    if (progress.maybeUpdate(message.matchIndex) || (progress.match === message.matchIndex && progress.state === 'probe')) {
      if (progress.state === 'probe') {
        if (this.installDue(progress)) this.startInstall(message.from, progress);
        else progress.becomeReplicate();
      }
    }
    const committed = this.maybeCommit();
    if (this.transferee === message.from && progress.match === this.log.lastIndex) this.sendTimeoutNow(message.from);
    this.sendAppend(message.from, false);
    return committed;
  }

  /**
   * A heartbeat answer: the peer is alive, so a probe may go again. A peer whose oldest pipelined
   * append is unanswered after an election timeout lost it (or its answer): probe from its match.
   * A peer missing entries it matched (it lost its log) is probed too; its refusal there resets
   * its match (see Progress.maybeDecrease).
   */
  onHeartbeatResponse(peer: NodeId, missingEntries: boolean): void {
    const progress = this.progress.get(peer);
    if (progress === undefined) return;
    progress.recentActive = true;
    if (missingEntries && progress.state === 'replicate') progress.becomeProbe();
    if (progress.isStalled(this.nowTick(), this.limits.electionTicks)) progress.becomeProbe();
    progress.probeSent = false;
    if (progress.match < this.log.lastIndex || missingEntries) this.sendAppend(peer, false);
  }

  /** The transport lost its connection to `peer`: stop pipelining, probe from the match point. */
  reportUnreachable(peer: NodeId): void {
    const progress = this.progress.get(peer);
    if (progress !== undefined && progress.state === 'replicate') progress.becomeProbe();
  }

  /** The driver missed some entries of an append to `peer` (byte limit): resend from after `lastSent`. */
  reportShortAppend(peer: NodeId, lastSent: LogIndex): void {
    const progress = this.progress.get(peer);
    if (progress !== undefined && progress.state === 'replicate' && lastSent + 1 < progress.next) progress.becomeProbe();
  }

  /** Whether a peer now known in sync is far enough behind the commit index for an install. */
  private installDue(progress: Progress): boolean {
    const minEntries = this.limits.installMinEntries ?? 0;
    return minEntries > 0 && this.log.committed - progress.match >= minEntries && this.log.termAt(progress.match) !== undefined;
  }

  /** Stops appending to `peer` and asks the driver to stream it the committed entries after its match point. */
  private startInstall(peer: NodeId, progress: Progress): void {
    progress.becomeInstall();
    const prevIndex = progress.match;
    const prevTerm = this.log.termAt(prevIndex) ?? asTerm(0);
    this.send({ type: 'install', from: this.selfId, to: peer, term: this.term, prevIndex, prevTerm, commit: this.log.committed });
  }

  /** The driver's install stream to `peer` ended (either way): probe from its match point. */
  endInstall(peer: NodeId): void {
    const progress = this.progress.get(peer);
    if (progress?.state !== 'install') return;
    progress.becomeProbe();
    this.sendAppend(peer, false);
  }

  /**
   * Commits the highest index a majority of voters has durably, if it is of this leader's term
   * (entries of earlier terms commit only with it). This node counts with its persisted index. A
   * peer catching up after losing entries counts too: what it acknowledges it holds durably, and
   * as it does not vote, every election majority still includes a node that holds the entry.
   */
  maybeCommit(): boolean {
    const matches = this.membership.voters.map((voter) => (voter === this.selfId ? this.log.persistedIndex : this.progress.get(voter)?.match ?? asIndex(0)));
    const candidate = quorumMatchIndex(matches);
    if (candidate <= this.log.committed || this.log.termAt(candidate) !== this.term) return false;
    return this.log.commitTo(candidate);
  }

  /** Check-quorum: whether a majority of voters (this node included) was heard from; resets the marks. */
  checkQuorumActive(): boolean {
    let active = 0;
    for (const voter of this.membership.voters) {
      if (voter === this.selfId) active += 1;
      else if (this.progress.get(voter)?.recentActive) active += 1;
    }
    for (const progress of this.progress.values()) progress.recentActive = false;
    return active >= quorumSize(this.membership.voters.length);
  }

  /** Starts handing leadership to `peer`: TimeoutNow at once if it is caught up, else after it catches up. */
  startTransfer(peer: NodeId): void {
    this.transferee = peer;
    this.transferElapsedTicks = 0;
    const progress = this.progress.get(peer);
    if (progress !== undefined && progress.match === this.log.lastIndex) this.sendTimeoutNow(peer);
    else this.sendAppend(peer, false);
  }

  private sendTimeoutNow(peer: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.selfId, to: peer, term: this.term });
  }
}
