/**
 * The Raft consensus core, pure and deterministic (etcd-raft's shape). Inputs: {@link RaftCore.tick},
 * {@link RaftCore.step} (a message from a peer), {@link RaftCore.propose},
 * {@link RaftCore.transferLeadership}. Output: {@link RaftCore.ready}, one {@link Ready} at a time,
 * which the driver handles in the documented order and then acknowledges with
 * {@link RaftCore.advance}. No clock, timers, I/O or global randomness: time is ticks and the
 * randomized election timeout comes from the injected `random`.
 *
 * Protocol features: randomized election timeouts, pre-vote (a node that cannot win does not bump
 * terms), check-quorum (a leader that has not heard from a majority for an election timeout steps
 * down, and followers that have a live leader ignore vote requests), log replication with
 * pipelining and term-skipping conflict backtracking, commit only of current-term entries (a new
 * leader appends a no-op), leadership transfer (TimeoutNow), and hooks for membership changes.
 */
import { LeaderState } from './leader-state.js';
import type { ReplicationLimits } from './leader-state.js';
import { quorumSize } from './progress.js';
import { RaftLog } from './raft-log.js';
import type { StoredLogState } from './raft-log.js';
import { asIndex, asTerm } from './types.js';
import type {
  AppendRequest, AppendResponse, Entry, EntryKind, HardState, LogIndex, Membership, Message, NodeId, Ready, Refusal, Role, SoftState, Term, VoteRequest,
} from './types.js';

/**
 * Largest step up from this node's term that a message may carry. Terms grow by one per election,
 * so no correct peer is ever this far ahead; a lying or broken one that made this node take a term
 * near 2^53 would leave the group with terms the wire refuses (no safe integer past 2^53 - 1), and
 * without elections for good. Such a message is dropped.
 */
export const MAX_TERM_STEP = 2 ** 32;

/** Settings of one core; times are in ticks. */
export interface RaftConfig extends ReplicationLimits {
  id: NodeId;
  /** Base election timeout; each timeout is drawn from [electionTicks, 2 * electionTicks). */
  electionTicks: number;
  /** Leader heartbeat interval. */
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Seeded random source in [0, 1) (the only randomness the core uses). */
  random: () => number;
}

/** What the driver restores at startup: the durable hard state, membership and the stored log. */
export interface RaftBootState {
  hardState: HardState;
  membership: Membership;
  log: StoredLogState;
  /**
   * Set when this node's store lost, or may never have had, entries the group committed (a wiped
   * data directory, a log cut by recovery below what it had acknowledged). Such a node could make a
   * candidate that lacks committed entries look up to date, so it neither votes nor campaigns until
   * its commit index reaches `untilIndex`, or without one, the leader's commit index as carried by
   * the first append it gets from a leader. It still accepts and acknowledges entries (its acks are
   * true: they follow its own fsync).
   */
  catchUp?: { untilIndex: LogIndex | null };
}

/** Result of a successful proposal: where the entries landed (not yet committed). */
export interface Proposed {
  ok: true;
  term: Term;
  firstIndex: LogIndex;
  lastIndex: LogIndex;
}

/** See the file comment. */
export class RaftCore<P> {
  private readonly log: RaftLog<P>;
  private term: Term;
  private vote: NodeId | null;
  private roleValue: Role = 'follower';
  private leaderIdValue: NodeId | null = null;
  private membership: Membership;
  private leader: LeaderState<P> | null = null;
  /** Ticks since this core was created (logical time for the leader's stall detection). */
  private ticks = 0;
  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  private randomizedElectionTicks = 0;
  private votes = new Map<NodeId, boolean>();
  /** Index of the latest config entry proposed; another waits until it commits. */
  private pendingConfigIndex: LogIndex = asIndex(0);
  /**
   * The lowest config entry in the log not yet applied (told by the driver, which applies
   * memberships when its state machine applies the entries), or null. While a committed one waits
   * to be applied, this node's membership is stale: it does not campaign (etcd's rule), and as
   * leader it proposes no other config entry until every one is applied.
   */
  private unappliedConfigIndex: LogIndex | null = null;
  /** As leader: the index of the no-op that opened this leadership. */
  private leaderNoopIndex: LogIndex = asIndex(0);
  private messages: Array<Message<P>> = [];
  private messagesAfterPersist: Array<Message<P>> = [];
  private needsBroadcast = false;
  private persistedHardState: HardState;
  private lastSoftState: SoftState;
  private readyInFlight: { lastEntry: { index: LogIndex; term: Term } | null } | null = null;
  /** See {@link RaftBootState.catchUp}: null when this node votes normally, 'leader' until a leader's commit is known. */
  private catchUpTarget: LogIndex | 'leader' | null;

