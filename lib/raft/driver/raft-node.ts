/**
 * The Raft driver of one broker node: it owns the {@link RaftCore}, a ticker, the transport and the
 * storage (the CommitLog is the Raft log; term and vote live in a {@link HardStateStore}), and
 * handles each Ready in the core's documented order:
 *
 * 1. cut the log after `truncateAfter`; 2. append the entries (written, not yet fsynced) and start
 * writing a changed term/vote; 3. send `messages` (a leader's appends leave while its fsync runs);
 * 4. fsync the log and the hard state, then send `messagesAfterPersist` (votes, append answers);
 * 5. publish the commit index; 6. `advance()`.
 *
 * One Ready is handled at a time; proposals and messages arriving meanwhile join the next one, so
 * one fsync covers all of them (group commit). A storage failure is fatal: the node stops taking
 * part (it must not answer from a log it cannot trust) and `onFatal` is called.
 */
import { CorruptRecordError, NotLeaderError, LedgerError } from '../../common/errors.js';
import type { RaftCore } from '../core/raft-core.js';
import { asIndex } from '../core/types.js';
import type { AppendRequest, Message, NodeId, Ready, Role } from '../core/types.js';
import { configEntriesAfter, readAppendRecords } from './append-reader.js';
import { CommitWaiters } from './commit-waiters.js';
import { MembershipTracker } from './membership-tracker.js';
import { PeerLiveness } from './peer-liveness.js';
import { bootCore, mergeCatchUp } from './core-boot.js';
import { coreMembership, describeMembership, peerAddresses } from './group-membership.js';
import type { GroupMembership } from './group-membership.js';
import type { CommittedRange } from './commit-waiters.js';
import { InstallScheduler } from './install-scheduler.js';
import type { InstallStep } from './install-stream.js';
import { RaftTransport } from './raft-transport.js';
import type { PeerStatus, ProposedRecord, RaftLeadership, RaftMetricsView, RaftNodeOptions } from './raft-node-options.js';
import { kindOf, toAppendEntry } from './record-payload.js';
import type { RecordPayload } from './record-payload.js';


export type { HardStateStore, PeerStatus, ProposedRecord, RaftLeadership, RaftMetricsView, RaftNodeOptions, RaftNodeSettings } from './raft-node-options.js';

/** See the file comment. */
export class RaftNode {
  private readonly waiters = new CommitWaiters();
  private readonly liveness: PeerLiveness;
  private readonly commitListeners: Array<(commitIndex: number) => void> = [];
  private readonly leadershipListeners: Array<(view: RaftLeadership) => void> = [];
  private readonly membershipListeners: Array<(membership: GroupMembership) => void> = [];
  private readonly members: MembershipTracker;
  private transport!: RaftTransport;
  private installs!: InstallScheduler;
  private installedEntriesReceived = 0;
  private ticker: NodeJS.Timeout | undefined;
  private committed: number;
  private persistedTerm: number;
  private persistedVote: string | null;
  private draining = false;
  private drained: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  private closed = false;
  private readonly stats = { readies: 0, fsyncs: 0, proposals: 0, proposalsFailed: 0, leaderChanges: 0, repairs: 0 };
  /** Set while the node cuts its damaged log and rebuilds its core (see {@link repair}). */
  private repairing = false;
  /** Whether the store holds a catch-up marker still to clear. */
  private catchUpPersisted = false;
  private catchUpEndedAt: number | null = null;

  private constructor(
    private readonly options: RaftNodeOptions,
    private core: RaftCore<RecordPayload>,
    hardState: { term: number; vote: string | null },
  ) {
    this.committed = core.commitIndex;
    this.members = new MembershipTracker(
      { id: options.id, raftAddress: options.listenAddress }, options.membership, options.joining === true,
      // Entries up to knownCommitted were replayed before this start, config entries up to the META checkpoint applied.
      Math.max(options.knownCommitted, options.configAppliedThrough ?? 0),
    );
    this.liveness = new PeerLiveness(options.settings.tickMs * options.settings.electionTicks);
    this.persistedTerm = hardState.term;
    this.persistedVote = hardState.vote;
  }

