import { randomBytes } from 'node:crypto';
import { LedgerError } from '../common/errors.js';
import { encodeMessageBatch } from '../store/message-codec.js';
import type { StoredMessage } from '../store/message-codec.js';
import type { CommitPipeline } from './commit-pipeline.js';
import { checkTopicName } from './name-rules.js';
import type { IncomingMessage } from './message-validator.js';
import { requireLeader } from './replicated-log.js';
import type { ReplicatedLog } from './replicated-log.js';
import type { TopicService } from './topic-service.js';
import { PERM_WRITE } from './topic-service.js';

/** Where one sent message landed. */
export interface SendResult {
  messageId: string;
  queueId: number;
  queueOffset: number;
  /** Transactional (half) messages only: what EndTransaction names it by. */
  transactionId?: string;
  /** Delayed messages still waiting only: what RecallMessage names it by. */
  recallHandle?: string;
}

/**
 * Storing: picks a batch's queue (round robin unless the caller names one), commits it as one
 * MESSAGES entry and answers with each message's queue offset once the entry is committed and
 * dispatched. A batch is all-or-nothing. It does not check messages against the producer limits:
 * producers' batches come through ProduceService, which does; the broker's own copies (retries,
 * dead letters, delayed and transactional deliveries) were checked when first sent.
 */
export class SendService {
  private nextQueue = 0;

  constructor(
    private readonly log: ReplicatedLog,
    private readonly topics: TopicService,
    private readonly pipeline: CommitPipeline,
    /**
     * TEST ONLY (LEDGERMQ_UNSAFE_TEST_ACK_BEFORE_COMMIT=1): answer a send as soon as the leader has
     * accepted the entry, before it is replicated or even fsynced, with queue offset -1. It exists
     * so the fault harness can show that its checkers catch lost acknowledged messages.
     */
    private readonly unsafeAckBeforeCommit = false,
  ) {}

  async send(topicName: string, queueId: number, messages: readonly IncomingMessage[]): Promise<SendResult[]> {
    checkTopicName(topicName);
    if (messages.length === 0) throw new LedgerError('BAD_REQUEST', 'a send carries no message');
    // Dispatch files each message under its own topic: one naming another topic than the send's
    // would bypass the checks made for that topic (producers' batches are checked earlier; this
    // also holds the broker's own copies to it).
    const stray = messages.find((message) => message.topic !== topicName && message.topic !== '');
    if (stray !== undefined) throw new LedgerError('BAD_REQUEST', `a message names topic ${JSON.stringify(stray.topic.slice(0, 200))}, not the send's topic ${topicName}`);
    requireLeader(this.log);
    const topic = await this.topics.topic(topicName, true);
    if ((topic.perm & PERM_WRITE) === 0) throw new LedgerError('FORBIDDEN', `topic ${topicName} is not writable`);
    let chosen = queueId;
    if (chosen < 0) {
      chosen = this.nextQueue % topic.writeQueues;
      this.nextQueue = (this.nextQueue + 1) % 1_000_000_000;
    } else if (chosen >= topic.writeQueues) {
      throw new LedgerError('BAD_REQUEST', `topic ${topicName} has ${topic.writeQueues} write queues; queue ${queueId} does not exist`);
    }
    const stored: StoredMessage[] = messages.map((message) => ({
      ...message,
      topic: topicName,
      queueId: chosen,
      messageId: message.messageId || randomBytes(16).toString('hex').toUpperCase(),
    }));
    const { body } = encodeMessageBatch(stored);
    const committing = this.pipeline.submitMessages(body);
    if (this.unsafeAckBeforeCommit) return this.acknowledgeEarly(committing, stored, chosen);
    const result = await committing;
    if (result.kind === 'messages' && result.placed.length === 0 && stored.length > 0) {
      // Committed after a delete of the topic: stored in the log, never dispatched.
      throw new LedgerError('TOPIC_NOT_FOUND', `topic ${topicName} was deleted while the send was in flight; not stored`);
    }
    if (result.kind !== 'messages' || result.placed.length !== stored.length) {
      throw new LedgerError('INTERNAL_ERROR', 'send entry was applied without dispatching its messages');
    }
    return stored.map((message, i) => ({ messageId: message.messageId, queueId: result.placed[i].queueId, queueOffset: result.placed[i].queueOffset }));
  }

  /** The unsafe test mode: a refusal that comes at once is still answered; otherwise acknowledge now. */
  private async acknowledgeEarly(committing: Promise<unknown>, stored: readonly StoredMessage[], queueId: number): Promise<SendResult[]> {
    // A later rejection of `committing` is handled by the race's subscription to the derived promise.
    await Promise.race([committing.then(() => 'settled' as const), new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
    return stored.map((message) => ({ messageId: message.messageId, queueId, queueOffset: -1 }));
  }
}