  constructor(
    private readonly config: RaftConfig,
    boot: RaftBootState,
  ) {
    if (config.electionTicks <= config.heartbeatTicks) throw new Error('electionTicks must exceed heartbeatTicks');
    this.log = new RaftLog<P>(boot.log);
    this.term = boot.hardState.term;
    this.vote = boot.hardState.vote;
    this.log.committed = asIndex(Math.min(boot.hardState.commit, boot.log.lastIndex));
    this.membership = boot.membership;
    this.persistedHardState = { ...boot.hardState };
    this.catchUpTarget = boot.catchUp === undefined ? null : (boot.catchUp.untilIndex ?? 'leader');
    this.maybeEndCatchUp();
    this.resetElectionTimer();
    this.lastSoftState = this.softState();
  }

  get id(): NodeId {
    return this.config.id;
  }

  get role(): Role {
    return this.roleValue;
  }

  get leaderId(): NodeId | null {
    return this.leaderIdValue;
  }

  get currentTerm(): Term {
    return this.term;
  }

  get commitIndex(): LogIndex {
    return this.log.committed;
  }

  get lastIndex(): LogIndex {
    return this.log.lastIndex;
  }

  /**
   * As leader, the index of the no-op that opened its term: every entry before it is committed once
   * it is. null when not leader.
   */
  get leaderStartIndex(): LogIndex | null {
    return this.roleValue === 'leader' ? this.leaderNoopIndex : null;
  }

  /** Whether this node is still catching up (no votes, no campaigns); see {@link RaftBootState.catchUp}. */
  get catchingUp(): boolean {
    return this.catchUpTarget !== null;
  }

  /** Term of a log entry (undefined past the end); for tests and status. */
  termAt(index: LogIndex): Term | undefined {
    return this.log.termAt(index);
  }

  /** Each peer's replication progress as this leader knows it; empty when not leader. */
  peerProgress(): Map<NodeId, { match: LogIndex; next: LogIndex; state: string; catchingUp: boolean }> {
    const result = new Map<NodeId, { match: LogIndex; next: LogIndex; state: string; catchingUp: boolean }>();
    if (!this.leader) return result;
    for (const peer of this.leader.peers()) {
      const progress = this.leader.progressOf(peer);
      if (progress) result.set(peer, { match: progress.match, next: progress.next, state: progress.state, catchingUp: progress.catchingUp });
    }
    return result;
  }

  /** Advances logical time by one tick. */
  tick(): void {
    this.ticks += 1;
    this.electionElapsedTicks += 1;
    if (this.roleValue === 'leader') {
      this.tickLeader();
    } else if (this.electionElapsedTicks >= this.randomizedElectionTicks && this.isPromotable()) {
      this.campaign(this.config.preVote ? 'preVote' : 'vote', false);
    }
  }

  /**
   * Proposes entries (leader only). Entries get consecutive indexes at the end of the log; they go
   * to the driver in the next Ready and to followers with it. Refused, not thrown, when this node
   * is not leader, a transfer is running, or a config change is still uncommitted.
   */
  propose(entries: ReadonlyArray<{ kind: EntryKind; data: P | null }>): Proposed | Refusal {
    if (this.roleValue !== 'leader' || !this.leader) return { ok: false, code: 'NOT_LEADER', leaderHint: this.leaderIdValue };
    if (this.leader.transferee !== null) return { ok: false, code: 'TRANSFER_IN_PROGRESS' };
    const hasConfig = entries.some((entry) => entry.kind === 'config');
    if (hasConfig && (this.pendingConfigIndex > this.log.committed || this.unappliedConfigIndex !== null)) return { ok: false, code: 'CONFIG_CHANGE_PENDING' };
    const firstIndex = asIndex(this.log.lastIndex + 1);
    this.log.appendOwn(entries.map((entry, i) => ({ index: asIndex(firstIndex + i), term: this.term, kind: entry.kind, data: entry.data })));
    if (hasConfig) this.pendingConfigIndex = this.log.lastIndex;
    this.needsBroadcast = true;
    // A group of one commits on its own fsync (at advance).
    return { ok: true, term: this.term, firstIndex, lastIndex: this.log.lastIndex };
  }

