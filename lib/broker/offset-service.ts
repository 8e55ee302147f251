/**
 * Consumer progress for pull and push consumers (RocketMQ's consumer offsets): commit, query and
 * reset, on the leader. Every change is a META command committed through the log and applied on
 * every node, so a failover never rolls progress back. A reset (to an offset or a time) bumps the
 * queue's reset version: parked and later pulls of the group with an older version are answered
 * OFFSET_RESET with the new position, and commits carrying an older version are refused, so
 * running consumers continue from the reset point without a restart.
 */
import { LedgerError } from '../common/errors.js';
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { CommitOffsetCommand, ResetOffsetCommand } from './meta-command.js';
import { checkGroupName, checkTopicName } from './name-rules.js';
import type { PollWaiters } from './poll-waiters.js';
import { isHandleOutcome } from './pop-state.js';
import type { OffsetOutcome, PopState } from './pop-state.js';
import { offsetAtTime, storeTimeAt } from './queue-time-search.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { TopicService } from './topic-service.js';

/** One queue's progress to commit. */
export interface OffsetCommit {
  topic: string;
  queueId: number;
  offset: number;
  /** The reset version the consumer's position derives from (from a query or an OFFSET_RESET pull). */
  resetVersion: number;
}

/** A group's progress on one queue, with the queue's bounds. */
export interface QueueOffset {
  topic: string;
  queueId: number;
  /** Every offset below it is consumed; -1 when the group never committed on this queue. */
  offset: number;
  resetVersion: number;
  minOffset: number;
  maxOffset: number;
}

/** One queue's bounds and latest store time (admin topicStatus). */
export interface QueueStatus {
  queueId: number;
  minOffset: number;
  maxOffset: number;
  /** Store time of the last message (ms since the epoch); 0 when the queue is empty. */
  lastStoreTimestampMs: number;
}

/** Where a reset puts a group: an explicit offset (clamped to the queue) or a store time. */
export type ResetTarget = { offset: number } | { timestampMs: number };

export interface OffsetServiceDeps {
  log: ReplicatedLog;
  commitLog: CommitLog;
  consumeQueues: ConsumeQueueStore;
  popState: PopState;
  topics: TopicService;
  pipeline: CommitPipeline;
  waiters: PollWaiters;
}

/** Most queues one request may name (a topic has at most 1,024). */
const MAX_QUEUES_PER_REQUEST = 4096;

/** See the file comment. */
export class OffsetService {
  constructor(private readonly deps: OffsetServiceDeps) {}

  /**
   * Commits progress on several queues in one log entry. Each result is the queue's progress
   * afterwards; `ok` false means the commit was refused because the queue was reset since the
   * consumer read (the result then holds the reset position and version).
   */
  async commit(group: string, commits: readonly OffsetCommit[]): Promise<OffsetOutcome[]> {
    checkGroupName(group);
    if (commits.length === 0) return [];
    if (commits.length > MAX_QUEUES_PER_REQUEST) throw new LedgerError('BAD_REQUEST', `at most ${MAX_QUEUES_PER_REQUEST} queues per commit`);
    requireLeader(this.deps.log);
    await this.deps.topics.group(group, true);
    const commands: CommitOffsetCommand[] = [];
    for (const commit of commits) {
      await this.checkQueue(commit.topic, commit.queueId);
      const maxOffset = this.deps.consumeQueues.queue(commit.topic, commit.queueId).maxOffset;
      if (!Number.isSafeInteger(commit.offset) || commit.offset < 0 || commit.offset > maxOffset) {
        throw new LedgerError('ILLEGAL_OFFSET', `offset ${commit.offset} of ${commit.topic}/${commit.queueId} is outside 0..${maxOffset}`);
      }
      if (!Number.isSafeInteger(commit.resetVersion) || commit.resetVersion < 0) throw new LedgerError('BAD_REQUEST', 'reset version must be a non-negative integer');
      commands.push({ kind: 'offset.commit', group, topic: commit.topic, queueId: commit.queueId, offset: commit.offset, resetVersion: commit.resetVersion });
    }
    return this.submit(commands);
  }

  /** The group's progress on `queueIds` of `topic` (every readable queue when empty). */
  async query(group: string, topic: string, queueIds: readonly number[]): Promise<QueueOffset[]> {
    checkGroupName(group);
    requireLeader(this.deps.log);
    const ids = await this.queueIdsOf(topic, queueIds);
    return ids.map((queueId) => {
      const queue = this.deps.consumeQueues.queue(topic, queueId);
      const state = this.deps.popState.peek(group, topic, queueId);
      return { topic, queueId, offset: state ? state.ackOffset : -1, resetVersion: state ? state.resetVersion : 0, minOffset: queue.minOffset, maxOffset: queue.maxOffset };
    });
  }

