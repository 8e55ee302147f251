/**
 * The broker's state machine: applies committed CommitLog entries, strictly in log order, on
 * every node. MESSAGES entries are dispatched into ConsumeQueues (so queue offsets are a pure
 * function of the committed log); META entries change topics, groups and pop/ack state and are
 * written to the MetaStore with the applied checkpoint; CONFIG_CHANGE entries change the group's
 * membership (stored the same way, then handed to the Raft node). Proposers wait here for their
 * entry's result.
 */
import { LedgerError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { CommitLog, LogEntry } from '../store/commit-log.js';
import { ConsumeQueueStore } from '../store/consume-queue-store.js';
import { decodeMessageBatch } from '../store/message-codec.js';
import { emptyWriteBatch, inflightKey } from '../store/meta-store.js';
import type { MessageToIndex } from '../store/message-index.js';
import { TIMER_ROW_PROPERTY, TIMER_TOPIC } from '../store/timer-index.js';
import { HALF_TOPIC, TRANSACTION_END_PROPERTY } from '../store/transaction-table.js';
import { SystemProperty } from './system-properties.js';
import type { TimerRow } from '../store/timer-index.js';
import type { LogCheckpoint, MetaStore, MetaWriteBatch } from '../store/meta-store.js';
import { EntryType, RECORD_HEADER_SIZE_BYTES } from '../store/record-format.js';
import { tagHash } from '../store/tag-hash.js';
import { decodeMetaCommands } from './meta-command.js';
import { DeletionFences } from './deletion-fences.js';
import type { DeadInterval, FenceKind } from './deletion-fences.js';
import type { MetaCommand } from './meta-command.js';
import { popStateKey } from './pop-state.js';
import type { HandleOutcome, OffsetOutcome, PopState } from './pop-state.js';
import type { TopicTable } from './topic-table.js';
import type { AclTable } from './acl-table.js';
import { decodeMembership } from '../raft/driver/group-membership.js';
import type { GroupMembership } from '../raft/driver/group-membership.js';

/** What one META command answers its proposer: acks and visibility changes a handle outcome, offset commands the progress. */
export type CommandOutcome = HandleOutcome | OffsetOutcome;

/** Result of one applied entry, as its proposer sees it. */
export type ApplyResult =
  | { kind: 'messages'; placed: Array<{ topic: string; queueId: number; queueOffset: number }> }
  | { kind: 'meta'; outcomes: Array<CommandOutcome | null> }
  | { kind: 'none' };

export interface StateMachineOptions {
  commitLog: CommitLog;
  consumeQueues: ConsumeQueueStore;
  metaStore: MetaStore;
  popState: PopState;
  topics: TopicTable;
  /** ACL users (applied on every node, whether ACL is enforced or not). */
  acl: AclTable;
  /** Dead intervals of deleted topics and groups (restored from the MetaStore). */
  fences: DeletionFences;
  logger: Logger;
  /** Called when a storage write fails: the node must stop. */
  onFatal: (error: unknown) => void;
  /**
   * In a Raft group: called when committed entry `index` cannot be read (its record is damaged, or
   * it is gone while the node refetches its log). Returns true when the node is repairing its log:
   * the state machine then pauses and resumes at the next commit notification instead of failing.
   */
  onUnreadableEntry?: (index: number, error: unknown) => boolean;
  /**
   * Called when a CONFIG_CHANGE entry is applied (after its membership is queued for the MetaStore
   * with the applied checkpoint): the Raft node adopts the membership.
   */
  onMembership?: (membership: GroupMembership, index: number) => void;
  /** How many recent results are kept for proposers that ask late. */
  resultsKept?: number;
  /** Bytes read from the CommitLog per apply step. */
  readBatchBytes?: number;
}

/** How soon the state machine looks again for committed entries missing while the log is repaired. */
const UNREADABLE_RETRY_MS = 200;

/** See the file comment. One apply loop runs at a time. */
export class StateMachine {
  private appliedIndexValue: number;
  private appliedNextPosition: number;
  private commitIndex = 0;
  private running = false;
  private readonly results = new Map<number, ApplyResult>();
  private readonly waiters = new Map<number, Array<{ resolve: (result: ApplyResult) => void; reject: (error: unknown) => void }>>();
  private readonly dispatchListeners: Array<(topic: string, queueId: number) => void> = [];
  private metaCheckpoint: LogCheckpoint;
  private lastDispatched: LogCheckpoint;
  private failed: unknown = null;
  /** Set while a retry of entries unreadable during a log repair is scheduled. */
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly options: StateMachineOptions) {
    this.metaCheckpoint = options.metaStore.applied();
    this.lastDispatched = options.metaStore.dispatched();
    const start = this.metaCheckpoint.index < this.lastDispatched.index ? this.metaCheckpoint : this.lastDispatched;
    this.appliedIndexValue = start.index;
    this.appliedNextPosition = start.nextPosition;
  }

  /** Index of the last applied entry. */
  get appliedIndex(): number {
    return this.appliedIndexValue;
  }

  /** Where replay must start: the older of the META and dispatch checkpoints. */
  get replayFrom(): LogCheckpoint {
    return { index: this.appliedIndexValue, nextPosition: this.appliedNextPosition };
  }

  /** Registers a listener told each queue that dispatched messages, once per entry (long-poll wake-ups). */
  onDispatch(listener: (topic: string, queueId: number) => void): void {
    this.dispatchListeners.push(listener);
  }

  /** Tells the state machine the commit index moved; applies up to it in the background. */
  notifyCommit(commitIndex: number): void {
    if (commitIndex > this.commitIndex) this.commitIndex = commitIndex;
    if (!this.running) void this.applyLoop();
  }

  /**
   * Resolves with the result of the entry at `index` once applied. Results are kept for the most
   * recent entries only; asking for an older one rejects.
   */
  waitApplied(index: number): Promise<ApplyResult> {
    if (this.failed) return Promise.reject(new LedgerError('INTERNAL_ERROR', 'the state machine stopped after a storage failure', { cause: this.failed }));
    if (index <= this.appliedIndexValue) {
      const result = this.results.get(index);
      return result ? Promise.resolve(result) : Promise.reject(new LedgerError('INTERNAL_ERROR', `result of entry ${index} no longer kept`));
    }
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(index) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(index, list);
    });
  }

  /** The ConsumeQueue checkpoint up to which dispatch has been applied (not necessarily fsynced). */
  dispatchPosition(): LogCheckpoint {
    return { index: this.appliedIndexValue, nextPosition: this.appliedNextPosition };
  }

  private async applyLoop(): Promise<void> {
    this.running = true;
    try {
      while (this.appliedIndexValue < this.commitIndex && !this.failed) {
        const entries = await this.readCommitted();
        if (entries === null) return;
        for (const entry of entries) await this.applyEntry(entry);
      }
    } catch (error) {
      this.failed = error;
      this.options.logger.fatal({ err: error, appliedIndex: this.appliedIndexValue }, 'state machine cannot apply a committed entry; stopping');
      for (const list of this.waiters.values()) for (const waiter of list) waiter.reject(error);
      this.waiters.clear();
      this.options.onFatal(error);
    } finally {
      this.running = false;
    }
  }

  /** The next committed entries to apply; null when they are unreadable while the log is repaired. */
  private async readCommitted(): Promise<LogEntry[] | null> {
    const next = this.appliedIndexValue + 1;
    let entries: LogEntry[];
    let error: unknown;
    try {
      entries = await this.options.commitLog.readRange(next, this.options.readBatchBytes ?? 4 * 1024 * 1024, this.commitIndex);
      if (entries.length > 0) return entries;
      error = new LedgerError('INTERNAL_ERROR', `committed entry ${next} is missing from the log`);
    } catch (readError) {
      error = readError;
    }
    if (this.options.onUnreadableEntry?.(next, error) === true) {
      this.options.logger.warn({ err: error, index: next }, 'committed entry unreadable while the log is repaired; applying resumes once it is back');
      // The commit index may not move again (an idle group): look again shortly, one timer at a time.
      this.retry ??= setTimeout(() => {
        this.retry = undefined;
        this.notifyCommit(this.commitIndex);
      }, UNREADABLE_RETRY_MS);
      this.retry.unref();
      return null;
    }
    throw error;
  }

  private async applyEntry(entry: LogEntry): Promise<void> {
    const nextPosition = entry.position + RECORD_HEADER_SIZE_BYTES + entry.body.length;
    let result: ApplyResult = { kind: 'none' };
    if (entry.type === EntryType.MESSAGES && entry.index > this.lastDispatched.index) {
      result = await this.dispatchMessages(entry);
    } else if (entry.type === EntryType.META && (entry.index > this.metaCheckpoint.index || entry.index > this.lastDispatched.index)) {
      const commands = decodeMetaCommands(entry.body);
      // A deleted topic's ConsumeQueues go in dispatch order, so a replay from an older dispatch
      // checkpoint (which dispatches the topic's messages again) deletes them again too.
      if (entry.index > this.lastDispatched.index) {
        for (const command of commands) {
          if (command.kind === 'topic.delete') await this.options.consumeQueues.deleteTopic(command.name);
          // Timer rows and transactions change in dispatch order too (lib/store/timer-index.ts, transaction-table.ts).
          if (command.kind === 'timer.cancel') this.options.metaStore.timerIndex.remove(command.rows, this.options.onFatal);
          if (command.kind === 'txn.rollback') for (const key of command.keys) this.options.metaStore.transactions.end(key, 'ROLLBACK', this.options.onFatal);
          if (command.kind === 'txn.checked') this.options.metaStore.transactions.checked(command.keys, command.counts ?? [], this.options.onFatal);
        }
      }
      if (entry.index > this.metaCheckpoint.index) result = this.applyMeta(commands, { index: entry.index, nextPosition });
    } else if (entry.type === EntryType.CONFIG_CHANGE && entry.index > this.metaCheckpoint.index) {
      this.applyConfigChange(entry, { index: entry.index, nextPosition });
    }
    this.appliedIndexValue = entry.index;
    this.appliedNextPosition = nextPosition;
    this.remember(entry.index, result);
  }

  /** Appends each message's unit to its ConsumeQueue, waiting while a queue has too many unwritten units. */
  private async dispatchMessages(entry: LogEntry): Promise<ApplyResult> {
    const placed: Array<{ topic: string; queueId: number; queueOffset: number }> = [];
    const bodyPosition = entry.position + RECORD_HEADER_SIZE_BYTES;
    const queues = new Map<string, { topic: string; queueId: number }>();
    const indexed: MessageToIndex[] = [];
    const timerRows: TimerRow[] = [];
    const timersDone: string[] = [];
    for (const { message, offset, size } of decodeMessageBatch(entry.body)) {
      // A delivered delayed copy ends its timer row, even when its topic is gone (it is not retried).
      const timerRow = message.properties[TIMER_ROW_PROPERTY];
      if (timerRow !== undefined) timersDone.push(timerRow);
      // So does a committed transactional copy end its transaction.
      const transaction = message.properties[TRANSACTION_END_PROPERTY];
      if (transaction !== undefined) this.options.metaStore.transactions.end(transaction, 'COMMIT', this.options.onFatal);
      // Committed after its topic was deleted (and before it was created again): not dispatched.
      if (this.options.fences.deadAt('topic', message.topic, entry.index)) continue;
      // No send path stores such a message now (SendService checks each message's topic), but one
      // committed by an older version or a bug must not stop every replica at the same entry for
      // good: each skips it alike (never dispatched, so never served) and says so.
      const unfit = ConsumeQueueStore.unfitQueue(message.topic, message.queueId);
      if (unfit !== null) {
        this.options.logger.error({ index: entry.index, messageId: message.messageId, reason: unfit }, 'a committed message names no possible queue; not dispatched');
        continue;
      }
      const queue = this.options.consumeQueues.queue(message.topic, message.queueId);
      await queue.writable();
      const queueOffset = queue.append({ position: bodyPosition + offset, size, tagHash: tagHash(message.tag) });
      placed.push({ topic: message.topic, queueId: message.queueId, queueOffset });
      indexed.push({
        topic: message.topic, queueId: message.queueId, queueOffset, position: bodyPosition + offset, size, storeTimestampMs: entry.storeTimestampMs,
        entryIndex: entry.index, messageId: message.messageId, keys: message.keys,
      });
      if (message.topic === TIMER_TOPIC) {
        timerRows.push({
          dueMs: message.deliveryTimestampMs, position: bodyPosition + offset, size, queueOffset, entryIndex: entry.index,
          topic: message.properties[SystemProperty.REAL_TOPIC] ?? '', messageId: message.messageId,
        });
      }
      if (message.topic === HALF_TOPIC) {
        this.options.metaStore.transactions.add({
          topic: message.properties[SystemProperty.REAL_TOPIC] ?? '', messageId: message.messageId, position: bodyPosition + offset, size, queueOffset,
          entryIndex: entry.index, storedAtMs: entry.storeTimestampMs, checks: 0,
        }, this.options.onFatal);
      }
      queues.set(`${message.queueId}\u0000${message.topic}`, { topic: message.topic, queueId: message.queueId });
    }
    // Queued before the dispatch checkpoint that covers this entry: a replay rebuilds what a crash lost.
    this.options.metaStore.messageIndex.add(indexed, this.options.onFatal);
    this.options.metaStore.timerIndex.add(timerRows, this.options.onFatal);
    this.options.metaStore.timerIndex.remove(timersDone, this.options.onFatal);
    for (const { topic, queueId } of queues.values()) for (const listener of this.dispatchListeners) listener(topic, queueId);
    return { kind: 'messages', placed };
  }

  private applyMeta(commands: MetaCommand[], checkpoint: LogCheckpoint): ApplyResult {
    const batch = emptyWriteBatch(checkpoint);
    const outcomes = commands.map((command) => this.applyCommand(command, checkpoint.index, batch));
    this.metaCheckpoint = checkpoint;
    this.options.metaStore.write(batch).catch((error: unknown) => this.options.onFatal(error));
    return { kind: 'meta', outcomes };
  }

  /** A committed membership: stored with the applied checkpoint, then adopted by the Raft node. */
  private applyConfigChange(entry: LogEntry, checkpoint: LogCheckpoint): void {
    // A committed record passed its CRC: a body that does not parse is a bug, and fatal.
    const membership = decodeMembership(entry.body);
    const batch: MetaWriteBatch = { ...emptyWriteBatch(checkpoint), membership };
    this.metaCheckpoint = checkpoint;
    this.options.metaStore.write(batch).catch((error: unknown) => this.options.onFatal(error));
    this.options.onMembership?.(membership, entry.index);
  }

  private applyCommand(command: MetaCommand, index: number, batch: MetaWriteBatch): CommandOutcome | null {
    const { popState, topics, fences } = this.options;
    const fence = (kind: FenceKind, name: string, intervals: DeadInterval[] | null): void => {
      if (intervals !== null) batch.fences.push({ key: DeletionFences.key(kind, name), intervals: intervals.map((i) => ({ ...i })) });
    };
    switch (command.kind) {
      case 'topic.put':
        topics.putTopic(command.topic);
        batch.topics.push(command.topic);
        fence('topic', command.topic.name, fences.created('topic', command.topic.name, index));
        return null;
      case 'group.put':
        topics.putGroup(command.group);
        batch.groups.push(command.group);
        fence('group', command.group.name, fences.created('group', command.group.name, index));
        return null;
      case 'topic.delete':
        topics.deleteTopic(command.name);
        batch.topicsDelete.push(command.name);
        batch.progressDelete.push(...popState.forget('topic', command.name));
        fence('topic', command.name, fences.deleted('topic', command.name, index));
        return null;
      case 'group.delete':
        topics.deleteGroup(command.name);
        batch.groupsDelete.push(command.name);
        batch.progressDelete.push(...popState.forget('group', command.name));
        fence('group', command.name, fences.deleted('group', command.name, index));
        return null;
      case 'acl.user.put':
        this.options.acl.put(command.user);
        batch.aclPut.push(command.user);
        return null;
      case 'acl.user.delete':
        this.options.acl.delete(command.accessKey);
        batch.aclDelete.push(command.accessKey);
        return null;
      case 'timer.cancel':
      case 'txn.rollback':
      case 'txn.checked':
        return null; // applied in dispatch order (see applyEntry)
      default:
        // Consumer progress of a topic or group deleted before this entry (and not created again): dropped.
        if (fences.deadAt('topic', command.topic, index) || fences.deadAt('group', command.group, index)) return droppedOutcome(command);
        return this.applyProgressCommand(command, batch);
    }
  }

  /** Pop, ack, visibility and offset commands. */
  private applyProgressCommand(command: Exclude<MetaCommand, { kind: 'topic.put' | 'group.put' | 'topic.delete' | 'group.delete' | 'timer.cancel' | 'txn.rollback' | 'txn.checked' | 'acl.user.put' | 'acl.user.delete' }>, batch: MetaWriteBatch): CommandOutcome | null {
    const { popState } = this.options;
    switch (command.kind) {
      case 'pop': {
        popState.applyPop(command);
        this.recordQueue(command.group, command.topic, command.queueId, command.offsets, batch);
        return null;
      }
      case 'ack': {
        const outcome = popState.applyAck(command);
        if (outcome.ok) this.recordQueue(command.group, command.topic, command.queueId, [command.offset], batch);
        return outcome;
      }
      case 'changeInvisible': {
        const outcome = popState.applyChangeInvisible(command);
        if (outcome.ok) this.recordQueue(command.group, command.topic, command.queueId, [command.offset], batch);
        return outcome;
      }
      case 'offset.commit':
      case 'offset.reset': {
        // Only the inflight entries the command drops are written (as deletions).
        const inflight = [...popState.queue(command.group, command.topic, command.queueId).inflight.keys()];
        const dropped = command.kind === 'offset.reset' ? inflight : inflight.filter((offset) => offset < command.offset);
        const outcome = command.kind === 'offset.commit' ? popState.applyCommitOffset(command) : popState.applyResetOffset(command);
        if (outcome.ok) this.recordQueue(command.group, command.topic, command.queueId, dropped, batch);
        return outcome;
      }
    }
  }

  /** Adds a queue's progress and the named offsets' inflight state (or deletion) to the batch. */
  private recordQueue(group: string, topic: string, queueId: number, offsets: readonly number[], batch: MetaWriteBatch): void {
    const queueKey = popStateKey(group, topic, queueId);
    const state = this.options.popState.queue(group, topic, queueId);
    batch.progress.push({ key: queueKey, value: { ackOffset: state.ackOffset, popOffset: state.popOffset, resetVersion: state.resetVersion } });
    for (const offset of offsets) {
      const entry = state.inflight.get(offset);
      if (entry) batch.inflightPut.push({ key: inflightKey(queueKey, offset), value: entry });
      else batch.inflightDelete.push(inflightKey(queueKey, offset));
    }
  }

  private remember(index: number, result: ApplyResult): void {
    this.results.set(index, result);
    const kept = this.options.resultsKept ?? 8192;
    if (this.results.size > kept) {
      const oldest = this.results.keys().next().value;
      if (oldest !== undefined) this.results.delete(oldest);
    }
    const list = this.waiters.get(index);
    if (list) {
      this.waiters.delete(index);
      for (const waiter of list) waiter.resolve(result);
    }
  }
}

/** What a progress command answers when its topic or group was deleted before it committed. */
function droppedOutcome(command: MetaCommand): CommandOutcome | null {
  switch (command.kind) {
    case 'ack':
    case 'changeInvisible':
      return { ok: false, reason: 'ALREADY_ACKED' };
    case 'offset.commit':
    case 'offset.reset':
      return { ok: false, offset: 0, resetVersion: 0 };
    default:
      return null;
  }
}