  /** Hands leadership to `target` (a caught-up voter gets TimeoutNow). Leader only. */
  transferLeadership(target: NodeId): { ok: true } | Refusal {
    if (this.roleValue !== 'leader' || !this.leader) return { ok: false, code: 'NOT_LEADER', leaderHint: this.leaderIdValue };
    if (target === this.config.id) return { ok: true };
    if (!this.membership.voters.includes(target)) return { ok: false, code: 'UNKNOWN_NODE' };
    if (this.leader.transferee === target) return { ok: true };
    this.leader.startTransfer(target);
    return { ok: true };
  }

  /**
   * Tells the core the lowest config entry in its log that the driver has not applied yet (null:
   * none). See `unappliedConfigIndex`; the driver calls it whenever that changes (an entry stored
   * or cut, a membership applied).
   */
  setUnappliedConfigIndex(index: LogIndex | null): void {
    this.unappliedConfigIndex = index;
  }

  /** The driver's transport lost its connection to `peer` (leader: re-probe it). */
  reportUnreachable(peer: NodeId): void {
    this.leader?.reportUnreachable(peer);
  }

  /** The driver's install stream to `peer` ended: replicate normally from the peer's match point. */
  endInstall(peer: NodeId): void {
    this.leader?.endInstall(peer);
  }

  /** The driver sent fewer entries to `peer` than an append named (byte limit): resume after `lastSent`. */
  reportShortAppend(peer: NodeId, lastSent: LogIndex): void {
    this.leader?.reportShortAppend(peer, lastSent);
  }

  /**
   * Applies a committed membership (single-server changes: the driver calls it when a config entry
   * is applied). A leader starts replicating to new members and forgets removed ones; a leader that
   * is no longer a voter steps down. Learners replicate but neither vote nor count towards commits.
   */
  applyMembership(membership: Membership): void {
    this.membership = membership;
    if (this.leader) {
      if (!membership.voters.includes(this.config.id)) {
        this.becomeFollower(this.term, null);
        return;
      }
      this.leader.resetPeers(membership);
      if (this.leader.transferee !== null && !membership.voters.includes(this.leader.transferee)) this.leader.transferee = null;
      // A removed voter may have held back the commit index; new members need probing now.
      if (this.leader.maybeCommit()) this.leader.broadcastAppend(true);
      this.needsBroadcast = true;
    }
  }

  /**
   * Handles one message from a peer. Messages for other nodes, from non-members, or more than
   * {@link MAX_TERM_STEP} terms ahead are dropped.
   */
  step(message: Message<P>): void {
    if (message.to !== this.config.id || !this.isMember(message.from)) return;
    if (message.term - this.term > MAX_TERM_STEP) return;
    if (message.term > this.term) {
      if (message.type === 'vote') {
        // A live leader's followers ignore campaigns (check-quorum lease), unless it is a transfer.
        const inLease = this.config.checkQuorum && this.leaderIdValue !== null && this.electionElapsedTicks < this.config.electionTicks;
        if (inLease && !message.transfer) return;
        if (!message.preVote) this.becomeFollower(message.term, null);
      } else if (message.type === 'voteResponse' && message.preVote && message.granted) {
        // A granted pre-vote carries the term we would campaign in: no change yet.
      } else {
        const leader = message.type === 'append' || message.type === 'heartbeat' || message.type === 'timeoutNow' ? message.from : null;
        this.becomeFollower(message.term, leader);
      }
    } else if (message.term < this.term) {
      if (message.type === 'append' || message.type === 'heartbeat') {
        // Tell a stale leader about the newer term so it steps down.
        this.respondAppend(message.from, false, asIndex(0), asIndex(0), asIndex(0), asTerm(0));
      } else if (message.type === 'vote' && message.preVote) {
        this.messagesAfterPersist.push({ type: 'voteResponse', from: this.config.id, to: message.from, term: this.term, preVote: true, granted: false });
      }
      return;
    }
    if (message.type === 'vote') {
      this.handleVote(message);
      return;
    }
    switch (this.roleValue) {
      case 'leader':
        this.stepLeader(message);
        break;
      case 'follower':
        this.stepFollower(message);
        break;
      default:
        this.stepCandidate(message);
    }
  }

