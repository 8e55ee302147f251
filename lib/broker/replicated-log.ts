/**
 * The seam between the broker and replication. The broker proposes entries; the replicated log
 * appends them to the CommitLog (which is the Raft log), makes them durable on a majority of the
 * group, and advances the commit index. Two implementations: {@link SingleNodeLog} for a group of
 * one node, and RaftReplicatedLog (lib/raft's driver) for a real group.
 */
import { NotLeaderError } from '../common/errors.js';
import type { EntryType } from '../store/record-format.js';

/** An entry the broker wants committed. */
export interface ProposedEntry {
  type: EntryType;
  body: Buffer;
}

/** Where a proposed entry landed in the log. */
export interface CommittedPosition {
  index: number;
  term: number;
}

/** What this node knows of its group's leadership. */
export interface LeadershipView {
  nodeId: string;
  role: 'leader' | 'follower' | 'candidate';
  term: number;
  leaderId: string | null;
  leaderAddress: string | null;
  commitIndex: number;
}

export interface ReplicatedLog {
  /**
   * Appends `entries` (in order, contiguous) as leader and resolves once they are committed, i.e.
   * durable (fsynced) on a majority. Throws NotLeaderError on a non-leader; a storage failure
   * rejects with the store's fatal error.
   */
  propose(entries: readonly ProposedEntry[]): Promise<CommittedPosition[]>;
  /** Highest committed index. */
  readonly commitIndex: number;
  /** Registers a listener called (synchronously, in order) whenever the commit index advances. */
  onCommit(listener: (commitIndex: number) => void): void;
  leadership(): LeadershipView;
  /** Whether this node may accept writes now. */
  isLeader(): boolean;
}

/** Throws NotLeaderError (with the leader's address when known) unless `log` may take writes now. */
export function requireLeader(log: ReplicatedLog): void {
  if (log.isLeader()) return;
  const view = log.leadership();
  throw new NotLeaderError(view.leaderId, view.leaderAddress);
}