  /** Boots the core from the CommitLog and the hard state, binds the transport, starts ticking. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const log = options.commitLog;
    const hardState = options.hardState.load();
    const persistedCatchUp = options.hardState.loadCatchUp();
    const catchUp = mergeCatchUp(options.catchUp, persistedCatchUp);
    if (catchUp !== null && (persistedCatchUp === null || persistedCatchUp.untilIndex !== catchUp.untilIndex)) {
      await options.hardState.saveCatchUp(catchUp);
    }
    const core = await bootCore({
      id: options.id, membership: coreMembership(options.membership), commitLog: log, hardState, knownCommitted: options.knownCommitted, catchUp, settings: options.settings, random: options.random ?? Math.random, logger: options.logger,
    });
    const node = new RaftNode(options, core, hardState);
    node.catchUpPersisted = catchUp !== null;
    node.noteConfigEntries(null, await configEntriesAfter(log, options.knownCommitted));
    const listenAddress = options.listenAddress;
    const peers = peerAddresses(options.membership, options.id);
    node.transport = await RaftTransport.start({
      selfId: options.id,
      group: options.group,
      brokerAddress: options.brokerAddress,
      listenAddress,
      peers,
      receive: (message) => node.receive(message),
      storeInstalled: (append) => node.storeInstalled(append),
      hooks: { loadAppend: (message) => node.loadAppend(message), onUnreachable: (peer) => node.unreachable(peer) },
      logger: options.logger,
      maxQueuedMessages: options.settings.maxQueuedMessagesPerPeer,
      reconnectDelayMs: Math.max(options.settings.tickMs, 50),
      maxMessageBytes: options.settings.maxAppendBytes + 80 * 1024 * 1024,
      clusterAuth: options.clusterAuth ?? null,
      tls: options.tls ?? null,
      onRefused: options.onPeerRefused,
    });
    node.installs = new InstallScheduler({
      selfId: options.id,
      core: () => node.core,
      commitLog: log,
      committed: () => node.committed,
      running: () => !node.closed && node.failed === null && !node.repairing,
      send: (peer, start, chunks) => node.transport.install(peer, start, chunks),
      onEnded: () => node.kick(),
      onReadError: (error, index) => node.repairOnDamage(error, index - 1),
      chunkBytes: options.settings.installChunkBytes,
      logger: options.logger,
    });
    node.ticker = setInterval(() => node.tick(), options.settings.tickMs);
    options.logger.info({ node: options.id, term: hardState.term, vote: hardState.vote, lastIndex: log.lastIndex, commit: core.commitIndex, members: describeMembership(options.membership) }, 'raft node started');
    return node;
  }

  get commitIndex(): number {
    return this.committed;
  }

  isLeader(): boolean {
    return this.failed === null && this.core.role === 'leader';
  }

  leadership(): RaftLeadership {
    const leaderId = this.core.leaderId;
    return {
      role: this.core.role,
      term: this.core.currentTerm,
      leaderId,
      leaderAddress: leaderId === null ? null : this.transport.brokerAddressOf(leaderId),
      commitIndex: this.committed,
    };
  }

  /** Called (synchronously, in order) each time the commit index advances. */
  onCommit(listener: (commitIndex: number) => void): void {
    this.commitListeners.push(listener);
  }

  /** The membership this node last adopted. */
  get membership(): GroupMembership {
    return this.members.membership;
  }

  /** Whether this node still joins its group: no applied membership has named it yet (RaftNodeOptions.joining). */
  get joiningGroup(): boolean {
    return this.members.joining;
  }

  /** Whether this node is still a member of its group (false once its removal was applied). */
  get isMember(): boolean {
    return this.members.isMember;
  }