  /**
   * The next batch of work, or null when there is none or the previous one is not yet advanced.
   * See {@link Ready} for the order in which the driver must handle it.
   */
  ready(): Ready<P> | null {
    if (this.readyInFlight) return null;
    if (this.needsBroadcast && this.leader) {
      this.leader.broadcastAppend(false);
      this.needsBroadcast = false;
    }
    const softState = this.softState();
    const hardState: HardState = { term: this.term, vote: this.vote, commit: this.log.committed };
    const hardChanged = hardState.term !== this.persistedHardState.term || hardState.vote !== this.persistedHardState.vote || hardState.commit !== this.persistedHardState.commit;
    const softChanged = softState.role !== this.lastSoftState.role || softState.leaderId !== this.lastSoftState.leaderId || softState.term !== this.lastSoftState.term;
    const { truncateAfter, entries } = this.log.takeUnstable();
    if (!hardChanged && !softChanged && truncateAfter === null && entries.length === 0 && this.messages.length === 0 && this.messagesAfterPersist.length === 0) return null;
    const ready: Ready<P> = {
      softState,
      hardState: hardChanged ? hardState : null,
      truncateAfter,
      entries,
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      commitIndex: this.log.committed,
    };
    this.messages = [];
    this.messagesAfterPersist = [];
    this.lastSoftState = softState;
    if (hardChanged) this.persistedHardState = hardState;
    const lastEntry = entries.at(-1);
    this.readyInFlight = { lastEntry: lastEntry ? { index: lastEntry.index, term: lastEntry.term } : null };
    return ready;
  }

  /** The driver finished the last Ready: its entries and hard state are durable. */
  advance(): void {
    const inFlight = this.readyInFlight;
    if (!inFlight) throw new Error('advance() without a Ready in flight');
    this.readyInFlight = null;
    if (inFlight.lastEntry !== null) this.log.markPersisted(inFlight.lastEntry.index, inFlight.lastEntry.term);
    if (this.leader && this.leader.maybeCommit()) this.leader.broadcastAppend(true);
  }

  private softState(): SoftState {
    return { role: this.roleValue, leaderId: this.leaderIdValue, term: this.term };
  }

  private isMember(id: NodeId): boolean {
    return this.membership.voters.includes(id) || this.membership.learners.includes(id);
  }

  private isPromotable(): boolean {
    const staleMembership = this.unappliedConfigIndex !== null && this.unappliedConfigIndex <= this.log.committed;
    return this.catchUpTarget === null && !staleMembership && this.membership.voters.includes(this.config.id);
  }

  /**
   * Ends catch-up once the commit index reached the target *and* holds an entry of the current
   * leader's term: the leader has every entry committed before its term (leader completeness), so
   * matching it past its own no-op means this node holds them all. The target alone is not
   * enough: a freshly elected leader's commit index, or an applied checkpoint, can lag behind what
   * was acknowledged.
   */
  private maybeEndCatchUp(): void {
    if (typeof this.catchUpTarget !== 'number' || this.leaderIdValue === null) return;
    if (this.log.committed >= this.catchUpTarget && this.log.termAt(this.log.committed) === this.term) this.catchUpTarget = null;
  }

  private resetElectionTimer(): void {
    this.electionElapsedTicks = 0;
    this.randomizedElectionTicks = this.config.electionTicks + Math.floor(this.config.random() * this.config.electionTicks);
  }

  private becomeFollower(term: Term, leaderId: NodeId | null): void {
    if (term > this.term) {
      this.term = term;
      this.vote = null;
    }
    this.roleValue = 'follower';
    this.leaderIdValue = leaderId;
    this.stopLeading();
    this.resetElectionTimer();
  }

  /**
   * Leaves leadership (if held) and drops the appends, heartbeats and TimeoutNows it queued: an
   * append names its entries by index and the driver reads them when it sends, so after a later
   * truncation in the same Ready it would carry another leader's entries under this leader's term.
   */
  private stopLeading(): void {
    if (this.leader === null) return;
    this.leader = null;
    this.messages = this.messages.filter((message) => message.type !== 'append' && message.type !== 'heartbeat' && message.type !== 'timeoutNow');
  }

