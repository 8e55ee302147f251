/** The options, settings and views of a {@link RaftNode} (lib/raft/driver/raft-node.ts). */
import type { ClusterAuth } from '../../security/cluster-auth.js';
import type { Logger } from '../../common/logger.js';
import type { CommitLog } from '../../store/commit-log.js';
import type { EntryType } from '../../store/record-format.js';
import type { NodeId, Role } from '../core/types.js';
import type { GroupMembership } from './group-membership.js';
import type { ServerTls } from '../../security/tls-config.js';
import type { PeerRefusalReason } from './raft-transport.js';

/** Durable term and vote, and the catch-up marker. Saves resolve once on disk. */
export interface HardStateStore {
  load(): { term: number; vote: string | null };
  save(state: { term: number; vote: string | null }): Promise<void>;
  /** The node's persisted catch-up state (see RaftBootState.catchUp), or null. */
  loadCatchUp(): { untilIndex: number | null } | null;
  saveCatchUp(value: { untilIndex: number | null } | null): Promise<void>;
}

/** Timing and limits of the driver; defaults in lib/raft/README.md and the broker config. */
export interface RaftNodeSettings {
  tickMs: number;
  /** Election timeout is drawn from [electionTicks, 2 x electionTicks) ticks. */
  electionTicks: number;
  heartbeatTicks: number;
  maxInflightAppends: number;
  maxEntriesPerAppend: number;
  /** Bytes of records per append message at most (at least one record is always sent). */
  maxAppendBytes: number;
  /** A proposal not committed within this time is answered "outcome unknown". */
  proposalTimeoutMs: number;
  /** Messages queued per peer at most. */
  maxQueuedMessagesPerPeer: number;
  /** A peer at least this many entries behind the commit index is streamed entries in bulk (an install). */
  installMinEntries: number;
  /** Bytes of records per install chunk. */
  installChunkBytes: number;
}

export interface RaftNodeOptions {
  id: NodeId;
  group: string;
  /**
   * The membership at startup: the last one applied (MetaStore), else the configured peers. Later
   * changes come through {@link RaftNode.applyMembership} as CONFIG_CHANGE entries are applied.
   */
  membership: GroupMembership;
  /** host:port this node's Raft server binds (its entry in the configured peers). */
  listenAddress: string;
  /**
   * This node joins a running group (joinAsLearner) and has not yet applied a membership that
   * names it: the memberships it replays from before it was added leave it out, and must not be
   * taken as its removal. It stays a learner of them until one names it.
   */
  joining?: boolean;
  brokerAddress: string;
  commitLog: CommitLog;
  hardState: HardStateStore;
  /** An index known committed at startup (e.g. the applied checkpoint); 0 if none. */
  knownCommitted: number;
  /**
   * Every config entry up to this index was applied before this start (the META checkpoint): config
   * entries the leader sends again below it (a log cut at recovery) are not waited for.
   */
  configAppliedThrough?: number;
  /**
   * Set when the store lost, or may never have had, entries the group committed: the node takes no
   * part in elections until it caught up (persisted across restarts until done). `untilIndex`
   * null: up to the leader's commit index at first contact.
   */
  catchUp: { untilIndex: number | null } | null;
  settings: RaftNodeSettings;
  logger: Logger;
  onFatal: (error: unknown) => void;
  random?: () => number;
  /** TLS of the Raft port and of the streams to peers (see RaftTransportOptions.tls); absent: plaintext. */
  tls?: ServerTls | null;
  /** Told of every refused peer connection or call (metrics). */
  onPeerRefused?: (reason: PeerRefusalReason) => void;
  /** Told how long each Ready's log append (write) and fsync took, in seconds (metrics). */
  observeDisk?: (operation: 'append' | 'fsync', seconds: number) => void;
  /** Signs this node's Raft calls and checks its peers' (the cluster secret); null or absent: none. */
  clusterAuth?: ClusterAuth | null;
  /**
   * Asked before this node stores entries a leader sent (appends with entries, install chunks);
   * false (its disk is nearly full) drops them unanswered, as if lost: the node lags and the
   * leader sends them again later, instead of the write failing with ENOSPC. Absent: always true.
   */
  acceptsEntries?: () => boolean;
}

/** Counters and state for metrics (see RaftNode.metricsView). Counters are cumulative since start. */
export interface RaftMetricsView {
  role: Role;
  term: number;
  leaderId: NodeId | null;
  commitIndex: number;
  leaderChanges: number;
  proposalsFailed: number;
  pendingProposals: number;
  installsSent: number;
  installedEntriesSent: number;
  installedEntriesReceived: number;
  voters: number;
  learners: number;
  /** Leader only: each peer's match index. */
  peers: Array<{ id: NodeId; matchIndex: number }>;
  lastIndex: number;
}

/** One entry to propose. */
export interface ProposedRecord {
  type: EntryType;
  body: Buffer;
}

/** What this node knows of its group's leadership. */
export interface RaftLeadership {
  role: Role;
  term: number;
  leaderId: NodeId | null;
  leaderAddress: string | null;
  commitIndex: number;
}

/** Per-member replication state as the leader sees it (for /status). */
export interface PeerStatus {
  id: NodeId;
  matchIndex: number;
  nextIndex: number;
  state: string;
  /** The peer catches up after losing entries (it does not vote yet). */
  catchingUp: boolean;
  /** Milliseconds since this node last received a message from the peer; null: never. */
  lastContactMsAgo: number | null;
}