  /**
   * Adopts a committed membership (the state machine applied a CONFIG_CHANGE entry at `index`):
   * the core counts votes and commits over the new voters, the transport links to added members and
   * drops removed ones. A node that finds itself removed stops campaigning. See MembershipTracker.
   */
  applyMembership(applied: GroupMembership, index: number): void {
    const membership = this.members.adopt(applied, index);
    this.noteConfigEntries(null, []);
    if (this.closed || this.failed !== null) return;
    this.transport.setPeers(peerAddresses(membership, this.options.id));
    if (!this.repairing) this.core.applyMembership(coreMembership(membership));
    this.liveness.keepOnly(new Set(membership.members.map((m) => m.id)));
    this.options.logger.info({ members: describeMembership(membership), member: this.isMember }, this.isMember ? 'group membership changed' : 'this node was removed from its group: it takes no further part; stop it');
    for (const listener of this.membershipListeners) listener(membership);
    this.kick();
  }

  /** Records config entries stored or cut, and tells the core the lowest one not applied yet. */
  private noteConfigEntries(truncateAfter: number | null, added: readonly number[]): void {
    this.members.noteEntries(truncateAfter, added);
    const lowest = this.members.lowestUnapplied;
    this.core.setUnappliedConfigIndex(lowest === null ? null : asIndex(lowest));
  }

  /** Called after each membership change this node adopts. */
  onMembershipChange(listener: (membership: GroupMembership) => void): void {
    this.membershipListeners.push(listener);
  }

  /** Called when the role, term or known leader changes. */
  onLeadershipChange(listener: (view: RaftLeadership) => void): void {
    this.leadershipListeners.push(listener);
  }

  /**
   * Proposes records as leader; resolves once they are committed (durable on a majority, this node
   * included). Rejects with NotLeaderError when not leader (with the leader's address when known),
   * NOT_LEADER when a newer leader replaced the entries, MASTER_PERSISTENCE_TIMEOUT when the
   * outcome is unknown after `proposalTimeoutMs`.
   */
  propose(records: readonly ProposedRecord[]): Promise<CommittedRange> {
    if (this.failed !== null) return Promise.reject(new LedgerError('INTERNAL_SERVER_ERROR', 'raft node stopped after a storage failure'));
    if (this.repairing) return Promise.reject(new NotLeaderError(null, null));
    if (this.closed) return Promise.reject(new LedgerError('INTERNAL_SERVER_ERROR', 'raft node is closed'));
    const storeTimestampMs = Date.now();
    const result = this.core.propose(records.map((record) => ({ kind: kindOf(record.type), data: { type: record.type, storeTimestampMs, body: record.body } })));
    if (!result.ok) {
      if (result.code === 'NOT_LEADER') {
        const view = this.leadership();
        return Promise.reject(new NotLeaderError(view.leaderId, view.leaderAddress));
      }
      // Leadership is being handed over: clients retry as after NOT_LEADER, and find the new leader.
      if (result.code === 'TRANSFER_IN_PROGRESS') return Promise.reject(new NotLeaderError(null, null, 'leadership is being handed over'));
      return Promise.reject(new LedgerError('HA_NOT_AVAILABLE', `proposal refused: ${result.code}`));
    }
    this.stats.proposals += 1;
    const waiting = this.waiters.add({ firstIndex: result.firstIndex, lastIndex: result.lastIndex, term: result.term }, Date.now() + this.options.settings.proposalTimeoutMs);
    // Counted on a branch of its own; the caller still gets the rejection.
    waiting.then(undefined, () => {
      this.stats.proposalsFailed += 1;
    });
    this.kick();
    return waiting;
  }

  /** Asks the leader (this node) to hand leadership to `target`. */
  transferLeadership(target: NodeId): void {
    const result = this.core.transferLeadership(target);
    if (!result.ok) {
      if (result.code === 'NOT_LEADER') throw new NotLeaderError(result.leaderHint, result.leaderHint === null ? null : this.transport.brokerAddressOf(result.leaderHint));
      throw new LedgerError('PRECONDITION_FAILED', `cannot transfer leadership: ${result.code}`);
    }
    this.kick();
  }

