/**
 * MetaStore: the node's LMDB environment (`<dataDir>/meta`). It holds the state that metadata
 * commands build (topics, subscription groups, consumer progress, pop/ack state) together with the
 * checkpoint of the last applied entry, written in the same transaction, so replaying the CommitLog
 * after that entry rebuilds exactly what a crash lost. It also holds the ConsumeQueue dispatch
 * checkpoint and, for Raft, the hard state (term, vote).
 *
 * Databases and keys (values are msgpack, lmdb's default encoding):
 * | db        | key                                               | value                              |
 * |-----------|---------------------------------------------------|------------------------------------|
 * | topics    | topic name                                        | TopicConfig                        |
 * | groups    | group name                                        | GroupConfig                        |
 * | progress  | group NUL topic NUL queueId                       | { ackOffset, popOffset, resetVersion } |
 * | inflight  | group NUL topic NUL queueId NUL offset(16 digits) | { visibleAtMs, attempts, handleSeq } |
 * | system    | 'applied', 'dispatch'                             | { index, nextPosition }            |
 * | raft      | 'hardState'                                       | { term, vote } (vote: node id or null) |
 * | raft      | 'catchUp'                                         | { untilIndex } (null: the leader's commit) |
 * | fences    | kind NUL name (kind: topic, group)                | [{ from, to }] dead intervals of a deleted topic or group (lib/broker/deletion-fences.ts) |
 * | msgindex  | see lib/store/message-index.ts                    | where each message is, by key and by id |
 * | timers    | see lib/store/timer-index.ts                      | delayed messages by due time       |
 * | txns      | see lib/store/transaction-table.ts                | pending transactional (half) messages |
 * | raft      | 'wasMember'                                       | present once a membership naming this node was applied |
 * | acl       | AccessKey                                         | AclUser (lib/security/acl-user.ts), SecretKey in clear: HMAC checks need it |
 * | raft      | 'membership'                                      | { members: [{ id, raftAddress, voter }] } (the last applied CONFIG_CHANGE; absent: the configured peers) |
 */
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import type { GroupConfig, TopicConfig } from '../broker/meta-command.js';
import type { AclUser } from '../security/acl-user.js';
import type { InflightEntry } from '../broker/pop-state.js';
import type { GroupMembership } from '../raft/driver/group-membership.js';
import type { DeadInterval } from '../broker/deletion-fences.js';
import { keyText } from './lmdb-keys.js';
import { MessageIndex } from './message-index.js';
import type { IndexedMessage } from './message-index.js';
import { TimerIndex } from './timer-index.js';
import type { TimerRow } from './timer-index.js';
import { TransactionTable } from './transaction-table.js';
import type { HalfMessage } from './transaction-table.js';

/** A position in the CommitLog: the last entry covered and where the next one starts. */
export interface LogCheckpoint {
  index: number;
  nextPosition: number;
}

/** The Raft state that must survive a crash before a vote or an append answer leaves the node. */
export interface RaftHardState {
  term: number;
  vote: string | null;
}

/**
 * Present while a node whose store lost (or never had) committed entries catches up before it may
 * vote again (lib/raft/core/raft-core.ts, RaftBootState.catchUp).
 */
export interface RaftCatchUp {
  untilIndex: number | null;
}

export interface QueueProgress {
  ackOffset: number;
  popOffset: number;
  /** Absent in records written before offset resets existed: 0. */
  resetVersion?: number;
}

/** A batch that writes only the applied checkpoint; callers add their changes. */
export function emptyWriteBatch(applied: LogCheckpoint): MetaWriteBatch {
  return { applied, topics: [], groups: [], progress: [], inflightPut: [], inflightDelete: [], topicsDelete: [], groupsDelete: [], progressDelete: [], fences: [], aclPut: [], aclDelete: [] };
}

/** One applied META entry's writes, committed atomically with the applied checkpoint. */
export interface MetaWriteBatch {
  applied: LogCheckpoint;
  topics: TopicConfig[];
  groups: GroupConfig[];
  progress: Array<{ key: string; value: QueueProgress }>;
  inflightPut: Array<{ key: string; value: InflightEntry }>;
  inflightDelete: string[];
  /** Deleted topics and groups (by name). */
  topicsDelete: string[];
  groupsDelete: string[];
  /** Queue progress keys to delete, with every inflight entry under them. */
  progressDelete: string[];
  /** Dead intervals of deleted (or re-created) topics and groups, by fence key. */
  fences: Array<{ key: string; intervals: DeadInterval[] }>;
  /** ACL users created or replaced, and deleted (by AccessKey). */
  aclPut: AclUser[];
  aclDelete: string[];
  /** Set by an applied CONFIG_CHANGE entry: the group's membership from then on. */
  membership?: GroupMembership;
}

