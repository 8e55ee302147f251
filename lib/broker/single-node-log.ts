import type { CommitLog } from '../store/commit-log.js';
import type { CommittedPosition, LeadershipView, ProposedEntry, ReplicatedLog } from './replicated-log.js';

/**
 * A {@link ReplicatedLog} for a group of one node: an entry is committed once it is fsynced
 * locally (group commit: concurrent proposals share one fsync). Used by single-node deployments
 * (no `peers` configured); the node is always leader of term `term`.
 */
export class SingleNodeLog implements ReplicatedLog {
  private committed: number;
  private readonly listeners: Array<(commitIndex: number) => void> = [];

  constructor(
    private readonly commitLog: CommitLog,
    private readonly nodeId: string,
    private readonly address: string,
    private readonly term: number,
    private readonly clock: () => number = Date.now,
  ) {
    // Everything that survived recovery on a one-node group is committed (the node is a majority).
    this.committed = commitLog.lastIndex;
  }

  get commitIndex(): number {
    return this.committed;
  }

  async propose(entries: readonly ProposedEntry[]): Promise<CommittedPosition[]> {
    if (entries.length === 0) return [];
    const storeTimestampMs = this.clock();
    const appended = await this.commitLog.append(entries.map((entry) => ({ term: this.term, type: entry.type, storeTimestampMs, body: entry.body })));
    const durableIndex = await this.commitLog.flush();
    this.advance(durableIndex);
    return appended.map((entry) => ({ index: entry.index, term: entry.term }));
  }

  onCommit(listener: (commitIndex: number) => void): void {
    this.listeners.push(listener);
  }

  leadership(): LeadershipView {
    return { nodeId: this.nodeId, role: 'leader', term: this.term, leaderId: this.nodeId, leaderAddress: this.address, commitIndex: this.committed };
  }

  isLeader(): boolean {
    return true;
  }


  private advance(durableIndex: number): void {
    if (durableIndex <= this.committed) return;
    this.committed = durableIndex;
    for (const listener of this.listeners) listener(durableIndex);
  }
}