  /** State and cumulative counters for metrics. */
  metricsView(): RaftMetricsView {
    const { voters, learners } = coreMembership(this.members.membership);
    return {
      role: this.failed !== null ? 'follower' : this.core.role,
      term: this.core.currentTerm,
      leaderId: this.failed !== null ? null : this.core.leaderId,
      commitIndex: this.committed,
      leaderChanges: this.stats.leaderChanges,
      proposalsFailed: this.stats.proposalsFailed,
      pendingProposals: this.waiters.size,
      installsSent: this.installs.stats.installsSent,
      installedEntriesSent: this.installs.stats.installedEntriesSent,
      installedEntriesReceived: this.installedEntriesReceived,
      voters: voters.length,
      learners: learners.length,
      peers: [...this.core.peerProgress()].map(([id, progress]) => ({ id, matchIndex: progress.match })),
      lastIndex: this.options.commitLog.lastIndex,
    };
  }

  /** Each peer's replication state as this node (the leader) sees it; empty on a non-leader. */
  peerStatuses(): PeerStatus[] {
    return this.liveness.statuses(this.core.peerProgress());
  }

  /** How long a peer may stay silent and still count as live (one election timeout). */
  get livenessWindowMs(): number {
    return this.liveness.windowMs;
  }

  /** The `/status` view: role, term, indexes, and each peer's replication state when leader. */
  status(): Record<string, unknown> {
    const view = this.leadership();
    const peers = this.peerStatuses();
    const { voters, learners } = coreMembership(this.members.membership);
    return {
      ...view,
      voters,
      learners,
      lastIndex: this.options.commitLog.lastIndex,
      durableIndex: this.options.commitLog.durableIndex,
      peers,
      pendingProposals: this.waiters.size,
      transport: this.transport.stats,
      failed: this.failed !== null,
      repairing: this.repairing,
      catchingUp: this.core.catchingUp,
      ...this.stats,
      ...this.installs.stats,
      installedEntriesReceived: this.installedEntriesReceived,
    };
  }

  /**
   * Voting followers (leader's view) whose log matches this one up to at least `index`, not catching up,
   * heard from within the last election timeout (a stopped node keeps its old match index), with
   * the broker address they announced; empty on a non-leader.
   */
  followersHolding(index: number): Array<{ nodeId: string; address: string }> {
    const voters = new Set(coreMembership(this.members.membership).voters);
    voters.delete(this.options.id);
    return this.liveness.holding(this.core.peerProgress(), index, voters, (peer) => this.transport.brokerAddressOf(peer));
  }

  /** Stops ticking and closes the transport; pending proposals fail. Does not close the CommitLog. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    await this.transport.close();
    // Let the Ready in hand finish (the loop stops after it) before the caller closes the log.
    await this.drained;
    this.waiters.failAll(new LedgerError('INTERNAL_SERVER_ERROR', 'raft node is closing'));
  }

  private tick(): void {
    if (this.failed !== null || this.closed || this.repairing) return;
    this.core.tick();
    this.waiters.expire(Date.now());
    this.kick();
  }

  /**
   * One install chunk from the leader: handled as the append it is, then durable once the Ready
   * loop that took it has finished. Refused when the core did not keep the chunk's last entry (the
   * log does not match after the chunk's start, or a newer term).
   */
  private async storeInstalled(append: AppendRequest<RecordPayload>): Promise<InstallStep> {
    const entries = append.entries ?? [];
    const last = entries[entries.length - 1];
    if (this.repairing) return { stored: false, detail: 'repairing its log' };
    if (last === undefined) return { stored: true, matchIndex: append.prevIndex };
    if (this.options.acceptsEntries?.() === false) return { stored: false, detail: 'its disk is nearly full' };
    this.receive(append);
    if (this.core.termAt(last.index) !== last.term) return { stored: false, detail: `the log does not match the leader's after ${append.prevIndex} (or the term moved on)` };
    await this.drained;
    if (this.options.commitLog.durableIndex < last.index || this.core.termAt(last.index) !== last.term) {
      return { stored: false, detail: this.failed !== null || this.closed ? 'node stopped' : `entry ${last.index} was not stored` };
    }
    this.installedEntriesReceived += entries.length;
    return { stored: true, matchIndex: last.index };
  }

