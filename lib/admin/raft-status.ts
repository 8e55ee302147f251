/**
 * The Raft state of every broker group as the admin tool sees it: gathered from each member's
 * `/status` document over HTTP (addresses from the NameServers' registrations), combined with the
 * leader's view of its peers. Used by `raftStatus` and `check`.
 */
import type { RegisteredBroker } from '../namesrv/registered-broker.js';
import { summarizeGroups } from '../namesrv/route-table.js';

/** How long to wait for one node's `/status`. */
const STATUS_TIMEOUT_MS = 3_000;

/** One member of a group as raftStatus and check show it. */
export interface RaftMemberStatus {
  nodeId: string;
  /** As the node reports itself; `unreachable` when its `/status` did not answer. */
  role: string;
  term: number | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  lastIndex: number | null;
  /** The leader's view: the highest entry known to match on this member (the leader: its last index). */
  matchIndex: number | null;
  /** Entries the member is behind the leader's last index. */
  lag: number | null;
  /** The leader's view: ms since it last heard from the member (0 for the leader itself). */
  lastContactMsAgo: number | null;
  /** The leader's view: `voter`, `learner` (replicates, does not vote), or null without a leader. */
  membership: 'voter' | 'learner' | null;
  error?: string;
}

interface NodeStatusDocument {
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  raft: { peers?: Array<{ id: string; matchIndex: number; lastContactMsAgo?: number | null }>; voters?: string[]; learners?: string[] } | null;
}

async function nodeStatus(httpAddress: string): Promise<NodeStatusDocument> {
  const response = await fetch(`http://${httpAddress}/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`/status answered HTTP ${response.status}`);
  return (await response.json()) as NodeStatusDocument;
}

/** One broker group's Raft state as raftStatus and check show it. */
export interface RaftGroupStatus {
  cluster: string;
  group: string;
  leaderId: string | null;
  term: number | null;
  commitIndex: number | null;
  members: RaftMemberStatus[];
}

/**
 * Each broker group's Raft state from its members' `/status` (reached through the HTTP addresses
 * they registered): leader, term, commit and applied index of each member, and, from the leader's
 * view, each member's match index, lag and last contact. A member whose `/status` does not answer
 * is `unreachable`.
 */
export async function gatherRaftStatus(brokers: readonly RegisteredBroker[]): Promise<RaftGroupStatus[]> {
  return Promise.all(summarizeGroups(brokers).map(async (group) => {
    const members = brokers.filter((b) => b.cluster === group.cluster && b.group === group.group);
    const statuses = await Promise.all(members.map(async (m) => {
      try {
        return { nodeId: m.nodeId, status: await nodeStatus(m.httpAddress) };
      } catch (error) {
        return { nodeId: m.nodeId, error: error instanceof Error ? error.message : String(error) };
      }
    }));
    const leader = statuses.find((s) => s.status?.role === 'leader');
    const peers = leader?.status?.raft?.peers ?? [];
    const matchOf = new Map(peers.map((p) => [p.id, p.matchIndex]));
    const contactOf = new Map(peers.map((p) => [p.id, p.lastContactMsAgo ?? null]));
    if (leader) {
      matchOf.set(leader.nodeId, leader.status!.lastIndex);
      contactOf.set(leader.nodeId, 0);
    }
    const leaderLast = leader?.status?.lastIndex ?? null;
    const voters = new Set(leader?.status?.raft?.voters ?? []);
    const learners = new Set(leader?.status?.raft?.learners ?? []);
    const membershipOf = (id: string): 'voter' | 'learner' | null => (voters.has(id) ? 'voter' : learners.has(id) ? 'learner' : null);
    const memberRows: RaftMemberStatus[] = statuses.map((s) => {
      const match = matchOf.get(s.nodeId) ?? null;
      return {
        nodeId: s.nodeId,
        role: s.status?.role ?? 'unreachable',
        term: s.status?.term ?? null,
        commitIndex: s.status?.commitIndex ?? null,
        appliedIndex: s.status?.appliedIndex ?? null,
        lastIndex: s.status?.lastIndex ?? null,
        matchIndex: match,
        lag: match !== null && leaderLast !== null ? Math.max(0, leaderLast - match) : null,
        lastContactMsAgo: contactOf.get(s.nodeId) ?? null,
        membership: membershipOf(s.nodeId),
        ...(s.error ? { error: s.error } : {}),
      };
    });
    // Voters the leader knows that no NameServer lists any more (down for longer than the expiry).
    for (const peer of peers) {
      if (memberRows.some((m) => m.nodeId === peer.id)) continue;
      memberRows.push({
        nodeId: peer.id, role: 'unreachable', term: null, commitIndex: null, appliedIndex: null, lastIndex: null,
        matchIndex: peer.matchIndex, lag: leaderLast === null ? null : Math.max(0, leaderLast - peer.matchIndex),
        lastContactMsAgo: peer.lastContactMsAgo ?? null, membership: membershipOf(peer.id), error: 'not registered with the NameServer(s)',
      });
    }
    return { cluster: group.cluster, group: group.group, leaderId: leader?.nodeId ?? null, term: leader?.status?.term ?? null, commitIndex: leader?.status?.commitIndex ?? null, members: memberRows };
  }));
}