  private campaign(kind: 'preVote' | 'vote', transfer: boolean): void {
    let campaignTerm: Term;
    if (kind === 'preVote') {
      this.roleValue = 'preCandidate';
      campaignTerm = asTerm(this.term + 1);
    } else {
      this.roleValue = 'candidate';
      this.term = asTerm(this.term + 1);
      this.vote = this.config.id;
      campaignTerm = this.term;
    }
    this.leaderIdValue = null;
    this.stopLeading();
    this.resetElectionTimer();
    this.votes = new Map([[this.config.id, true]]);
    if (this.hasVoteQuorum()) {
      if (kind === 'preVote') this.campaign('vote', transfer);
      else this.becomeLeader();
      return;
    }
    for (const voter of this.membership.voters) {
      if (voter === this.config.id) continue;
      // A real vote request depends on our durable vote for ourselves: send after persisting.
      const request: VoteRequest = {
        type: 'vote', from: this.config.id, to: voter, term: campaignTerm, preVote: kind === 'preVote', transfer,
        lastIndex: this.log.lastIndex, lastTerm: this.log.lastTerm,
      };
      if (kind === 'preVote') this.messages.push(request);
      else this.messagesAfterPersist.push(request);
    }
  }

  private becomeLeader(): void {
    this.roleValue = 'leader';
    this.leaderIdValue = this.config.id;
    this.heartbeatElapsedTicks = 0;
    this.electionElapsedTicks = 0;
    this.leader = new LeaderState<P>(this.config.id, this.term, this.membership, this.log, this.config, (message) => this.messages.push(message), () => this.ticks);
    // Entries of earlier terms commit only once an entry of this term does: append a no-op now.
    this.log.appendOwn([{ index: asIndex(this.log.lastIndex + 1), term: this.term, kind: 'noop', data: null }]);
    this.leaderNoopIndex = this.log.lastIndex;
    // Be conservative: an uncommitted config entry from an earlier term may sit in the log.
    this.pendingConfigIndex = this.log.lastIndex;
    this.needsBroadcast = true;
  }

  private hasVoteQuorum(): boolean {
    return this.countVotes(true) >= quorumSize(this.membership.voters.length);
  }

  private hasRejectQuorum(): boolean {
    return this.countVotes(false) >= quorumSize(this.membership.voters.length);
  }

  /** Voters whose answer this round was `granted`. */
  private countVotes(granted: boolean): number {
    return this.membership.voters.filter((voter) => this.votes.get(voter) === granted).length;
  }

  private handleVote(message: VoteRequest): void {
    const canVote = this.vote === message.from || (this.vote === null && this.leaderIdValue === null) || (message.preVote && message.term > this.term);
    const granted = canVote && this.catchUpTarget === null && this.log.isUpToDate(message.lastIndex, message.lastTerm) && this.membership.voters.includes(message.from);
    if (granted && !message.preVote) {
      this.vote = message.from;
      this.resetElectionTimer();
    }
    // A granted pre-vote answers in the campaign's term; anything else in ours.
    const term = granted && message.preVote ? message.term : this.term;
    this.messagesAfterPersist.push({ type: 'voteResponse', from: this.config.id, to: message.from, term, preVote: message.preVote, granted });
  }

