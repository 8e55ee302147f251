/**
 * Pull consumption (RocketMQ's PullMessage): a consumer names a queue and an offset and gets the
 * messages from there; it keeps its own position and commits it separately. Pulls change no state
 * on the broker, so followers serve them too, from their own ConsumeQueues (which hold committed
 * entries only). The leader suggests a follower to a consumer far behind, to keep cold reads off
 * its disk and page cache; a follower that has nothing newer sends the consumer back to the leader.
 */
import { LedgerError } from '../common/errors.js';
import type { CommitLog } from '../store/commit-log.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import type { StoredMessage } from '../store/message-codec.js';
import type { BrokerConfig } from './broker-config.js';
import type { MessageReader } from './message-reader.js';
import { checkGroupName, checkTopicName } from './name-rules.js';
import type { PollWaiters } from './poll-waiters.js';
import type { PopState } from './pop-state.js';
import type { ReplicatedLog } from './replicated-log.js';
import { TagFilter } from './tag-filter.js';
import type { TopicService } from './topic-service.js';
import { PERM_READ } from './topic-service.js';

export interface PullRequest {
  group: string;
  topic: string;
  queueId: number;
  offset: number;
  maxMessages: number;
  pollTimeoutMs: number;
  filterType: string;
  filterExpression: string;
  /**
   * The group reset version the consumer's position derives from; when the queue was reset since
   * (a higher version), the pull answers OFFSET_RESET with the new position. -1: the consumer keeps
   * its own position (broadcasting, assigned queues) and resets do not apply.
   */
  resetVersion: number;
}

/**
 * RocketMQ's PullStatus, plus OFFSET_RESET: the group's progress on this queue was reset; continue
 * from `nextOffset` with `resetVersion`.
 */
export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL' | 'OFFSET_RESET';

export interface PullResult {
  status: PullStatus;
  messages: Array<{ message: StoredMessage; queueOffset: number }>;
  /** Where the next pull of this queue starts (past filtered-out messages too). */
  nextOffset: number;
  minOffset: number;
  maxOffset: number;
  /** Node to pull this queue from next, or null to stay: a follower for a consumer far behind, the leader when this follower has nothing newer. */
  suggested: { nodeId: string; address: string } | null;
  /** The queue's reset version for the group as this node knows it. */
  resetVersion: number;
}

/** Where a follower for reads can be found (the Raft leader's view of its group). */
export interface ReadReplicas {
  /** Followers whose log holds at least `index`, with their broker addresses. */
  followersHolding(index: number): Array<{ nodeId: string; address: string }>;
}

export interface PullServiceDeps {
  config: BrokerConfig;
  log: ReplicatedLog;
  commitLog: CommitLog;
  consumeQueues: ConsumeQueueStore;
  topics: TopicService;
  waiters: PollWaiters;
  reader: MessageReader;
  /** Null for a group of one node. */
  replicas: ReadReplicas | null;
  /** Consumer progress (for reset versions). */
  popState: PopState;
  /** Counts a pull served here. */
  onServed?: (role: 'leader' | 'follower', messages: number) => void;
  clock?: () => number;
}

/** What one range read of a queue found (shared by the pulls that asked for it at once). */
interface RangeRead {
  /** Matching messages; shared between answers, never changed. */
  messages: PullResult['messages'];
  nextOffset: number;
  /** CommitLog position of the first unit read (how far behind the reader is). */
  firstPosition: number;
}

const MAX_PULL_BATCH = 1024;
const MAX_SCAN_UNITS = 1024;

/** See the file comment. */
export class PullService {
  private readonly clock: () => number;
  private nextFollower = 0;
  private readonly readsInFlight = new Map<string, Promise<RangeRead>>();

