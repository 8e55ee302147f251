/**
 * Pop consumption (RocketMQ 5's model, what the official clients use): a pop hands out visible
 * messages of a topic to a consumer group and hides them for an invisible time; an ack consumes a
 * message for good; a message not acked in time becomes visible again with its delivery attempt
 * increased. Every pop, ack and visibility change is a META command committed through the log
 * before the consumer hears of it, so a restart or failover never forgets an ack.
 */
import { LedgerError } from '../common/errors.js';
import type { ConsumeQueueStore } from '../store/consume-queue-store.js';
import type { StoredMessage } from '../store/message-codec.js';
import type { BrokerConfig } from './broker-config.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { MessageReader } from './message-reader.js';
import type { AckCommand, PopCommand } from './meta-command.js';
import { checkGroupName, checkTopicName } from './name-rules.js';
import { ANY_QUEUE } from './poll-waiters.js';
import type { PollWaiters } from './poll-waiters.js';
import { isHandleOutcome } from './pop-state.js';
import type { PopState } from './pop-state.js';
import { decodeReceiptHandle, encodeReceiptHandle } from './receipt-handle.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import { deadLetterTopicOf } from './retry-service.js';
import type { SendService } from './send-service.js';
import { TagFilter } from './tag-filter.js';
import type { TopicService } from './topic-service.js';
import { PERM_READ } from './topic-service.js';

export interface PopRequest {
  group: string;
  topic: string;
  /** -1 for any queue. */
  queueId: number;
  maxMessages: number;
  invisibleMs: number;
  pollTimeoutMs: number;
  filterType: string;
  filterExpression: string;
}

export interface PoppedMessage {
  message: StoredMessage;
  queueId: number;
  queueOffset: number;
  receiptHandle: string;
  deliveryAttempt: number;
  invisibleUntilMs: number;
}

/** Per-handle outcome of an ack: `null` when acknowledged, else the error. */
export type AckOutcome = LedgerError | null;

export interface PopServiceDeps {
  config: BrokerConfig;
  log: ReplicatedLog;
  consumeQueues: ConsumeQueueStore;
  popState: PopState;
  topics: TopicService;
  pipeline: CommitPipeline;
  waiters: PollWaiters;
  sender: SendService;
  reader: MessageReader;
  clock?: () => number;
}

const MAX_POP_BATCH = 1024;

/** How one pop request hands out messages. */
interface PopRules {
  invisibleMs: number;
  filter: TagFilter;
  maxDeliveryAttempts: number;
  /** The group consumes orderly (FIFO): see GroupConfig.consumeOrderly. */
  orderly: boolean;
}
const MAX_SCAN_UNITS = 1024;

/** See the file comment. */
export class PopService {
  private readonly locks = new Map<string, Promise<void>>();
  private nextStartQueue = 0;
  private readonly clock: () => number;

