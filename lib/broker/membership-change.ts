/**
 * Single-server membership changes on the leader (admin `addMember` / `removeMember`): the new
 * membership is proposed as a CONFIG_CHANGE entry and answered once this node applied it. The
 * Raft core refuses a change while the previous one is uncommitted; this service adds what an
 * operator needs on top:
 *
 * - one change at a time, computed from a membership that includes every committed change (the
 *   leader applies everything committed before it reads the current membership);
 * - a learner is promoted only when caught up (its match index within `maxPromoteLagEntries` of
 *   the commit index, not catching up after a lost store, heard from recently): promoting a
 *   far-behind node would make commits wait for it;
 * - a change must leave a live majority of voters (members heard from within an election
 *   timeout), unless forced: removing a healthy voter while another is down would stop the group;
 * - the leader does not remove itself: hand leadership over first (`transferLeader`).
 */
import { LedgerError } from '../common/errors.js';
import type { RaftNode } from '../raft/driver/raft-node.js';
import { applyChange, coreMembership, describeMembership, encodeMembership } from '../raft/driver/group-membership.js';
import type { GroupMembership, MembershipChange } from '../raft/driver/group-membership.js';
import type { Logger } from '../common/logger.js';
import { EntryType } from '../store/record-format.js';
import type { ReplicatedLog } from './replicated-log.js';
import { requireLeader } from './replicated-log.js';

export interface MembershipChangerOptions {
  raft: RaftNode;
  log: ReplicatedLog;
  /** Resolves once the state machine applied entry `index`. */
  waitApplied: (index: number) => Promise<unknown>;
  logger: Logger;
  /** A learner this many entries or fewer behind the commit index may be promoted. */
  maxPromoteLagEntries: number;
}

/** See the file comment. */
export class MembershipChanger {
  private busy = false;

  constructor(private readonly options: MembershipChangerOptions) {}

  /** Applies `change` (see the file comment); resolves with the new membership and its entry's index. */
  async change(change: MembershipChange, force: boolean): Promise<{ membership: GroupMembership; index: number }> {
    const { raft, log } = this.options;
    requireLeader(log);
    if (this.busy) throw new LedgerError('PRECONDITION_FAILED', 'another membership change is in progress on this group');
    this.busy = true;
    try {
      // Every committed change applied: the membership read next is the group's latest.
      await this.options.waitApplied(log.commitIndex);
      requireLeader(log);
      const self = log.leadership().nodeId;
      if (change.kind === 'remove' && change.id === self) {
        throw new LedgerError('PRECONDITION_FAILED', `${self} leads the group: hand leadership to another member first (transferLeader), then remove it`);
      }
      const next = applyChange(raft.membership, change);
      if (change.kind === 'promote') this.requireCaughtUp(change.id);
      if (!force && change.kind !== 'addLearner') this.requireLiveMajority(next, self);
      this.options.logger.info({ change, from: describeMembership(raft.membership), to: describeMembership(next) }, 'proposing a membership change');
      const [position] = await log.propose([{ type: EntryType.CONFIG_CHANGE, body: encodeMembership(next) }]);
      await this.options.waitApplied(position.index);
      return { membership: raft.membership, index: position.index };
    } finally {
      this.busy = false;
    }
  }

  private requireCaughtUp(id: string): void {
    const { raft, log } = this.options;
    const peer = raft.peerStatuses().find((p) => p.id === id);
    if (peer === undefined) throw new LedgerError('PRECONDITION_FAILED', `the leader has no replication state for ${id}`);
    const behind = log.commitIndex - peer.matchIndex;
    if (peer.lastContactMsAgo === null || peer.lastContactMsAgo > raft.livenessWindowMs) {
      throw new LedgerError('PRECONDITION_FAILED', `learner ${id} is not answering (last contact: ${peer.lastContactMsAgo === null ? 'never' : `${peer.lastContactMsAgo} ms ago`})`);
    }
    if (peer.catchingUp || behind > this.options.maxPromoteLagEntries) {
      throw new LedgerError('PRECONDITION_FAILED', `learner ${id} is still catching up: ${behind} entries behind the commit index ${log.commitIndex}${peer.catchingUp ? ', refetching lost entries' : ''}`);
    }
  }

  private requireLiveMajority(next: GroupMembership, self: string): void {
    const { raft } = this.options;
    const voters = coreMembership(next).voters;
    const live = new Set([self, ...raft.peerStatuses().filter((p) => p.lastContactMsAgo !== null && p.lastContactMsAgo <= raft.livenessWindowMs).map((p) => p.id)]);
    const liveVoters = voters.filter((id) => live.has(id));
    const majority = Math.floor(voters.length / 2) + 1;
    if (liveVoters.length < majority) {
      throw new LedgerError('PRECONDITION_FAILED', `after this change only ${liveVoters.length} of ${voters.length} voters (${voters.join(',')}) would be live, fewer than the majority of ${majority}: the group would stop taking writes (force to do it anyway)`);
    }
  }
}
