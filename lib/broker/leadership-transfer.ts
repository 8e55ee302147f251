/**
 * Hands a group's leadership to another member on purpose (admin `transferLeader`, and a leader
 * told to stop): Raft's leadership transfer, where the leader brings the target fully up to date,
 * stops taking proposals, and sends it TimeoutNow so it wins the next election at once. Resolves
 * once this node sees the target lead, so callers know where writes go next.
 */
import { LedgerError } from '../common/errors.js';
import type { RaftNode } from '../raft/driver/raft-node.js';
import type { LeadershipView, ReplicatedLog } from './replicated-log.js';
import { requireLeader } from './replicated-log.js';

/** How often to look whether the transfer is done. */
const POLL_MS = 20;

/**
 * Transfers leadership from this node (the leader) to `target`, or, when null, to a follower that
 * holds every committed entry. Throws NotLeaderError on a non-leader, PRECONDITION_FAILED when the
 * target is not a voter or no follower is caught up, HA_NOT_AVAILABLE when the target has not
 * taken over within `timeoutMs` (this node then leads again, or someone else does).
 */
export async function transferLeadership(raft: RaftNode, log: ReplicatedLog, target: string | null, timeoutMs: number): Promise<LeadershipView> {
  requireLeader(log);
  const self = log.leadership().nodeId;
  const chosen = target ?? raft.followersHolding(log.commitIndex)[0]?.nodeId ?? null;
  if (chosen === null) throw new LedgerError('PRECONDITION_FAILED', 'no follower holds every committed entry: nobody to hand leadership to');
  if (chosen === self) return log.leadership();
  raft.transferLeadership(chosen);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = log.leadership();
    if (view.leaderId === chosen && view.role !== 'leader') return view;
    if (Date.now() >= deadline) {
      throw new LedgerError('HA_NOT_AVAILABLE', `${chosen} did not take over within ${timeoutMs} ms (leader now: ${view.leaderId ?? 'none'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