  private receive(message: Message<RecordPayload>): void {
    this.liveness.heard(message.from);
    if (this.failed !== null || this.closed || this.repairing) return;
    // Dropped like a lost message (Raft copes: the leader resends), so a nearly full disk never
    // meets an ENOSPC halfway through a record; heartbeats and votes still pass.
    if (message.type === 'append' && (message.entries?.length ?? 0) > 0 && this.options.acceptsEntries?.() === false) return;
    try {
      this.core.step(message);
    } catch (error) {
      // An invariant of the core broke: stop taking part rather than guess.
      this.fail(error);
      return;
    }
    this.kick();
  }

  private unreachable(peer: NodeId): void {
    if (this.failed !== null || this.closed || this.repairing) return;
    this.core.reportUnreachable(peer);
  }

  /** Starts handling Readies unless already doing so. */
  private kick(): void {
    if (this.draining || this.failed !== null || this.closed || this.repairing) return;
    this.draining = true;
    this.drained = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      for (let ready = this.core.ready(); ready !== null && !this.closed; ready = this.core.ready()) {
        await this.handle(ready);
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.draining = false;
    }
  }

  private async handle(ready: Ready<RecordPayload>): Promise<void> {
    this.stats.readies += 1;
    this.publishLeadership(ready);
    const log = this.options.commitLog;
    if (ready.truncateAfter !== null) {
      if (ready.truncateAfter < this.committed) throw new Error(`raft asked to cut the log after ${ready.truncateAfter}, below the commit index ${this.committed}`);
      await log.truncateAfter(ready.truncateAfter);
      this.waiters.truncated(ready.truncateAfter);
    }
    const hard = ready.hardState;
    const hardWrite = hard !== null && (hard.term !== this.persistedTerm || hard.vote !== this.persistedVote)
      ? this.options.hardState.save({ term: hard.term, vote: hard.vote }).then(() => {
        this.persistedTerm = hard.term;
        this.persistedVote = hard.vote;
      })
      : null;
    // Awaited below; a failure before that must not surface as an unhandled rejection.
    hardWrite?.catch(() => undefined);
    this.noteConfigEntries(ready.truncateAfter, ready.entries.filter((entry) => entry.kind === 'config').map((entry) => entry.index));
    if (ready.entries.length > 0) {
      const first = ready.entries[0].index;
      if (first !== log.lastIndex + 1) throw new Error(`raft entry ${first} does not follow the log's last index ${log.lastIndex}`);
      const now = Date.now();
      const started = process.hrtime.bigint();
      await log.append(ready.entries.map((entry) => toAppendEntry(entry, now)));
      this.options.observeDisk?.('append', Number(process.hrtime.bigint() - started) / 1e9);
    }
    for (const message of ready.messages) {
      if (message.type === 'install') this.installs.start(message);
      else this.transport.send(message);
    }
    if (ready.entries.length > 0) {
      const started = process.hrtime.bigint();
      await log.flush();
      this.options.observeDisk?.('fsync', Number(process.hrtime.bigint() - started) / 1e9);
      this.stats.fsyncs += 1;
    }
    if (hardWrite !== null) await hardWrite;
    // A node that found its log damaged promises nothing (votes, append answers) until repaired.
    if (!this.repairing) for (const message of ready.messagesAfterPersist) this.transport.send(message);
    if (ready.commitIndex > this.committed) {
      this.committed = ready.commitIndex;
      this.waiters.committed(this.committed, (index) => this.core.termAt(asIndex(index)));
      for (const listener of this.commitListeners) listener(this.committed);
    }
    this.core.advance();
    if (this.catchUpPersisted && !this.core.catchingUp) {
      // The core may have ended catch-up on a commit index whose entries are not durable yet:
      // clear the marker only once the published (durable) commit index got there.
      this.catchUpEndedAt ??= this.core.commitIndex;
      if (this.committed >= this.catchUpEndedAt) {
        await this.options.hardState.saveCatchUp(null);
        this.catchUpPersisted = false;
        this.options.logger.info({ commitIndex: this.committed }, 'caught up with the group; taking part in elections again');
      }
    }
  }

