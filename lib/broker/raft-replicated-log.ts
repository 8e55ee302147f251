/**
 * The broker's {@link ReplicatedLog} on a Raft group: proposals go through lib/raft's driver and
 * resolve once committed (fsynced on a majority).
 */
import type { RaftNode } from '../raft/driver/raft-node.js';
import type { CommittedPosition, LeadershipView, ProposedEntry, ReplicatedLog } from './replicated-log.js';

export class RaftReplicatedLog implements ReplicatedLog {
  /**
   * @param appliedIndex the state machine's applied index: a new leader takes writes and pops only
   *   once it has applied every entry before its term (its view of topics and consumer progress is
   *   then complete).
   */
  constructor(
    private readonly node: RaftNode,
    private readonly nodeId: string,
    private readonly appliedIndex: () => number,
  ) {}

  async propose(entries: readonly ProposedEntry[]): Promise<CommittedPosition[]> {
    if (entries.length === 0) return [];
    const range = await this.node.propose(entries);
    return entries.map((_, i) => ({ index: range.firstIndex + i, term: range.term }));
  }

  get commitIndex(): number {
    return this.node.commitIndex;
  }

  onCommit(listener: (commitIndex: number) => void): void {
    this.node.onCommit(listener);
  }

  /**
   * Leadership as the broker serves it: a Raft leader that has not yet applied every entry before
   * its term reports itself a `candidate` with no leader, so nobody is routed to it too early.
   */
  leadership(): LeadershipView {
    const view = this.node.leadership();
    const servingLeader = view.role === 'leader' && this.isLeader();
    const catchingUp = view.role === 'leader' && !servingLeader;
    return {
      nodeId: this.nodeId,
      role: servingLeader ? 'leader' : view.role === 'follower' ? 'follower' : 'candidate',
      term: view.term,
      leaderId: catchingUp ? null : view.leaderId,
      leaderAddress: catchingUp ? null : view.leaderAddress,
      commitIndex: view.commitIndex,
    };
  }

  /** Called when this node's leadership changes, and again once a new leader serves. */
  onLeadershipChange(listener: () => void, waitApplied: (index: number) => Promise<unknown>): void {
    this.node.onLeadershipChange((view) => {
      listener();
      if (view.role === 'leader') {
        waitApplied(this.node.leaderFirstIndex).then(listener, () => undefined);
      }
    });
  }

  isLeader(): boolean {
    return this.node.isLeader() && this.appliedIndex() >= this.node.leaderFirstIndex;
  }
}
