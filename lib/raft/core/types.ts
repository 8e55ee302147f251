/**
 * Value types of the Raft core: terms, indexes, node ids, entries, messages and the `Ready` batch
 * the core hands its driver. Pure data: nothing here does I/O.
 */

/** A Raft term. Branded so that a term is never passed where an index is expected, or back. */
export type Term = number & { readonly __brand: 'Term' };
/** A position in the Raft log, from 1; 0 means "before the first entry". */
export type LogIndex = number & { readonly __brand: 'LogIndex' };
/** A group member's id (`n0`, `n1`, ...). */
export type NodeId = string;

/** Casts a plain number known to be a term. */
export const asTerm = (value: number): Term => value as Term;
/** Casts a plain number known to be a log index. */
export const asIndex = (value: number): LogIndex => value as LogIndex;

/** What an entry is for: `noop` is appended by a new leader, `config` changes membership. */
export type EntryKind = 'noop' | 'data' | 'config';

/**
 * One log entry. `data` is opaque to the core (the driver's payload: a record body, a test value);
 * it is `null` for a no-op. The core never copies or inspects it.
 */
export interface Entry<P> {
  index: LogIndex;
  term: Term;
  kind: EntryKind;
  data: P | null;
}

/** State that must be durable before any message that depends on it is sent. */
export interface HardState {
  term: Term;
  /** Whom this node voted for in `term`, or null. */
  vote: NodeId | null;
  /** Highest index known committed (persisting it is an optimisation, not needed for safety). */
  commit: LogIndex;
}

/** The group's voting members and non-voting learners. */
export interface Membership {
  voters: readonly NodeId[];
  learners: readonly NodeId[];
}

/** Role of a node. `preCandidate` runs a pre-vote before it may disturb the group with a term. */
export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

interface MessageBase {
  from: NodeId;
  to: NodeId;
  /** The sender's term (for a pre-vote request: the term it would campaign in). */
  term: Term;
}

/** Asks for a vote (or a pre-vote). `transfer`: sent on a leader's TimeoutNow, ignores leases. */
export interface VoteRequest extends MessageBase {
  type: 'vote';
  preVote: boolean;
  transfer: boolean;
  lastIndex: LogIndex;
  lastTerm: Term;
}

export interface VoteResponse extends MessageBase {
  type: 'voteResponse';
  preVote: boolean;
  granted: boolean;
}

/**
 * Replicates entries `prevIndex + 1 ..`. A message the core emits carries `entries: null` and
 * `count`: the driver loads those entries from its log (it may send fewer, then it calls
 * `reportShortAppend`). A message the core receives carries the entries.
 */
export interface AppendRequest<P> extends MessageBase {
  type: 'append';
  prevIndex: LogIndex;
  prevTerm: Term;
  commit: LogIndex;
  count: number;
  entries: Array<Entry<P>> | null;
}

/**
 * Answer to an append. On success `matchIndex` is the last index the follower has durably and
 * matching the leader. On a refusal `hintIndex`/`hintTerm` let the leader skip a whole term of
 * conflicting entries at once: the follower's last index whose term is <= the leader's prevTerm.
 */
export interface AppendResponse extends MessageBase {
  type: 'appendResponse';
  success: boolean;
  matchIndex: LogIndex;
  /** On a refusal: the `prevIndex` of the refused append. */
  rejectedPrevIndex: LogIndex;
  hintIndex: LogIndex;
  hintTerm: Term;
  /** The follower is catching up after losing entries (see RaftBootState.catchUp); absent means false. */
  catchingUp?: boolean;
}

/** Leader liveness and commit index for a follower already in sync. */
export interface Heartbeat extends MessageBase {
  type: 'heartbeat';
  commit: LogIndex;
}

export interface HeartbeatResponse extends MessageBase {
  type: 'heartbeatResponse';
  /**
   * The heartbeat's commit index is past this follower's log: it lost entries the leader counts it
   * as having (a wiped or damaged store), so the leader must probe it. Absent means false.
   */
  missingEntries?: boolean;
}

/** Leadership transfer: the target campaigns at once. */
export interface TimeoutNow extends MessageBase {
  type: 'timeoutNow';
}

/**
 * For the leader's driver, not the wire (etcd-raft's MsgSnap): stream `to` the committed entries
 * `prevIndex + 1 .. ` in bulk; the peer takes them as appends of `term`. The peer's progress stays
 * in `install` (no appends) until the driver calls `endInstall`.
 */
export interface InstallRequest extends MessageBase {
  type: 'install';
  prevIndex: LogIndex;
  prevTerm: Term;
  /** The leader's commit index when the install was decided. */
  commit: LogIndex;
}

/** Every message between group members (and `install`, which the leader's driver carries out). */
export type Message<P> = VoteRequest | VoteResponse | AppendRequest<P> | AppendResponse | Heartbeat | HeartbeatResponse | TimeoutNow | InstallRequest;

/** What the core last reported about leadership. */
export interface SoftState {
  role: Role;
  leaderId: NodeId | null;
  term: Term;
}

/**
 * One batch of work for the driver, handled strictly in this order:
 * 1. if `truncateAfter` is set, drop every log entry after that index;
 * 2. append `entries` (they follow the log's last index after the truncation) and persist
 *    `hardState` if set;
 * 3. send `messages` (they do not depend on step 2 being durable: the leader's appends go out while
 *    its own fsync runs);
 * 4. make step 2 durable (fsync), then send `messagesAfterPersist` (votes and append answers);
 * 5. apply entries up to `commitIndex` (all durable locally by then);
 * 6. call `advance()`.
 * Only one Ready is in flight: `ready()` returns null until `advance()`.
 */
export interface Ready<P> {
  softState: SoftState;
  hardState: HardState | null;
  truncateAfter: LogIndex | null;
  entries: Array<Entry<P>>;
  messages: Array<Message<P>>;
  messagesAfterPersist: Array<Message<P>>;
  commitIndex: LogIndex;
}

/** Why a proposal or transfer was refused: an expected outcome, returned, not thrown. */
export type Refusal = { ok: false; code: 'NOT_LEADER'; leaderHint: NodeId | null } | { ok: false; code: 'TRANSFER_IN_PROGRESS' | 'CONFIG_CHANGE_PENDING' | 'UNKNOWN_NODE' };