  /**
   * Resets the group's progress on `queueIds` of `topic` (every readable queue when empty) to
   * `target`: an offset (clamped to each queue's [min, max]) or the first message stored at or
   * after a time. Returns each queue's new progress.
   */
  async reset(group: string, topic: string, queueIds: readonly number[], target: ResetTarget): Promise<QueueOffset[]> {
    checkGroupName(group);
    requireLeader(this.deps.log);
    await this.deps.topics.group(group, false);
    const ids = await this.queueIdsOf(topic, queueIds);
    const commands: ResetOffsetCommand[] = [];
    for (const queueId of ids) {
      const queue = this.deps.consumeQueues.queue(topic, queueId);
      let offset: number;
      if ('offset' in target) {
        if (!Number.isSafeInteger(target.offset) || target.offset < 0) throw new LedgerError('ILLEGAL_OFFSET', `offset must be a non-negative integer, got ${target.offset}`);
        offset = Math.min(Math.max(target.offset, queue.minOffset), queue.maxOffset);
      } else {
        if (!Number.isSafeInteger(target.timestampMs) || target.timestampMs < 0) throw new LedgerError('BAD_REQUEST', `timestamp must be a non-negative integer (ms), got ${target.timestampMs}`);
        offset = await offsetAtTime(queue, this.deps.commitLog, target.timestampMs);
      }
      commands.push({ kind: 'offset.reset', group, topic, queueId, offset });
    }
    const outcomes = await this.submit(commands);
    // Parked pulls of the topic look again and find their position reset.
    this.deps.waiters.notify(topic);
    return ids.map((queueId, i) => {
      const queue = this.deps.consumeQueues.queue(topic, queueId);
      return { topic, queueId, offset: outcomes[i].offset, resetVersion: outcomes[i].resetVersion, minOffset: queue.minOffset, maxOffset: queue.maxOffset };
    });
  }

  /**
   * Every readable queue of `topic` with its bounds and the store time of its last message
   * (0 when empty): mqadmin's topicStatus. Leader only, so the figures are the group's.
   */
  async queueStatus(topic: string): Promise<QueueStatus[]> {
    requireLeader(this.deps.log);
    const ids = await this.queueIdsOf(topic, []);
    return Promise.all(ids.map(async (queueId) => {
      const queue = this.deps.consumeQueues.queue(topic, queueId);
      const { minOffset, maxOffset } = queue;
      const last = maxOffset > minOffset ? await storeTimeAt(queue, this.deps.commitLog, maxOffset - 1) : 0;
      return { queueId, minOffset, maxOffset, lastStoreTimestampMs: Number.isFinite(last) ? last : 0 };
    }));
  }

  private async submit(commands: ReadonlyArray<CommitOffsetCommand | ResetOffsetCommand>): Promise<OffsetOutcome[]> {
    const result = await this.deps.pipeline.submitMeta(commands);
    if (result.kind !== 'meta') throw new LedgerError('INTERNAL_ERROR', 'offset entry applied without outcomes');
    return result.outcomes.map((outcome) => {
      if (outcome === null || isHandleOutcome(outcome)) throw new LedgerError('INTERNAL_ERROR', 'offset command applied without an offset outcome');
      return outcome;
    });
  }

  private async checkQueue(topicName: string, queueId: number): Promise<void> {
    checkTopicName(topicName);
    const topic = await this.deps.topics.topic(topicName, false);
    if (!Number.isInteger(queueId) || queueId < 0 || queueId >= topic.readQueues) throw new LedgerError('BAD_REQUEST', `topic ${topic.name} has no queue ${queueId}`);
  }

  private async queueIdsOf(topicName: string, queueIds: readonly number[]): Promise<number[]> {
    checkTopicName(topicName);
    const topic = await this.deps.topics.topic(topicName, false);
    if (queueIds.length === 0) return Array.from({ length: topic.readQueues }, (_, i) => i);
    if (queueIds.length > MAX_QUEUES_PER_REQUEST) throw new LedgerError('BAD_REQUEST', `at most ${MAX_QUEUES_PER_REQUEST} queues per request`);
    for (const queueId of queueIds) {
      if (!Number.isInteger(queueId) || queueId < 0 || queueId >= topic.readQueues) throw new LedgerError('BAD_REQUEST', `topic ${topic.name} has no queue ${queueId}`);
    }
    return [...new Set(queueIds)];
  }
}