/** Key of one inflight entry; offsets are zero-padded so keys sort by offset. */
export function inflightKey(queueKey: string, offset: number): string {
  return `${queueKey}\u0000${String(offset).padStart(16, '0')}`;
}

export class MetaStore {
  private constructor(
    private readonly root: RootDatabase,
    private readonly topicDb: Database<TopicConfig, string>,
    private readonly groupDb: Database<GroupConfig, string>,
    private readonly progressDb: Database<QueueProgress, string>,
    private readonly inflightDb: Database<InflightEntry, string>,
    private readonly systemDb: Database<LogCheckpoint, string>,
    private readonly raftDb: Database<RaftHardState | RaftCatchUp | GroupMembership | true, string>,
    private readonly fenceDb: Database<DeadInterval[], string>,
    private readonly aclDb: Database<AclUser, string>,
    /** The message index (lib/store/message-index.ts), in this environment so its writes are ordered with the checkpoints. */
    readonly messageIndex: MessageIndex,
    /** The timer index (lib/store/timer-index.ts), ordered with the checkpoints the same way. */
    readonly timerIndex: TimerIndex,
    /** Pending transactions (lib/store/transaction-table.ts), ordered with the checkpoints the same way. */
    readonly transactions: TransactionTable,
  ) {}

  /** Opens (creating) the environment in `dir`. */
  static open(dir: string): MetaStore {
    const root = open({ path: dir, compression: false });
    return new MetaStore(
      root,
      root.openDB<TopicConfig, string>({ name: 'topics' }),
      root.openDB<GroupConfig, string>({ name: 'groups' }),
      root.openDB<QueueProgress, string>({ name: 'progress' }),
      root.openDB<InflightEntry, string>({ name: 'inflight' }),
      root.openDB<LogCheckpoint, string>({ name: 'system' }),
      root.openDB<RaftHardState | RaftCatchUp | GroupMembership | true, string>({ name: 'raft' }),
      root.openDB<DeadInterval[], string>({ name: 'fences' }),
      root.openDB<AclUser, string>({ name: 'acl' }),
      new MessageIndex(root.openDB<IndexedMessage, string>({ name: 'msgindex' })),
      new TimerIndex(root.openDB<TimerRow, string>({ name: 'timers' })),
      new TransactionTable(root.openDB<HalfMessage, string>({ name: 'txns' })),
    );
  }

  /** Last applied META checkpoint; `{0, 0}` on a new store. */
  applied(): LogCheckpoint {
    return this.systemDb.get('applied') ?? { index: 0, nextPosition: 0 };
  }

  /** Last ConsumeQueue dispatch checkpoint (every queue fsynced up to it); `{0, 0}` when new. */
  dispatched(): LogCheckpoint {
    return this.systemDb.get('dispatch') ?? { index: 0, nextPosition: 0 };
  }

  topics(): TopicConfig[] {
    return [...this.topicDb.getRange()].map((entry) => entry.value);
  }

  groups(): GroupConfig[] {
    return [...this.groupDb.getRange()].map((entry) => entry.value);
  }

  /** Every persisted ACL user. */
  aclUsers(): AclUser[] {
    return [...this.aclDb.getRange()].map((entry) => entry.value);
  }

  /** Every persisted deletion fence (see lib/broker/deletion-fences.ts). */
  fences(): Array<{ key: string; intervals: DeadInterval[] }> {
    return [...this.fenceDb.getRange()].map((entry) => ({ key: keyText(entry.key), intervals: entry.value }));
  }

  /** Every persisted queue progress, keyed `group NUL topic NUL queueId`. */
  progress(): Array<{ key: string; value: QueueProgress }> {
    return [...this.progressDb.getRange()].map((entry) => ({ key: keyText(entry.key), value: entry.value }));
  }

  /** Every persisted inflight entry with its queue key and offset. */
  inflight(): Array<{ queueKey: string; offset: number; value: InflightEntry }> {
    return [...this.inflightDb.getRange()].map((entry) => {
      const key = keyText(entry.key);
      const cut = key.lastIndexOf('\u0000');
      return { queueKey: key.slice(0, cut), offset: Number(key.slice(cut + 1)), value: entry.value };
    });
  }