  constructor(private readonly deps: PullServiceDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /**
   * Messages of one queue from `offset`, waiting up to `pollTimeoutMs` while there are none.
   * When `signal` aborts (the client gave the request up), a parked wait ends at once and the
   * answer is whatever the queue holds then (nobody reads it).
   */
  async pull(request: PullRequest, signal?: AbortSignal): Promise<PullResult> {
    const { config } = this.deps;
    checkGroupName(request.group);
    checkTopicName(request.topic);
    if (!Number.isInteger(request.maxMessages) || request.maxMessages < 1 || request.maxMessages > MAX_PULL_BATCH) {
      throw new LedgerError('BAD_REQUEST', `batch size must be 1..${MAX_PULL_BATCH}`);
    }
    if (!Number.isSafeInteger(request.offset) || request.offset < 0) throw new LedgerError('ILLEGAL_OFFSET', `offset must be a non-negative integer, got ${request.offset}`);
    if (!Number.isSafeInteger(request.resetVersion) || request.resetVersion < -1) throw new LedgerError('BAD_REQUEST', `reset version must be -1 or more, got ${request.resetVersion}`);
    if (request.pollTimeoutMs < 0 || request.pollTimeoutMs > config.maxPollTimeoutMs) {
      throw new LedgerError('ILLEGAL_POLLING_TIME', `long-polling timeout must be 0..${config.maxPollTimeoutMs} ms`);
    }
    const filter = TagFilter.parse(request.filterType, request.filterExpression);
    const topic = await this.deps.topics.topic(request.topic, false);
    if ((topic.perm & PERM_READ) === 0) throw new LedgerError('FORBIDDEN', `topic ${topic.name} is not readable`);
    if (!Number.isInteger(request.queueId) || request.queueId < 0 || request.queueId >= topic.readQueues) {
      throw new LedgerError('BAD_REQUEST', `topic ${topic.name} has no queue ${request.queueId}`);
    }
    const deadline = this.clock() + request.pollTimeoutMs;
    let timedOut = false;
    for (;;) {
      const leading = this.deps.log.isLeader();
      const reset = this.resetSince(request);
      if (reset) return reset;
      const result = await this.pullOnce(request, filter, leading);
      if (result.status === 'FOUND' || result.status === 'OFFSET_ILLEGAL' || result.status === 'NO_MATCHED_MSG') return this.served(result, leading, signal);
      // Nothing newer here: a follower sends the consumer back to the leader at once.
      if (!leading) return { ...result, suggested: this.leader() };
      const now = this.clock();
      if (timedOut || now >= deadline || signal?.aborted) return result;
      const woke = await this.deps.waiters.wait(request.topic, request.queueId, deadline - now, { signal });
      if (woke === 'aborted') return result;
      // Look once more (a message may have come with the timeout), then answer.
      timedOut = woke === 'timeout';
    }
  }

  /** OFFSET_RESET when the group's progress on the queue was reset after the consumer's position. */
  private resetSince(request: PullRequest): PullResult | null {
    if (request.resetVersion < 0) return null;
    const state = this.deps.popState.peek(request.group, request.topic, request.queueId);
    if (!state || state.resetVersion <= request.resetVersion) return null;
    const queue = this.deps.consumeQueues.queue(request.topic, request.queueId);
    return {
      status: 'OFFSET_RESET', messages: [], nextOffset: state.ackOffset, minOffset: queue.minOffset, maxOffset: queue.maxOffset,
      suggested: null, resetVersion: state.resetVersion,
    };
  }

  private async pullOnce(request: PullRequest, filter: TagFilter, leading: boolean): Promise<PullResult> {
    const queue = this.deps.consumeQueues.queue(request.topic, request.queueId);
    const minOffset = queue.minOffset;
    const maxOffset = queue.maxOffset;
    const resetVersion = request.resetVersion < 0 ? 0 : (this.deps.popState.peek(request.group, request.topic, request.queueId)?.resetVersion ?? 0);
    const base = { messages: [], minOffset, maxOffset, suggested: null, resetVersion };
    if (request.offset < minOffset) return { ...base, status: 'OFFSET_ILLEGAL', nextOffset: minOffset };
    // Past this node's end: illegal on the leader; a follower (or a leader still applying) may just lag.
    if (request.offset > maxOffset) return leading ? { ...base, status: 'OFFSET_ILLEGAL', nextOffset: maxOffset } : { ...base, status: 'NO_NEW_MSG', nextOffset: request.offset };
    if (request.offset === maxOffset) return { ...base, status: 'NO_NEW_MSG', nextOffset: maxOffset };
    const { messages, nextOffset, firstPosition } = await this.readShared(request, filter);
    if (messages.length === 0) {
      // Corrupt here: a follower sends the consumer to the leader; a leader answers nothing new while it repairs.
      return { ...base, status: nextOffset > request.offset ? 'NO_MATCHED_MSG' : 'NO_NEW_MSG', nextOffset };
    }
    const suggested = leading ? this.followerFor(firstPosition) : null;
    return { ...base, status: 'FOUND', messages, nextOffset, suggested };
  }

  /**
   * The messages of a pull, read once for every pull that asks for the same range at the same
   * time: a message on a queue wakes every pull parked there (one per consumer group or client),
   * and they would otherwise each read the same ConsumeQueue units and CommitLog record. Entries
   * live only while their read is in flight.
   */
  private readShared(request: PullRequest, filter: TagFilter): Promise<RangeRead> {
    const key = `${request.topic}\u0000${request.queueId}\u0000${request.offset}\u0000${request.maxMessages}\u0000${request.filterType}\u0000${request.filterExpression}`;
    let read = this.readsInFlight.get(key);
    if (!read) {
      read = this.readRange(request, filter).finally(() => this.readsInFlight.delete(key));
      this.readsInFlight.set(key, read);
    }
    return read;
  }

  private async readRange(request: PullRequest, filter: TagFilter): Promise<RangeRead> {
    const queue = this.deps.consumeQueues.queue(request.topic, request.queueId);
    const units = await queue.read(request.offset, Math.min(MAX_SCAN_UNITS, Math.max(request.maxMessages * 4, 32)));
    const messages: PullResult['messages'] = [];
    let nextOffset = request.offset;
    for (const unit of units) {
      if (messages.length >= request.maxMessages) break;
      if (!filter.matchesHash(unit.tagHash)) {
        nextOffset = unit.offset + 1;
        continue;
      }
      const message = await this.deps.reader.readOrNull(request.topic, request.queueId, unit.offset, unit.position, unit.size);
      if (!message) break; // never skip an unreadable message: the queue stops here until repaired
      nextOffset = unit.offset + 1;
      if (filter.matchesTag(message.tag)) messages.push({ message, queueOffset: unit.offset });
    }
    return { messages, nextOffset, firstPosition: units[0]?.position ?? 0 };
  }

  /**
   * A follower for a consumer reading at CommitLog `position`, when it is more than
   * `followerReadLagBytes` behind the log end and a follower holds what it reads; else null.
   */
  private followerFor(position: number): { nodeId: string; address: string } | null {
    const { replicas, commitLog, config } = this.deps;
    if (replicas === null || commitLog.endPosition - position <= config.followerReadLagBytes) return null;
    const candidates = replicas.followersHolding(this.deps.log.commitIndex);
    if (candidates.length === 0) return null;
    return candidates[this.nextFollower++ % candidates.length];
  }

  private leader(): { nodeId: string; address: string } | null {
    const view = this.deps.log.leadership();
    return view.leaderId !== null && view.leaderAddress !== null ? { nodeId: view.leaderId, address: view.leaderAddress } : null;
  }

  private served(result: PullResult, leading: boolean, signal: AbortSignal | undefined): PullResult {
    // An answer to a pull given up meanwhile is never read: not counted.
    if (result.messages.length > 0 && !signal?.aborted) this.deps.onServed?.(leading ? 'leader' : 'follower', result.messages.length);
    return result;
  }
}