  private lastPublished: { role: Role; term: number; leaderId: NodeId | null } | null = null;

  /**
   * As leader: the index of the first entry of its term (its no-op); every earlier entry is
   * committed once this one is. MAX_SAFE_INTEGER when not leader.
   */
  get leaderFirstIndex(): number {
    return this.core.leaderStartIndex ?? Number.MAX_SAFE_INTEGER;
  }

  private publishLeadership(ready: Ready<RecordPayload>): void {
    const soft = ready.softState;
    const last = this.lastPublished;
    if (last !== null && last.role === soft.role && last.term === soft.term && last.leaderId === soft.leaderId) return;
    // etcd counts the first leader a node learns of as a change too.
    if (soft.leaderId !== null && (last === null || last.leaderId !== soft.leaderId)) this.stats.leaderChanges += 1;
    this.lastPublished = { role: soft.role, term: soft.term, leaderId: soft.leaderId };
    this.options.logger.info({ role: soft.role, term: soft.term, leader: soft.leaderId }, 'raft role changed');
    const view = this.leadership();
    for (const listener of this.leadershipListeners) listener(view);
  }

  /**
   * The records an append names, read from the log: up to `maxAppendBytes` (at least one). Returns
   * null when the log no longer matches the append (cut since), so it is not sent. A short read is
   * reported so the leader resumes after the last record sent.
   */
  private async loadAppend(message: AppendRequest<RecordPayload>): Promise<Buffer[] | null> {
    try {
      return await this.readAppend(message);
    } catch (error) {
      if (!this.repairOnDamage(error, message.prevIndex)) throw error;
      return null;
    }
  }

  private async readAppend(message: AppendRequest<RecordPayload>): Promise<Buffer[] | null> {
    const { records, short } = await readAppendRecords(this.options.commitLog, message, this.options.settings.maxAppendBytes);
    if (records !== null && short) this.core.reportShortAppend(message.to, asIndex(message.prevIndex + records.length));
    return records;
  }

  /** Whether the node is repairing its log or still refetching what it cut (committed entries may be missing). */
  get restoringLog(): boolean {
    return this.repairing || (this.stats.repairs > 0 && this.core.catchingUp);
  }

  /**
   * Reports a message found damaged at absolute log position `position` by a read that bypassed
   * the Raft log's checks (a consumer read): starts {@link repair} if the record holding it fails
   * its CRC on disk. An intact record means the damage is elsewhere (a ConsumeQueue unit), which
   * refetching the log would not mend: it is only logged.
   */
  reportDamagedPosition(position: number, cause: unknown): void {
    if (this.repairing || this.failed !== null || this.closed) return;
    const log = this.options.commitLog;
    log.indexAtPosition(position)
      .then(async (index) => {
        try {
          await log.verifyOnDisk(index);
        } catch (error) {
          if (this.repairOnDamage(error, index - 1)) return;
          throw error;
        }
        this.options.logger.warn({ err: cause, position, index }, 'a message read failed but its CommitLog record is intact: the damage is not in the log; not repairing');
      })
      .catch((error: unknown) => this.options.logger.error({ err: error, position }, 'cannot check a damaged record'));
  }