  /** Writes one batch atomically; resolves when LMDB committed it. Batches commit in call order. */
  async write(batch: MetaWriteBatch): Promise<void> {
    await this.root.transaction(() => {
      for (const topic of batch.topics) void this.topicDb.put(topic.name, topic);
      for (const group of batch.groups) void this.groupDb.put(group.name, group);
      for (const { key, value } of batch.progress) void this.progressDb.put(key, value);
      for (const { key, value } of batch.inflightPut) void this.inflightDb.put(key, value);
      for (const key of batch.inflightDelete) void this.inflightDb.remove(key);
      for (const name of batch.topicsDelete) void this.topicDb.remove(name);
      for (const name of batch.groupsDelete) void this.groupDb.remove(name);
      for (const queueKey of batch.progressDelete) {
        void this.progressDb.remove(queueKey);
        // Inflight keys are `queueKey NUL offset`; NUL+1 bounds the range.
        for (const key of this.inflightDb.getKeys({ start: `${queueKey}\u0000`, end: `${queueKey}\u0001` })) void this.inflightDb.remove(key);
      }
      for (const { key, intervals } of batch.fences) void this.fenceDb.put(key, intervals);
      for (const user of batch.aclPut) void this.aclDb.put(user.accessKey, user);
      for (const accessKey of batch.aclDelete) void this.aclDb.remove(accessKey);
      if (batch.membership) void this.raftDb.put('membership', batch.membership);
      void this.systemDb.put('applied', batch.applied);
    });
  }

  /** Whether a membership naming this node was ever applied here (see RaftNodeOptions.joining). */
  wasMember(): boolean {
    return this.raftDb.get('wasMember') !== undefined;
  }

  async markWasMember(): Promise<void> {
    if (!this.wasMember()) await this.raftDb.put('wasMember', true);
  }

  /** The membership of the last applied CONFIG_CHANGE entry, or null when none was applied. */
  raftMembership(): GroupMembership | null {
    return (this.raftDb.get('membership') as GroupMembership | undefined) ?? null;
  }

  /** Records that every ConsumeQueue is durable up to `checkpoint`. Call only after fsyncing them. */
  async writeDispatched(checkpoint: LogCheckpoint): Promise<void> {
    await this.systemDb.put('dispatch', checkpoint);
  }

  /**
   * The periodic checkpoint: every ConsumeQueue is durable up to `checkpoint` (call only after
   * fsyncing them) and every entry up to it is applied. Moves the dispatch checkpoint and, never
   * backwards, the applied checkpoint, so replay after a restart starts here even when no META entry
   * was applied for a long time. Ordered after every earlier {@link write}.
   */
  async writeCheckpoint(checkpoint: LogCheckpoint): Promise<void> {
    await this.root.transaction(() => {
      void this.systemDb.put('dispatch', checkpoint);
      const applied = this.systemDb.get('applied');
      if (applied === undefined || applied.index < checkpoint.index) void this.systemDb.put('applied', checkpoint);
    });
  }

  /** The persisted Raft term and vote; `{0, null}` on a new store. */
  raftHardState(): RaftHardState {
    return (this.raftDb.get('hardState') as RaftHardState | undefined) ?? { term: 0, vote: null };
  }

  /** The persisted catch-up marker, or null when the node votes normally. */
  raftCatchUp(): RaftCatchUp | null {
    return (this.raftDb.get('catchUp') as RaftCatchUp | undefined) ?? null;
  }

  /** Sets (or with null, clears) the catch-up marker; resolves once durable. */
  async writeRaftCatchUp(value: RaftCatchUp | null): Promise<void> {
    if (value === null) await this.raftDb.remove('catchUp');
    else await this.raftDb.put('catchUp', { untilIndex: value.untilIndex });
    await this.root.flushed;
  }

  /** Writes the Raft term and vote and resolves once they are durable on disk (fsynced). */
  async writeRaftHardState(state: RaftHardState): Promise<void> {
    await this.raftDb.put('hardState', { term: state.term, vote: state.vote });
    await this.root.flushed;
  }

  /** Waits until every write issued so far is durable. */
  async flushed(): Promise<void> {
    await this.root.flushed;
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}