  constructor(private readonly deps: PopServiceDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Pops up to `maxMessages`, waiting up to `pollTimeoutMs` when none is visible. */
  async pop(request: PopRequest): Promise<PoppedMessage[]> {
    const { config } = this.deps;
    checkGroupName(request.group);
    checkTopicName(request.topic);
    if (!Number.isInteger(request.maxMessages) || request.maxMessages < 1 || request.maxMessages > MAX_POP_BATCH) {
      throw new LedgerError('BAD_REQUEST', `batch size must be 1..${MAX_POP_BATCH}`);
    }
    const invisibleMs = request.invisibleMs > 0 ? request.invisibleMs : config.defaultInvisibleMs;
    if (invisibleMs < config.minInvisibleMs || invisibleMs > config.maxInvisibleMs) {
      throw new LedgerError('ILLEGAL_INVISIBLE_TIME', `invisible time must be ${config.minInvisibleMs}..${config.maxInvisibleMs} ms`);
    }
    if (request.pollTimeoutMs < 0 || request.pollTimeoutMs > config.maxPollTimeoutMs) {
      throw new LedgerError('ILLEGAL_POLLING_TIME', `long-polling timeout must be 0..${config.maxPollTimeoutMs} ms`);
    }
    const filter = TagFilter.parse(request.filterType, request.filterExpression);
    this.requireLeader();
    const topic = await this.deps.topics.topic(request.topic, false);
    if ((topic.perm & PERM_READ) === 0) throw new LedgerError('FORBIDDEN', `topic ${topic.name} is not readable`);
    if (request.queueId >= topic.readQueues) throw new LedgerError('BAD_REQUEST', `topic ${topic.name} has no queue ${request.queueId}`);
    const { maxDeliveryAttempts, consumeOrderly } = await this.deps.topics.group(request.group, true);
    const rules: PopRules = { invisibleMs, filter, maxDeliveryAttempts, orderly: consumeOrderly === true };
    const deadline = this.clock() + request.pollTimeoutMs;
    let timedOut = false;
    for (;;) {
      const popped = await this.withLock(`${request.group}\u0000${request.topic}`, () =>
        this.popOnce(request, topic.readQueues, rules),
      );
      const now = this.clock();
      if (popped.length > 0 || timedOut || now >= deadline) return popped;
      // Until the poll timeout, or sooner when an in-flight message becomes visible again.
      const until = Math.min(deadline, this.nextVisibleAt(request, topic.readQueues) ?? deadline);
      const woke = await this.deps.waiters.wait(request.topic, request.queueId >= 0 ? request.queueId : ANY_QUEUE, until - now, { precise: true });
      timedOut = woke === 'timeout' && until >= deadline;
      this.requireLeader();
    }
  }

  /** Acknowledges deliveries; one outcome per handle, in order. */
  async ack(group: string, topic: string, handles: readonly string[]): Promise<AckOutcome[]> {
    checkGroupName(group);
    checkTopicName(topic);
    this.requireLeader();
    const { consumeOrderly } = await this.deps.topics.group(group, false);
    const outcomes: AckOutcome[] = handles.map(() => null);
    const commands: AckCommand[] = [];
    const commandSlots: number[] = [];
    handles.forEach((text, slot) => {
      try {
        const handle = this.decodeOwnHandle(text, group, topic);
        const state = this.deps.popState.queue(group, topic, handle.queueId);
        if (handle.offset >= state.popOffset) throw new LedgerError('INVALID_RECEIPT_HANDLE', 'invalid receipt handle: offset was never delivered');
        commands.push({ kind: 'ack', group, topic, queueId: handle.queueId, offset: handle.offset, handleSeq: handle.handleSeq });
        commandSlots.push(slot);
      } catch (error) {
        outcomes[slot] = error instanceof LedgerError ? error : new LedgerError('INVALID_RECEIPT_HANDLE', String(error));
      }
    });
    if (commands.length > 0) {
      const result = await this.deps.pipeline.submitMeta(commands);
      if (result.kind !== 'meta') throw new LedgerError('INTERNAL_ERROR', 'ack entry applied without outcomes');
      result.outcomes.forEach((outcome, i) => {
        if (isHandleOutcome(outcome) && !outcome.ok && outcome.reason === 'STALE_HANDLE') {
          outcomes[commandSlots[i]] = new LedgerError('INVALID_RECEIPT_HANDLE', 'receipt handle expired: the message was delivered again or its visibility changed');
        }
      });
    }
    // An ack may unlock a FIFO queue: parked pops of the group look again.
    if (consumeOrderly === true) for (const queueId of new Set(commands.map((c) => c.queueId))) this.deps.waiters.notify(topic, queueId);
    return outcomes;
  }

  /** Changes a delivery's invisible time; returns the new receipt handle. */
  async changeInvisible(group: string, topic: string, receiptHandle: string, invisibleMs: number): Promise<{ receiptHandle: string }> {
    const { config } = this.deps;
    checkGroupName(group);
    checkTopicName(topic);
    if (invisibleMs < 0 || invisibleMs > config.maxInvisibleMs) {
      throw new LedgerError('ILLEGAL_INVISIBLE_TIME', `invisible time must be 0..${config.maxInvisibleMs} ms`);
    }
    this.requireLeader();
    await this.deps.topics.group(group, false);
    const handle = this.decodeOwnHandle(receiptHandle, group, topic);
    const visibleAtMs = this.clock() + invisibleMs;
    const result = await this.deps.pipeline.submitMeta([
      { kind: 'changeInvisible', group, topic, queueId: handle.queueId, offset: handle.offset, handleSeq: handle.handleSeq, visibleAtMs },
    ]);
    const outcome = result.kind === 'meta' ? result.outcomes[0] : null;
    if (!isHandleOutcome(outcome) || !outcome.ok) {
      throw new LedgerError('INVALID_RECEIPT_HANDLE', 'receipt handle expired or the message was already acknowledged');
    }
    // Parked pops wait until the earliest visibility they knew of; this one may now come sooner.
    this.deps.waiters.notify(topic, handle.queueId);
    return {
      receiptHandle: encodeReceiptHandle(
        { brokerGroup: config.group, queueId: handle.queueId, offset: handle.offset, handleSeq: outcome.handleSeq, invisibleUntilMs: visibleAtMs },
        group,
        topic,
      ),
    };
  }

  /** Sends a delivered message to `%DLQ%<group>` and acknowledges it (a client gave up on it). */
  async forwardToDeadLetter(group: string, topic: string, receiptHandle: string): Promise<void> {
    checkGroupName(group);
    this.requireLeader();
    await this.deps.topics.group(group, false);
    const handle = this.decodeOwnHandle(receiptHandle, group, topic);
    const units = await this.deps.consumeQueues.queue(topic, handle.queueId).read(handle.offset, 1);
    if (units.length === 0) throw new LedgerError('INVALID_RECEIPT_HANDLE', 'receipt handle names no message');
    const message = await this.deps.reader.read(topic, handle.queueId, units[0].offset, units[0].position, units[0].size);
    await this.sendToDeadLetter(group, topic, [{ offset: handle.offset, message }]);
    const [outcome] = await this.ack(group, topic, [receiptHandle]);
    if (outcome) throw outcome;
  }

  /**
   * Copies messages of `topic` to `%DLQ%<group>` (one queue, as RocketMQ keeps it), with where
   * they came from in ORIGIN_TOPIC / ORIGIN_QUEUE_OFFSET.
   */
  private async sendToDeadLetter(group: string, topic: string, dead: ReadonlyArray<{ offset: number; message: StoredMessage }>): Promise<void> {
    const dlqTopic = deadLetterTopicOf(group);
    await this.deps.topics.systemTopic(dlqTopic, 1);
    // One send each: dead letters are rare, and a batch of large messages could exceed the batch size limit.
    for (const { offset, message } of dead) {
      await this.deps.sender.send(dlqTopic, 0, [{ ...message, topic: dlqTopic, properties: { ...message.properties, ORIGIN_TOPIC: topic, ORIGIN_QUEUE_OFFSET: String(offset) } }]);
    }
  }

  /**
   * Dead-letters redeliveries a group has run out of attempts for (RocketMQ's Proxy does the same
   * when it receives a message past the group's maximum): copied to the DLQ, then acknowledged.
   * A failover between the two can leave a second copy in the DLQ, never lose the message.
   */
  private async deadLetterExhausted(group: string, topic: string, queueId: number, exhausted: ReadonlyArray<{ offset: number; message: StoredMessage; handleSeq: number }>): Promise<void> {
    if (exhausted.length === 0) return;
    await this.sendToDeadLetter(group, topic, exhausted);
    await this.deps.pipeline.submitMeta(exhausted.map(({ offset, handleSeq }) => ({ kind: 'ack', group, topic, queueId, offset, handleSeq })));
  }

  private async popOnce(request: PopRequest, readQueues: number, rules: PopRules): Promise<PoppedMessage[]> {
    const { popState, consumeQueues, config } = this.deps;
    const { invisibleMs, filter, maxDeliveryAttempts, orderly } = rules;
    const now = this.clock();
    const visibleAtMs = now + invisibleMs;
    const queueIds = request.queueId >= 0 ? [request.queueId] : this.rotation(readQueues);
    const commands: PopCommand[] = [];
    const picked: Array<{ queueId: number; offset: number; message: StoredMessage }> = [];
    let remaining = request.maxMessages;
    for (const queueId of queueIds) {
      if (remaining <= 0) break;
      const state = popState.queue(request.group, request.topic, queueId);
      // FIFO: a queue with a delivery still invisible is locked; its next messages wait for it.
      if (orderly && state.hasInvisible(now)) continue;
      const queue = consumeQueues.queue(request.topic, queueId);
      const offsets: number[] = [];
      const exhausted: Array<{ offset: number; message: StoredMessage; handleSeq: number }> = [];
      // FIFO: at most one message per message group in flight, and nothing past a message that cannot be read.
      const groupsPicked = new Set<string>();
      let blocked = false;
      for (const offset of state.expired(now, remaining)) {
        const [unit] = await queue.read(offset, 1);
        const message = unit ? await this.deps.reader.readOrNull(request.topic, queueId, unit.offset, unit.position, unit.size) : null;
        if (!message) {
          blocked = orderly;
          if (orderly) break;
          continue;
        }
        const entry = state.inflight.get(offset);
        if (entry && entry.attempts >= maxDeliveryAttempts) {
          exhausted.push({ offset, message, handleSeq: entry.handleSeq });
          continue;
        }
        offsets.push(offset);
        picked.push({ queueId, offset, message });
        groupsPicked.add(message.messageGroup);
      }
      await this.deadLetterExhausted(request.group, request.topic, queueId, exhausted);
      let newPopOffset = state.popOffset;
      if (!blocked && state.inflight.size < config.maxInflightPerQueue && offsets.length < remaining && queue.maxOffset > state.popOffset) {
        const units = await queue.read(state.popOffset, Math.min(MAX_SCAN_UNITS, Math.max(remaining * 4, 32)));
        for (const unit of units) {
          if (offsets.length >= remaining) break;
          if (!filter.matchesHash(unit.tagHash)) {
            newPopOffset = unit.offset + 1;
            continue;
          }
          const message = await this.deps.reader.readOrNull(request.topic, queueId, unit.offset, unit.position, unit.size);
          if (!message) break; // never skip an unreadable message: this queue stops here until repaired
          // FIFO: the next message of a group already handed out waits for the next pop.
          if (orderly && filter.matchesTag(message.tag) && groupsPicked.has(message.messageGroup)) break;
          newPopOffset = unit.offset + 1;
          if (!filter.matchesTag(message.tag)) continue;
          offsets.push(unit.offset);
          picked.push({ queueId, offset: unit.offset, message });
          groupsPicked.add(message.messageGroup);
        }
      }
      if (offsets.length > 0 || newPopOffset > state.popOffset) {
        commands.push({ kind: 'pop', group: request.group, topic: request.topic, queueId, newPopOffset, offsets, visibleAtMs });
      }
      remaining -= offsets.length;
    }
    if (commands.length === 0) return [];
    await this.deps.pipeline.submitMeta(commands);
    const popped: PoppedMessage[] = [];
    for (const { queueId, offset, message } of picked) {
      const entry = popState.queue(request.group, request.topic, queueId).inflight.get(offset);
      if (!entry || entry.visibleAtMs !== visibleAtMs) continue; // acknowledged while this pop was committing
      const receiptHandle = encodeReceiptHandle(
        { brokerGroup: config.group, queueId, offset, handleSeq: entry.handleSeq, invisibleUntilMs: visibleAtMs },
        request.group,
        request.topic,
      );
      popped.push({ message, queueId, queueOffset: offset, receiptHandle, deliveryAttempt: entry.attempts, invisibleUntilMs: visibleAtMs });
    }
    return popped;
  }

  private decodeOwnHandle(text: string, group: string, topic: string): ReturnType<typeof decodeReceiptHandle> {
    const handle = decodeReceiptHandle(text, group, topic);
    if (handle.brokerGroup !== this.deps.config.group) {
      throw new LedgerError('INVALID_RECEIPT_HANDLE', `invalid receipt handle: issued by broker group ${handle.brokerGroup}`);
    }
    return handle;
  }

  private nextVisibleAt(request: PopRequest, readQueues: number): number | null {
    let earliest: number | null = null;
    const ids = request.queueId >= 0 ? [request.queueId] : Array.from({ length: readQueues }, (_, i) => i);
    for (const queueId of ids) {
      const at = this.deps.popState.queue(request.group, request.topic, queueId).nextVisibleAtMs();
      if (at !== null && (earliest === null || at < earliest)) earliest = at;
    }
    return earliest;
  }

  private rotation(count: number): number[] {
    const start = this.nextStartQueue++ % count;
    return Array.from({ length: count }, (_, i) => (start + i) % count);
  }

  private requireLeader(): void {
    requireLeader(this.deps.log);
  }

  /** Runs `work` after every earlier holder of `key` finished. */
  private async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => current);
    this.locks.set(key, chained);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.locks.get(key) === chained) this.locks.delete(key);
    }
  }
}