  private tickLeader(): void {
    const leader = this.leader;
    if (!leader) return;
    this.heartbeatElapsedTicks += 1;
    if (leader.transferee !== null) {
      leader.transferElapsedTicks += 1;
      if (leader.transferElapsedTicks >= this.config.electionTicks) leader.transferee = null;
    }
    if (this.electionElapsedTicks >= this.config.electionTicks) {
      this.electionElapsedTicks = 0;
      if (this.config.checkQuorum && !leader.checkQuorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
    }
    if (this.heartbeatElapsedTicks >= this.config.heartbeatTicks) {
      this.heartbeatElapsedTicks = 0;
      leader.broadcastHeartbeat();
    }
  }

  private stepLeader(message: Message<P>): void {
    const leader = this.leader;
    if (!leader) return;
    switch (message.type) {
      case 'appendResponse':
        if (leader.onAppendResponse(message)) leader.broadcastAppend(true);
        break;
      case 'heartbeatResponse':
        leader.onHeartbeatResponse(message.from, message.missingEntries === true);
        break;
      default:
        // Another leader in our term cannot exist; stale votes and timeouts are ignored.
        break;
    }
  }

  private stepFollower(message: Message<P>): void {
    switch (message.type) {
      case 'append':
        this.leaderIdValue = message.from;
        this.electionElapsedTicks = 0;
        // An append carries the leader's full commit index (a heartbeat only what we match).
        if (this.catchUpTarget === 'leader') this.catchUpTarget = message.commit;
        this.handleAppend(message);
        this.maybeEndCatchUp();
        break;
      case 'heartbeat':
        this.leaderIdValue = message.from;
        this.electionElapsedTicks = 0;
        if (message.commit > this.log.committed && message.commit <= this.log.lastIndex) this.log.commitTo(message.commit);
        this.maybeEndCatchUp();
        if (message.commit > this.log.lastIndex) {
          this.messagesAfterPersist.push({ type: 'heartbeatResponse', from: this.config.id, to: message.from, term: this.term, missingEntries: true });
        } else {
          this.messagesAfterPersist.push({ type: 'heartbeatResponse', from: this.config.id, to: message.from, term: this.term });
        }
        break;
      case 'timeoutNow':
        if (this.isPromotable()) this.campaign('vote', true);
        break;
      default:
        break;
    }
  }

  private stepCandidate(message: Message<P>): void {
    switch (message.type) {
      case 'append':
      case 'heartbeat':
        // A leader exists in our term (or a pre-candidate's term): follow it.
        this.becomeFollower(message.term, message.from);
        this.stepFollower(message);
        break;
      case 'voteResponse': {
        if (message.preVote !== (this.roleValue === 'preCandidate')) return;
        this.votes.set(message.from, message.granted);
        if (this.hasVoteQuorum()) {
          if (this.roleValue === 'preCandidate') this.campaign('vote', false);
          else this.becomeLeader();
        } else if (this.hasRejectQuorum()) {
          this.becomeFollower(this.term, null);
        }
        break;
      }
      default:
        break;
    }
  }

  private handleAppend(message: AppendRequest<P>): void {
    let entries = message.entries ?? [];
    let prevIndex = message.prevIndex;
    let prevTerm = message.prevTerm;
    // A malformed append (entries not contiguous after prevIndex, or newer than the sender's term)
    // cannot come from a correct leader: drop it rather than let it near the log.
    if (entries.some((entry, i) => entry.index !== message.prevIndex + i + 1 || entry.term > message.term)) return;
    if (prevIndex < this.log.committed) {
      // Everything up to our commit index matches the leader already: take only what follows it
      // (an install chunk or a pipelined append that crossed a heartbeat may start earlier).
      const skip = this.log.committed - prevIndex;
      const atCommit = entries[skip - 1];
      if (atCommit === undefined) {
        this.respondAppend(message.from, true, this.log.committed, asIndex(0), asIndex(0), asTerm(0));
        return;
      }
      // A leader's entry at our commit index has its term: anything else did not come from one.
      if (atCommit.term !== this.log.termAt(this.log.committed)) return;
      entries = entries.slice(skip);
      prevIndex = atCommit.index;
      prevTerm = atCommit.term;
    }
    const matched = this.log.tryAppend(prevIndex, prevTerm, entries, message.commit, message.term);
    if (matched !== null) {
      this.respondAppend(message.from, true, matched, asIndex(0), asIndex(0), asTerm(0));
      return;
    }
    const hint = this.log.findConflictByTerm(prevIndex, prevTerm);
    this.respondAppend(message.from, false, asIndex(0), prevIndex, hint.index, hint.term);
  }

  private respondAppend(to: NodeId, success: boolean, matchIndex: LogIndex, rejectedPrevIndex: LogIndex, hintIndex: LogIndex, hintTerm: Term): void {
    // The answer tells whether this node still catches up, as of the entries it just took.
    this.maybeEndCatchUp();
    const response: AppendResponse = { type: 'appendResponse', from: this.config.id, to, term: this.term, success, matchIndex, rejectedPrevIndex, hintIndex, hintTerm };
    if (this.catchUpTarget !== null) response.catchingUp = true;
    this.messagesAfterPersist.push(response);
  }
}

export type { Entry };