  /**
   * If `error` is a damaged record of the log, starts {@link repair} and returns true. The cut
   * starts at the damaged entry when its index is known; otherwise (a damaged header found while
   * walking to `fallbackIndex + 1`) at the start of its segment, the last point reachable without
   * crossing the damage.
   */
  repairOnDamage(error: unknown, fallbackIndex: number): boolean {
    if (!(error instanceof CorruptRecordError)) return false;
    let index = error.index;
    if (index === undefined) {
      try {
        index = this.options.commitLog.firstIndexOfSegmentAt(error.position);
      } catch {
        index = fallbackIndex + 1;
      }
    }
    this.repair(index, error).catch((repairError: unknown) => this.fail(repairError));
    return true;
  }

  /**
   * A record at `index` is damaged. While the node repairs it acknowledges nothing (no votes, no
   * append answers). It persists a catch-up marker at the highest index it may have acknowledged
   * (never lowering an existing one), then cuts its log before the record and restarts the core
   * from the shortened log as a follower that does not vote until it has caught up past the
   * marker: a leader thereby gives up leadership, the others elect a new one, and the cut entries
   * come back from it. The commit index already published is kept (those entries are committed in
   * the group); the state machine waits for them. After the cut the log holds only verified
   * entries, so its answers count towards commits like any follower's.
   */
  async repair(index: number, cause: unknown): Promise<void> {
    if (this.repairing || this.failed !== null || this.closed) return;
    this.repairing = true;
    this.stats.repairs += 1;
    const log = this.options.commitLog;
    try {
      // The Ready in hand finishes (its answers are dropped); nothing new is stepped meanwhile.
      await this.drained;
      if (this.failed !== null || this.closed) return;
      const previous = this.options.hardState.loadCatchUp()?.untilIndex ?? 0;
      const untilIndex = Math.max(log.lastIndex, this.core.lastIndex, previous);
      this.options.logger.error({ err: cause, index, lastIndex: log.lastIndex, untilIndex }, 'damaged record in the raft log: cutting the log before it and fetching the rest from the leader');
      // They may have committed on the others: the outcome is unknown, as on a commit timeout.
      this.waiters.failAll(new LedgerError('MASTER_PERSISTENCE_TIMEOUT', 'this node is repairing its log; the write may still commit on the group'));
      // The marker first: a crash between the two restarts in catch-up mode.
      await this.options.hardState.saveCatchUp({ untilIndex });
      this.catchUpPersisted = true;
      this.catchUpEndedAt = null;
      await log.truncateAfter(Math.max(index - 1, log.firstIndex - 1));
      this.core = await bootCore({
        id: this.options.id,
        membership: coreMembership(this.members.membership),
        commitLog: log,
        hardState: { term: this.persistedTerm, vote: this.persistedVote },
        knownCommitted: this.committed,
        catchUp: { untilIndex },
        settings: this.options.settings,
        random: this.options.random ?? Math.random,
        logger: this.options.logger,
      });
    } catch (error) {
      if (!this.closed) this.fail(error);
      return;
    } finally {
      this.repairing = false;
    }
    if (this.failed !== null || this.closed) return;
    // A membership applied while the core was rebuilt; the cut dropped config entries past the log's end.
    this.core.applyMembership(coreMembership(this.members.membership));
    this.noteConfigEntries(log.lastIndex, []);
    this.lastPublished = null;
    const view = this.leadership();
    this.lastPublished = { role: view.role, term: view.term, leaderId: view.leaderId };
    for (const listener of this.leadershipListeners) listener(view);
    this.kick();
  }

  private fail(error: unknown): void {
    if (this.failed !== null) return;
    this.failed = error;
    clearInterval(this.ticker);
    this.options.logger.fatal({ err: error }, 'raft node failed; it takes no further part in the group');
    this.waiters.failAll(new LedgerError('INTERNAL_SERVER_ERROR', 'raft node stopped after a storage failure', { cause: error }));
    this.options.onFatal(error);
  }
}
